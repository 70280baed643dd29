"""`reviewer learn` on a loopback GitHub with seeded threads, the learnings file it writes, and the reviews that follow it."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from reviewer.cli import run
from reviewer.learnings import HEADER, Evidence, Proposal, merge, parse, pattern_of, prompt_text, propose
from tests import secret_values as s
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Recorded, Reply

ROOT = Path(__file__).resolve().parents[1]
STYLE_APP = finding("src/app.py", 6, "minor", "style", "Name the file handle")
STYLE_NEW = finding("src/new.py", 2, "minor", "style", "Prefer sum()")
BUG_NEW = finding("src/new.py", 3, "major", "bug", "Empty input is not handled")


def _ago(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ours(gh: GitHubServer, number: int, path: str, line: int) -> dict[str, Any]:
    return next(c for c in gh.visible_comments() if c["pull"] == number and c["user"]["type"] == "Bot" and c["path"] == path and c["line"] == line and c["in_reply_to_id"] is None)


def _seed(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """Four pull requests reviewed by us, and what people did with our comments."""
    base, head = make_pull(scenario.repo, gh)
    for number, days in ((2, 2), (3, 3), (4, 90)):
        gh.add_pull(number, base, head)
        gh.pulls[number].updated_at = _ago(days)
    gh.pulls[1].updated_at = _ago(1)
    for number, found in ((1, [STYLE_APP, BUG_NEW]), (2, [STYLE_NEW, BUG_NEW]), (3, [STYLE_NEW]), (4, [STYLE_APP])):
        scenario.findings = found
        assert scenario.action("pull_request", scenario.pull_event(number), capsys).code == 0
    seeded = {
        "thumbs": _ours(gh, 1, "src/app.py", 6),
        "wrong": _ours(gh, 1, "src/new.py", 3),
        "resolved": _ours(gh, 2, "src/new.py", 2),
        "conceded": _ours(gh, 2, "src/new.py", 3),
        "declined": _ours(gh, 3, "src/new.py", 2),
        "old": _ours(gh, 4, "src/app.py", 6),
    }
    gh.react(seeded["thumbs"]["id"], "-1")
    gh.human_reply(seeded["wrong"]["id"], "False positive: callers never pass an empty list.", login="alice")
    gh.resolve(seeded["resolved"]["id"], "carol")  # resolved by a person, its lines unchanged
    question = gh.human_reply(seeded["conceded"]["id"], "total([]) returns 0, which is right here.", login="alice")
    scenario.chat_answer = "You are right: `total([])` is 0, and that is what callers want."
    assert scenario.action("pull_request_review_comment", scenario.review_comment_event(2, question), capsys).code == 0
    gh.human_reply(seeded["declined"]["id"], "Won't fix, the loop reads better.", login="bob")
    gh.react(seeded["old"]["id"], "-1")  # long ago: outside the window
    return seeded


def _learn(scenario: Scenario, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    scenario.monkeypatch.setenv("GITHUB_API_URL", scenario.gh.api)
    scenario.monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    code = run(["learn", "--repo", scenario.gh.repo, *args])
    return code, capsys.readouterr().out


def test_learn_proposes_entries_with_their_evidence_and_write_produces_the_file(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = _seed(scenario, gh, capsys)
    code, out = _learn(scenario, capsys, "--since", "30d", "--format", "json")
    assert code == 0, out
    result = json.loads(out)
    assert result["pulls"] == 3 and result["threads"] == 5  # #4 is older than 30 days
    got = {(p["kind"], p["category"], p["pattern"]): p for p in result["proposals"]}
    assert set(got) == {("false-positive", "bug", "src/new.py"), ("not-useful", "style", "src/**")}  # the lone won't-fix is below 2
    wrong = got[("false-positive", "bug", "src/new.py")]
    assert wrong["count"] == 2
    assert {(e["url"], e["why"]) for e in wrong["evidence"]} == {
        (seeded["wrong"]["html_url"], "a reply called it wrong"), (seeded["conceded"]["html_url"], "the reviewer conceded"),
    }
    noise = got[("not-useful", "style", "src/**")]
    assert {(e["pull"], e["why"]) for e in noise["evidence"]} == {(1, "👎"), (2, "resolved without a change")}
    assert result["written"] is None and not (scenario.repo.root / ".reviewer/learnings.md").exists()

    writes = len(gh.writes())
    code, out = _learn(scenario, capsys, "--since", "30d", "--min-evidence", "1", "--write")
    assert code == 0 and "3 learnings proposed from 5 of 5 threads of ours on 3 pull requests; written to .reviewer/learnings.md" in out
    changed = [w for w in gh.writes()[writes:] if w.path != "/graphql" or "mutation" in str(w.body)]  # a GraphQL query is a POST too
    assert changed == []  # learning reads; it never writes to GitHub
    text = (scenario.repo.root / ".reviewer/learnings.md").read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert "### `bug` findings on `src/new.py` were often wrong" in text
    assert "### The team declines `style` findings on `src/new.py`" in text
    assert f"Evidence: 2 threads: [acme/app#1]({seeded['wrong']['html_url']}) (a reply called it wrong)" in text
    assert "“Empty input is not handled”" in text


def test_write_keeps_the_entries_people_edited(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(scenario, gh, capsys)
    assert _learn(scenario, capsys, "--write")[0] == 0
    target = scenario.repo.root / ".reviewer/learnings.md"
    header, entries = parse(target.read_text(encoding="utf-8"))
    edited = entries[0].text.replace("Raise such a finding there only when the code shown proves it.", "Never raise these: the callers check.")
    target.write_text(target.read_text(encoding="utf-8").replace(entries[0].text, edited), encoding="utf-8")

    assert _learn(scenario, capsys, "--write", "--since", "365d")[0] == 0  # more evidence: #4's 👎 counts now
    _, after = parse(target.read_text(encoding="utf-8"))
    assert [e.id for e in after] == [e.id for e in entries]
    assert after[0].text == edited and after[0].edited  # the person's words, as they left them
    assert "3 were marked 👎 or resolved without a change" in after[1].text and not after[1].edited  # refreshed


def test_a_review_after_the_learnings_are_merged_carries_them_in_its_prompt(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(scenario, gh, capsys)
    assert _learn(scenario, capsys, "--write")[0] == 0
    repo = scenario.repo
    # On a branch, the file is a proposal: a review of that pull request still follows the base branch's (none).
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "learnings")
    proposal_head = repo.commit("Learnings from review threads")
    gh.add_pull(5, gh.pulls[1].base_sha, proposal_head, head_ref="learnings")
    scenario.findings = []
    assert scenario.action("pull_request", scenario.pull_event(5), capsys).code == 0
    assert "What this team told the reviewer" not in scenario.review_requests()[-1].text

    # Merged: the next pull request's review reads it from its base branch.
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "learnings")
    repo.git("checkout", "-q", "-b", "next")
    repo.write("src/new.py", "def total(items):\n    return sum(items)\n")
    gh.add_pull(6, proposal_head, repo.commit("simpler total"), head_ref="next")
    assert scenario.action("pull_request", scenario.pull_event(6), capsys).code == 0
    prompt = scenario.review_requests()[-1].text
    assert "What this team told the reviewer about earlier reviews (follow it):" in prompt
    assert "### `bug` findings on `src/new.py` were often wrong" in prompt
    assert "Evidence:" not in prompt and "reviewer:learning" not in prompt  # for people only


def test_learnings_can_be_left_out_of_the_prompt(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo = scenario.repo
    repo.write(".reviewer/learnings.md", merge(None, [_proposal("not-useful", "style", "src/**", 2)]))
    make_pull(repo, gh)
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code == 0
    assert "`style` findings on `src/**` were not useful" in scenario.review_requests()[-1].text
    scenario.config.write_text("[github]\nseconds_between_writes = 0.0\n[review]\nlearnings = false\n", encoding="utf-8")
    gh.permissions["maintainer"] = "write"
    assert scenario.action("issue_comment", scenario.comment_event(1, "/review"), capsys).code == 0
    assert len(scenario.review_requests()) == 2
    assert "were not useful" not in scenario.review_requests()[-1].text


def _proposal(kind: str, category: str, pattern: str, count: int) -> Proposal:
    evidence = tuple(
        Evidence("acme/app", n, f"https://github.example/acme/app/pull/{n}#discussion_r{n}", "src/app.py", category, f"Title {n}", kind, "👎")
        for n in range(1, count + 1)
    )
    return Proposal(kind, category, pattern, evidence)


@pytest.mark.parametrize(
    ("paths", "pattern"),
    [
        (["src/db/a.py", "src/db/b.py"], "src/db/**"),
        (["src/db/a.py", "src/api/b.py"], "src/**"),
        (["src/a.py", "src/a.py"], "src/a.py"),
        (["a.py", "b.py"], "*.py"),
        (["a.py", "Makefile"], "**"),
    ],
)
def test_a_group_of_paths_gets_the_narrowest_pattern_that_covers_it(paths: list[str], pattern: str) -> None:
    assert pattern_of(paths) == pattern


def test_groups_below_the_minimum_are_not_proposed_and_a_thread_counts_once() -> None:
    one = _proposal("wont-fix", "style", "src/app.py", 1).evidence
    two = _proposal("false-positive", "bug", "src/app.py", 2).evidence
    assert [(p.kind, len(p.evidence)) for p in propose([*one, *two], 2)] == [("false-positive", 2)]
    assert len(propose([*one, *two], 1)) == 2


def test_a_pattern_that_is_one_files_path_never_writes_a_secret_in_its_name() -> None:
    path = f"keys/{s.AWS_ACCESS_KEY}.py"
    evidence = [Evidence("acme/app", n, f"https://github.example/acme/app/pull/{n}#discussion_r{n}", path, "bug", "T", "wont-fix", "👎") for n in (1, 2)]
    (proposal,) = propose(evidence, 2)
    assert proposal.pattern.startswith("keys/[REDACTED:aws-access-key:") and s.AWS_ACCESS_KEY not in merge(None, [proposal])


def test_the_model_gets_the_entries_without_the_notes_for_people(tmp_path: Path) -> None:
    text = merge(None, [_proposal("not-useful", "style", "src/**", 12)])
    assert "and 2 more" in text  # ten links at most
    shown = prompt_text(text)
    assert shown.startswith("### `style` findings on `src/**` were not useful\n\n12 were marked 👎")
    assert "<!--" not in shown and "Evidence" not in shown and "# Learnings" not in shown
    assert prompt_text(merge(None, [])) == ""  # the header alone says nothing to the model


def test_eval_compares_the_review_with_and_without_the_learnings(
    repo: GitRepo, tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write(".reviewer/learnings.md", merge(None, [_proposal("not-useful", "style", "src/**", 2)]))
    repo.commit("learnings")
    case = tmp_path / "suite" / "clean"
    case.mkdir(parents=True)
    (case / "diff.patch").write_text(
        "diff --git a/src/a.py b/src/a.py\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/src/a.py\n@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n"
    )
    (case / "expected.json").write_text("{}")
    nit = {"path": "src/a.py", "line": 1, "severity": "nit", "category": "style", "title": "Name it better", "body": "b"}

    def answer(request: Recorded) -> Reply:  # a model that heeds the learnings
        return Reply(content=json.dumps({"findings": [] if "were not useful" in request.text else [nit]}))

    model_server.responder = answer
    base = ["eval", str(tmp_path / "suite"), "--base-url", model_server.openai_url, "--model", "m", "--format", "json"]
    assert run([*base, "--compare-learnings"]) == 0
    variants = {v["name"]: v for v in json.loads(capsys.readouterr().out)["variants"]}
    assert set(variants) == {"default", "default-no-learnings"}
    assert variants["default"]["false_positive_rate"] == 0.0 and variants["default-no-learnings"]["false_positive_rate"] == 1.0

    (repo.root / ".reviewer/learnings.md").unlink()
    assert run([*base, "--compare-learnings"]) == 2
    assert "--compare-learnings: there are no learnings to compare" in capsys.readouterr().err


def _run_learn_example(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, str]]:
    """The example workflow's step as written, on `schedule`, with only the permissions its job declares."""
    import yaml

    from tests.github_fixtures import parse_outputs

    workflow = yaml.safe_load((ROOT / ".github/examples/review-learn.yml").read_text(encoding="utf-8"))
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    [job] = workflow["jobs"].values()
    scenario.gh.permissions_granted = job["permissions"]
    [step] = [s for s in job["steps"] if s.get("run") == "exec reviewer action"]
    monkeypatch = scenario.monkeypatch
    for key in [k for k in os.environ if k.startswith("INPUT_")]:  # what earlier `reviewer action` runs of the test set
        monkeypatch.delenv(key)
    scenario.runs += 1
    event, output = scenario.tmp / f"schedule-{scenario.runs}.json", scenario.tmp / f"learn-output-{scenario.runs}"
    event.write_text("{}", encoding="utf-8")
    runner = {"GITHUB_EVENT_NAME": "schedule", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": scenario.gh.repo, "GITHUB_API_URL": scenario.gh.api}
    for key, value in {**runner, "GITHUB_OUTPUT": str(output), **step["env"]}.items():
        monkeypatch.setenv(key, str(value).replace("${{ github.token }}", TOKEN))
    capsys.readouterr()
    code = run(["action"])
    return code, capsys.readouterr().out, parse_outputs(output)


def test_the_scheduled_action_opens_one_pull_request_with_the_learnings_and_updates_it(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = _seed(scenario, gh, capsys)
    repo = scenario.repo
    repo.git("checkout", "-q", "main")
    repo.write(".reviewer.toml", "[github]\nseconds_between_writes = 0.0\n\n[learn]\nopen_pull_request = true\n")
    main = repo.commit("the team turns the learnings pull request on")

    code, out, outputs = _run_learn_example(scenario, capsys)
    assert code == 0, out
    [proposal] = [p for p in gh.pulls.values() if p.head_ref == "reviewer/learnings"]
    assert outputs["review-url"] == f"https://github.example/acme/app/pull/{proposal.number}"
    assert proposal.title == "Learnings from review threads" and "`bug` findings on `src/new.py` were often wrong" in proposal.body
    assert repo.git("rev-parse", "reviewer/learnings~1").strip() == main  # one commit on the default branch
    text = repo.git("show", "reviewer/learnings:.reviewer/learnings.md")
    assert text.startswith(HEADER) and seeded["wrong"]["html_url"] in text
    assert repo.git("rev-parse", "main").strip() == main  # the default branch itself is never written
    assert [r for r in gh.requests if r.status == 403] == []  # the job's permissions are enough

    # A person edits the proposal on its branch; new evidence arrives; the next run updates the same pull request.
    repo.git("checkout", "-q", "reviewer/learnings")
    _, entries = parse(text)
    repo.write(".reviewer/learnings.md", text.replace(entries[0].text, "### Our own words for this\n\nCheck callers first."))
    repo.commit("edit the proposal")
    repo.git("checkout", "-q", "main")
    gh.pulls[4].updated_at = _ago(5)  # its 👎 now falls in the window

    code, out, outputs = _run_learn_example(scenario, capsys)
    assert code == 0, out
    assert [p.number for p in gh.pulls.values() if p.head_ref == "reviewer/learnings"] == [proposal.number]
    updated = repo.git("show", "reviewer/learnings:.reviewer/learnings.md")
    assert "### Our own words for this\n\nCheck callers first." in updated  # the person's edit is kept
    assert "3 were marked 👎 or resolved without a change" in updated and "2 were marked 👎" not in updated  # refreshed
    assert outputs["review-url"].endswith(f"/pull/{proposal.number}") and "3 were marked" in gh.pulls[proposal.number].body


def test_only_the_teams_replies_are_evidence_and_the_default_branch_is_never_the_proposals() -> None:
    """Anyone may comment on a public pull request; a learning reaches every later review."""
    from reviewer.errors import ConfigError
    from reviewer.github.converge import OurComment
    from reviewer.github.feedback import _signal
    from reviewer.github.learnings_pull import propose_learnings

    drive_by = OurComment(1, "f" * 16, "src/new.py", "bug", declined=True, wrong=True, conceded=True)
    assert _signal(drive_by, None, frozenset()) is None
    member = OurComment(1, "f" * 16, "src/new.py", "bug", wrong=True, team_wrong=True, team_replied=True)
    assert _signal(member, None, frozenset()) == ("false-positive", "a reply called it wrong")
    with pytest.raises(ConfigError, match="is the default branch"):
        propose_learnings(None, "main", "a" * 40, "main", [], "", print)  # type: ignore[arg-type]
