"""Every channel a file's name goes out by names it redacted, and identity stays the real path.

Every path put into a prompt or our text is the name already redacted (`FileDiff.name`, or the path scanned alone),
never left to the last pass over the whole text, which misses some name-only patterns. An independent review found
each channel below sending or printing the name unmasked (or eval scoring by it); each test failed before its fix.
A name here is one the tool itself reads as holding a secret (`redact(name) != name`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.cli import run
from reviewer.redact import redact
from tests import secret_values as s
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Recorded, Reply

# Names the name scan masks (a `.env`-style assignment; a quoted one), but that the last pass over a whole prompt does
# not: there the name is not alone on its line (`NAME=value: reason`), or it is shown JSON-quoted (`token=\"...\"`).
ENV_NAME, ENV_VALUE = "DB_PASSWORD=Hunter2Hunter2.py", "Hunter2Hunter2"
QUOTED_NAME, QUOTED_VALUE = 'cfg/token="s3cr3tV4lue9".py', "s3cr3tV4lue9"


def test_the_names_used_here_are_ones_the_name_scan_masks() -> None:
    assert ENV_VALUE not in redact(ENV_NAME) and QUOTED_VALUE not in redact(QUOTED_NAME)


def sent(server: ModelServer) -> str:
    return "\n".join(r.text for r in server.posts())


def two_changed_files(repo: GitRepo) -> None:
    """Both files exist on main and are edited on `feature`: code context shows the rest of each."""
    repo.write(ENV_NAME, "import os\n\n\ndef load(path):\n    return open(path).read()\n\n\ndef other():\n    return 1\n")
    repo.write(QUOTED_NAME, "def f(x):\n    return x\n\n\ndef g(y):\n    return y\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(ENV_NAME, "import os\n\n\ndef load(path):\n    return open(path).read()\n\n\ndef other():\n    return 2\n")
    repo.write(QUOTED_NAME, "def f(x):\n    return x\n\n\ndef g(y):\n    return y + 1\n")
    repo.commit("feature")


def test_code_context_headers_name_the_file_redacted(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """reviewer/context.py:128 writes `--- {quoted(excerpt.path)}`: the real path, left to the last pass, which misses these."""
    two_changed_files(repo)
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    capsys.readouterr()
    text = sent(model_server)
    assert "whole file" in text  # the code around the change was sent
    assert ENV_VALUE not in text
    assert QUOTED_VALUE not in text


def test_the_summary_prompt_lists_a_skipped_file_redacted(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """prompts/summarize_user.j2 and review_summarize_user.j2 render `s.path` (filters.select: `FileDiff.path`)."""
    repo.write(ENV_NAME, "def load(path):\n    return open(path).read()\n")
    repo.write("app.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("rm", "-q", ENV_NAME)  # a deleted file: skipped, and listed to the summary
    repo.write("app.py", "x = 2\n")
    repo.commit("feature")
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m", "--summary"]) == 0
    out, err = capsys.readouterr()
    assert ENV_VALUE not in out + err  # our output masks it ...
    assert "skipped-files" in sent(model_server)
    assert ENV_VALUE not in sent(model_server)  # ... the prompt does not


def test_a_dry_run_names_the_old_path_of_a_pure_rename_redacted(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """filters.py:134 puts `f.old_path` in the reason; publishers/plan.py redacts it as text (not at a line's start:
    the .env rule does not match), and without the `known` values a real run masks it with."""
    repo.write(ENV_NAME, "def load(path):\n    return open(path).read()\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("mv", ENV_NAME, "db.py")
    repo.commit("feature")
    for output_format in ("text", "json"):
        assert run(["local", "--base", "main", "--dry-run", "--format", output_format]) == 0
        out, err = capsys.readouterr()
        assert "renamed from" in out
        assert ENV_VALUE not in out + err


def test_a_pr_adding_a_settings_file_with_a_secret_name_names_it_redacted_in_the_notes(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """github/flow.py settings_note lists `.reviewer/...` paths raw; pipeline.run appends Change.notes after the
    review was redacted (pipeline.py:168), so the note reaches --format json and the posted summary unmasked."""
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    make_pull(scenario.repo, gh, edit=lambda repo: repo.write(f".reviewer/{s.AWS_ACCESS_KEY}.md", "notes\n"))
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*args, "--no-post", "--format", "json"]) in (0, 1)
    out, err = capsys.readouterr()
    notes = json.loads(out)["notes"]
    assert any("reviewer's settings" in n for n in notes)
    assert s.AWS_ACCESS_KEY not in out + err


def write_case(suite: Path, name: str, path: str) -> None:
    folder = suite / name
    folder.mkdir(parents=True)
    patch = f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"
    (folder / "diff.patch").write_text(patch)
    (folder / "expected.json").write_text(json.dumps({"must_find": [{"path": path, "lines": [2, 2], "category": "bug"}]}))


def test_eval_scores_a_finding_on_a_file_whose_name_holds_a_secret_by_its_real_path(
    tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model cites the name it was shown; eval_cmd.py:330 scores `p.finding` (its path now the redacted name)
    against expected.json's real path (evaluation.Target.hit_by): a finding exactly on the target is `missed`."""
    monkeypatch.chdir(tmp_path)
    path = f"leaked/{s.AWS_ACCESS_KEY}.py"
    write_case(tmp_path / "suite", "named", path)

    def cite_shown(recorded: object) -> Reply:
        import re

        shown = re.search(r"^--- (leaked/\S+) \(added\)", recorded.text, re.MULTILINE).group(1)  # type: ignore[attr-defined,union-attr]
        finding = {"path": shown, "line": 2, "severity": "major", "category": "bug", "title": "t", "body": "b"}
        return Reply(content=json.dumps({"findings": [finding]}))

    model_server.responder = cite_shown
    code = run(["eval", str(tmp_path / "suite"), "--base-url", model_server.openai_url, "--model", "m", "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    [variant] = result["variants"]
    assert variant["recall"] == 1.0, variant["cases"][0]["missed"]


def test_pushes_to_a_file_whose_name_holds_a_secret_converge(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Identity across pushes (expected to PASS): threads are matched and resolved by the real path, the summary's
    entry by the shown one; nothing is posted twice and the key is never written."""
    import base64
    import re

    from reviewer.github.comments import SUMMARY_MARKER

    real = f"leaked/{s.AWS_ACCESS_KEY}.py"
    make_pull(scenario.repo, gh, edit=lambda repo: repo.write(real, "x = 1\ny = 2\nz = 3\n"))

    def shown() -> str:
        names = {m for r in scenario.review_requests() for m in re.findall(r"^--- (leaked/\S+) \(", r.text, re.MULTILINE)}
        (name,) = names
        return name

    answer = scenario.model.responder

    def cite(request: Recorded) -> Reply:
        name = shown()
        scenario.findings = [f | {"path": name} if f["path"].startswith("leaked/") else f for f in wanted]
        return answer(request)

    scenario.model.responder = cite
    wanted = [finding("leaked/", 2, "major", "bug", "y unused"), finding("leaked/", 3, "nit", "style", "name z")]
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code in (0, 1)
    roots = sorted((c["path"], c["line"], c["body"].split("\n")[1]) for c in gh.visible_comments())
    assert [(p, line) for p, line, _ in roots] == [(real, 1), (real, 2)]
    y_thread = next(c for c in gh.visible_comments() if c["line"] == 2)

    scenario.repo.write(real, "x = 1\nz = 3\n")  # y removed: the thread on it is fixed; z moves up one line
    gh.pulls[1].head_sha = scenario.repo.commit("drop y")
    wanted = []
    assert scenario.action("pull_request", scenario.pull_event(1, "synchronize"), capsys).code in (0, 1)
    assert y_thread["resolved"]
    assert len([c for c in gh.visible_comments() if c.get("in_reply_to_id") is None]) == 2  # nothing posted twice
    [summary] = [c["body"] for c in gh.issue_comments if SUMMARY_MARKER in c["body"]]
    state = base64.urlsafe_b64decode(re.search(r"state=([A-Za-z0-9_=-]+) -->", summary).group(1)).decode()  # type: ignore[union-attr]
    assert s.AWS_ACCESS_KEY not in summary + state
    assert f"`{shown()}:2`" in summary  # the nit, carried and moved with the push


def test_the_verifier_gets_a_finding_on_a_secret_named_file_with_its_diff_and_never_the_name(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify.py routes and finds the file by `PlacedFinding.path` (expected to PASS)."""
    import re

    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scenario.config.write_text('[routes]\nverify = "deepseek-flash"\n\n[github]\nseconds_between_writes = 0.0\n', encoding="utf-8")
    real = f"leaked/{s.AWS_ACCESS_KEY}.py"
    make_pull(scenario.repo, gh, edit=lambda repo: repo.write(real, "x = 1\ny = 2\n"))
    review_answer = scenario.model.responder
    assert review_answer is not None
    seen: list[Recorded] = []

    def answer(request: Recorded) -> Reply:
        if "You check another reviewer's findings" in request.text:
            seen.append(request)
            ids = {e["title"]: e["id"] for e in map(json.loads, re.findall(r'^\{"id": .*$', request.text, re.M))}
            return Reply(content=json.dumps({"verdicts": [{"id": ids["y unused"], "keep": False, "reason": "used later"}]}))
        (name,) = {m for m in re.findall(r"^--- (leaked/\S+) \(", request.text, re.MULTILINE)}
        scenario.findings = [finding(name, 2, "major", "bug", "y unused"), finding("src/app.py", 6, "critical", "security", "eval")]
        return review_answer(request)

    scenario.model.responder = answer
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*args, "--no-post", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert run(args) == 0
    capsys.readouterr()
    request = seen[0]
    assert len(seen) == 2
    assert re.search(r"^--- leaked/\[REDACTED:aws-access-key:\w+\]\.py \(added\)", request.text, re.M)  # its diff went along
    assert s.AWS_ACCESS_KEY not in request.text + out
    assert [d["title"] for d in json.loads(out)["dropped"]] == ["y unused"]
    assert {(c["path"], c["line"]) for c in gh.visible_comments()} == {(real, 1), ("src/app.py", 6)}


def test_a_question_in_a_thread_on_a_secret_named_file_sends_its_name_redacted(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """chat.py:108 renders `"path": conversation.path` (the thread's real path) into chat_user.j2, left to the last pass."""

    reviewed_with_a_finding(scenario, gh, capsys, ENV_NAME, r"DB_PASSWORD=\S+", ("major", "bug", "y unused"))
    ours = next(c for c in gh.visible_comments() if c["path"] == ENV_NAME and c["line"] == 2)
    question = gh.human_reply(ours["id"], "Why?", login="alice")
    assert scenario.action("pull_request_review_comment", scenario.review_comment_event(1, question, "MEMBER"), capsys).code == 0
    [request] = scenario.chat_requests()
    assert ENV_VALUE not in request.text


def test_learn_json_lists_the_evidence_by_the_names_redacted(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    """commands/learn.py:109 writes `"path": e.path` (the thread's real path, from GitHub); only the pattern is redacted."""

    real = f"leaked/{s.AWS_ACCESS_KEY}.py"
    reviewed_with_a_finding(scenario, gh, capsys, real, r"leaked/\S+", ("minor", "style", "Name y better"))
    ours = next(c for c in gh.visible_comments() if c["path"] == real and c["line"] == 2)
    gh.react(ours["id"], "-1")
    from datetime import datetime, timedelta, timezone

    gh.pulls[1].updated_at = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario.monkeypatch.setenv("GITHUB_API_URL", gh.api)
    scenario.monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    assert run(["learn", "--repo", gh.repo, "--min-evidence", "1", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["proposals"], out
    assert s.AWS_ACCESS_KEY not in out


def test_a_replayed_eval_scores_a_finding_on_a_secret_named_file_by_its_real_path(
    tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """eval_saved: a saved run holds the name shown; replaying it maps that name back to the case's file to score it."""
    import re

    monkeypatch.chdir(tmp_path)
    path = f"leaked/{s.AWS_ACCESS_KEY}.py"
    write_case(tmp_path / "suite", "named", path)

    def cite_shown(recorded: Recorded) -> Reply:
        shown = re.search(r"^--- (leaked/\S+) \(added\)", recorded.text, re.MULTILINE).group(1)  # type: ignore[union-attr]
        finding = {"path": shown, "line": 2, "severity": "major", "category": "bug", "title": "t", "body": "b"}
        return Reply(content=json.dumps({"findings": [finding]}))

    model_server.responder = cite_shown
    assert run(["eval", str(tmp_path / "suite"), "--base-url", model_server.openai_url, "--model", "m", "--format", "json"]) == 0
    saved = capsys.readouterr().out
    assert s.AWS_ACCESS_KEY not in saved
    (tmp_path / "run.json").write_text(saved)
    assert run(["eval", str(tmp_path / "suite"), "--replay", str(tmp_path / "run.json"), "--format", "json"]) == 0
    out = capsys.readouterr().out
    [variant] = json.loads(out)["variants"]
    assert variant["recall"] == 1.0, variant["cases"][0]["missed"]
    assert s.AWS_ACCESS_KEY not in out


def test_an_untracked_file_is_listed_by_its_shown_name_reason_included(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """commands/local.py put the untracked file's path into the reason's sentence (`git add -N PATH`), where the last
    pass's `.env` rule (anchored at a line's start) does not see it."""
    repo.write("app.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "x = 2\n")
    repo.commit("feature")
    repo.write(ENV_NAME, "y = 1\n")  # never added
    for output_format in ("text", "json"):
        assert run(["local", "--base", "main", "--dry-run", "--format", output_format]) == 0
        out, err = capsys.readouterr()
        assert "untracked" in out
        assert ENV_VALUE not in out + err


def test_a_value_found_in_the_lines_is_masked_in_a_file_name_too() -> None:
    """redact_diff: a password only its assignment marks as one is masked in a name holding it, as redact_review masks it."""
    from reviewer.diff import parse_diff
    from reviewer.redact import redact_diff

    value = "Zq9xLmP4wK"
    name = f"notes/{value}.md"
    assert redact(name) == name  # alone, the name holds nothing a pattern finds
    patch = (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{name}\n"
        f'@@ -0,0 +1 @@\n+password = "{value}"\n'
    )
    redacted, exposed = redact_diff(parse_diff(patch))
    [file] = redacted.files
    assert file.path == name
    assert value not in file.name and "[REDACTED:secret-assignment:" in file.name
    # One finding, where it is assigned: the name shows a secret found already.
    from reviewer.review import secret_findings

    assert [(f.path, f.line, f.title) for f in secret_findings(exposed)] == [(name, 1, "Secret committed: secret in an assignment")]


def test_a_definition_from_a_file_whose_name_holds_a_secret_is_headed_by_the_name_redacted(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """context.py: an excerpt of a file the change does not touch (a definition it newly calls) names it redacted too."""
    repo.write(ENV_NAME, "def helper_lookup(value):\n    return value * 2\n")
    repo.write("app.py", "def main():\n    return 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "def main():\n    return helper_lookup(1)\n")
    repo.commit("feature")
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    capsys.readouterr()
    text = sent(model_server)
    assert "definition of `helper_lookup`" in text
    assert ENV_VALUE not in text


def reviewed_with_a_finding(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], path: str, shown: str, what: tuple[str, str, str]
) -> None:
    """A pull request adding `path`, reviewed by a model that puts a finding on line 2 of it, citing the name it was shown."""
    import re

    make_pull(scenario.repo, gh, edit=lambda repo: repo.write(path, "x = 1\ny = 2\n"))
    review_answer = scenario.model.responder
    assert review_answer is not None

    def answer(request: Recorded) -> Reply:
        names = re.findall(rf"^--- ({shown}) \(", request.text, re.MULTILINE)
        scenario.findings = [finding(names[0], 2, *what)] if names else []
        return review_answer(request)

    scenario.model.responder = answer
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code in (0, 1)
