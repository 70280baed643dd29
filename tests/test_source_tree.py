"""What code context and the models' tools may read from the change's tree: tracked files, no links, no .git.

Each case was found by a hostile review: a PR's symbolic link to a withheld file, `.env` or
`.git/config` (which holds the workflow's token when a checkout persists credentials), an
untracked credentials file a CI step left, a turn of hundreds of tool calls.
"""

from __future__ import annotations

from pathlib import Path

from reviewer.backends.tools import MAX_CALLS_PER_TURN, ToolBox, ToolCall
from reviewer.source_tree import SourceTree
from tests.conftest import GitRepo


def hostile_tree(repo: GitRepo) -> Path:
    repo.write("app.py", "def load():\n    return 1\n")
    repo.write("secure/algo.py", "SECRET_ALGORITHM = 42\n")
    repo.write(".gitignore", ".env\n")
    repo.write(".env", "DB_PASSWORD=hunter2-very-secret\n")
    (repo.root / "notes.py").symlink_to("secure/algo.py")
    (repo.root / "env.py").symlink_to(".env")
    (repo.root / "cfg.py").symlink_to(".git/config")
    repo.commit("hostile links")
    repo.write("gha-creds-1a2b3c.json", '{"private_key": "untracked credentials"}\n')  # left by an earlier CI step
    return repo.root


def test_links_git_internals_and_untracked_files_are_not_read(repo: GitRepo) -> None:
    tree = SourceTree(hostile_tree(repo), visible=lambda path: not path.startswith("secure/"))
    assert tree.lines("app.py") == ["def load():", "    return 1"]
    for path in ("notes.py", "env.py", "cfg.py", ".git/config", ".env", "gha-creds-1a2b3c.json", "secure/algo.py"):
        assert tree.lines(path) is None, path
    assert "notes.py" not in tree.files() and "gha-creds-1a2b3c.json" not in tree.files()
    hits = tree.grep("SECRET_ALGORITHM|hunter2|untracked credentials|return")
    assert isinstance(hits, tuple) and [(h.path, h.line) for h in hits] == [("app.py", 2)]


def test_grep_hits_are_redacted(repo: GitRepo) -> None:
    key = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    repo.write("data.txt", f"aws_key = {key}\n")
    repo.commit("data")
    hits = SourceTree(repo.root).grep("aws_key")
    assert isinstance(hits, tuple) and len(hits) == 1 and key not in hits[0].text and "[REDACTED:" in hits[0].text


def test_one_turn_of_many_tool_calls_stays_within_its_caps(repo: GitRepo) -> None:
    repo.write("big.py", "".join(f"line_{n} = {n}  # some words to read\n" for n in range(400)))
    repo.commit("big")
    box = ToolBox(SourceTree(repo.root), rounds=8, tokens=100_000)
    calls = [ToolCall(str(n), "read_file", '{"path": "big.py"}') for n in range(500)]
    outputs = box.answer(calls, tokens_left=20_000)
    assert len(outputs) == 500
    assert all(o.startswith("refused: at most") for o in outputs[MAX_CALLS_PER_TURN:])
    answered = [o for o in outputs[:MAX_CALLS_PER_TURN] if not o.startswith("refused")]
    assert 1 <= len(answered) < MAX_CALLS_PER_TURN  # the token budget ran out before the per-turn cap
    assert sum(len(o) for o in outputs) < 20_000 * 4 + 500 * 200


def test_names_from_the_change_are_searched_as_words_never_as_options_or_patterns(repo: GitRepo, tmp_path: Path) -> None:
    """Code context looks up names the pull request chose (its functions'): one `git grep` for all of them must
    not run a pager command, read other files or widen to a pattern because a name says so."""
    repo.write("app.py", "def load():\n    return 1\n\n\nx = load()\ny = lo_d() + reload()\n")
    repo.write("hidden.py", "load()\n")
    repo.write("notes.txt", "lo.d, lo d and x)(y\n")
    repo.commit("code")
    repo.write("untracked.py", "load()\n")
    pwned = tmp_path / "pwned"
    hostile = [
        "lo.d", "load|return", "x)(y", ".*", "(", "-e", "--no-index", "--untracked", f"--open-files-in-pager=touch {pwned}",
        f"-O touch {pwned}", "load\n.*", "",
    ]  # fmt: skip
    tree = SourceTree(repo.root, visible=lambda path: path != "hidden.py")
    assert tree.find_words(hostile) == ()
    assert tree.find_words(["load", "lo_d", *hostile]) == (("app.py", 1, "load"), ("app.py", 5, "load"), ("app.py", 6, "lo_d"))
    assert not pwned.exists()
    assert tree.find_words(["load", "lo_d"], per_word=1) == (("app.py", 1, "load"), ("app.py", 6, "lo_d"))  # a common word hides no other
