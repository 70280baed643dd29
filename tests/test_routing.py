"""Data-sovereignty routing: which backends may see a file, and what an agent may read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reviewer import routing
from reviewer.backends.agent_cli import review_tree
from reviewer.config import from_mapping
from reviewer.diff import Diff, FileDiff, FileStatus, Hunk, Line, parse_diff
from reviewer.errors import ConfigError
from tests import secret_values as s
from tests.conftest import GitRepo

CONFIG_DATA: dict[str, Any] = {
    "routes": {"review": ["cloud"], "summarize": ["cloud", "gpu"], "rules": [{"paths": ["secure/**"], "backends": ["gpu"]}]},
    "backends": {
        "cloud": {"base_url": "https://llm.example.com/v1", "model": "m"},
        "gpu": {"base_url": "http://gpu-box:8000/v1", "model": "m"},
    },
}
CONFIG = from_mapping(CONFIG_DATA, None)


def changed(path: str, old_path: str | None = None) -> FileDiff:
    lines = (Line("+", "x = 1", None, 1),)
    status = FileStatus.RENAMED if old_path else FileStatus.MODIFIED
    return FileDiff(path, old_path, status, (Hunk(0, 0, 1, 1, "", lines),))


def test_rule_sends_matching_files_only_to_its_backends() -> None:
    assert routing.candidates(CONFIG, "review", "secure/key.py") == (("gpu",), None)
    assert routing.candidates(CONFIG, "review", "app.py") == (("cloud",), None)


def test_paths_git_quotes_are_unquoted_before_the_rules_see_them() -> None:
    diff = parse_diff((Path(__file__).parent / "data" / "diffs" / "quoted_paths.diff").read_bytes())
    groups, skipped = routing.group(CONFIG, "review", diff.files)
    by_backend = {g.backends: {f.path for f in g.files} for g in groups}
    assert by_backend[("gpu",)] == {'secure/key"s.py', "secure/tab\tx.py"}
    assert by_backend[("cloud",)] == {"back\\slash.py", "caf\\xe9.py"}
    assert skipped == []


def test_a_file_renamed_out_of_a_restricted_folder_stays_restricted() -> None:
    groups, _ = routing.group(CONFIG, "review", [changed("public_secret.py", old_path="secure/secret.py")])
    assert [(g.backends, [f.path for f in g.files]) for g in groups] == [(("gpu",), ["public_secret.py"])]


def test_what_an_agent_backend_may_not_read() -> None:
    diff = Diff((changed("public_secret.py", old_path="secure/secret.py"),))
    hidden_from_cloud = routing.withheld(CONFIG, "cloud", diff)
    assert hidden_from_cloud("secure/keys.py") and hidden_from_cloud("public_secret.py")
    assert not hidden_from_cloud("app.py")
    assert not routing.withheld(CONFIG, "gpu", diff)("secure/keys.py")
    only_own = from_mapping({**CONFIG_DATA, "routes": {**CONFIG_DATA["routes"], "self_hosted_only": True}}, None)
    assert routing.withheld(only_own, "cloud", diff)("app.py")


def test_the_agents_copy_of_the_checkout_leaves_withheld_files_out(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("app.py", "x = 1\n")
    repo.write("secure/keys.py", "KEY = 'hunter2'\n")
    repo.commit()
    tree = review_tree(repo.root, tmp_path / "tree", routing.withheld(CONFIG, "cloud", None))
    assert (tree / "app.py").is_file()
    assert not (tree / "secure" / "keys.py").exists()



def test_a_question_on_a_file_no_chat_backend_may_see_is_refused_without_the_secret_in_its_name() -> None:
    from reviewer.chat import Conversation, plan_answer
    from reviewer.prompts import Templates

    config = from_mapping({**CONFIG_DATA, "routes": {**CONFIG_DATA["routes"], "self_hosted_only": True}}, None)
    path = f"leaked/{s.AWS_ACCESS_KEY}.py"  # self_hosted_only, and chat goes to a cloud backend alone: none may see it
    with pytest.raises(ConfigError) as refused:
        plan_answer(Conversation("Why?", "alice", path=path, line=1), Diff((changed(path),)), config, Templates(), "")
    assert str(refused.value).startswith("no backend of the chat route may see leaked/[REDACTED:aws-access-key:")
    assert s.AWS_ACCESS_KEY not in str(refused.value)
