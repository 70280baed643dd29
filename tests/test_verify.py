"""The verification pass on a pull request: the loopback model rejects a finding, or fails, and what is posted follows."""

from __future__ import annotations

import json
import re

import pytest

from reviewer.cli import run
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import Recorded, Reply

THREE = [
    finding("src/app.py", 6, "critical", "security", "eval on file content"),
    finding("src/new.py", 3, "major", "bug", "loop starts wrong"),
    finding("src/new.py", 5, "major", "bug", "result is never returned"),
]
VERIFIER = "You check another reviewer's findings"


def candidates(request: Recorded) -> dict[str, str]:
    """The ids the verification prompt gave each candidate, by title."""
    return {entry["title"]: entry["id"] for entry in map(json.loads, re.findall(r'^\{"id": .*$', request.text, re.M))}


@pytest.fixture
def verified(scenario: Scenario, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scenario.config.write_text('[routes]\nverify = "deepseek-flash"\n\n[github]\nseconds_between_writes = 0.0\n', encoding="utf-8")
    scenario.findings = THREE
    make_pull(scenario.repo, gh)
    return scenario


def pr(scenario: Scenario, *extra: str) -> int:
    return run(["pr", "--repo", scenario.gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config), *extra])


def test_a_finding_the_verifier_rejects_is_neither_posted_nor_counted(verified: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    review_answer = verified.model.responder
    assert review_answer is not None
    seen: list[Recorded] = []

    def answer(request: Recorded) -> Reply:
        if VERIFIER not in request.text:
            return review_answer(request)
        seen.append(request)
        ids = candidates(request)
        verdicts = [{"id": i, "keep": title != "loop starts wrong", "reason": "the loop starts at the first item" if title == "loop starts wrong" else "real"} for title, i in ids.items()]
        return Reply(content=json.dumps({"verdicts": verdicts}))

    verified.model.responder = answer
    assert pr(verified, "--fail-on", "major") == 1  # the critical one still fails the run

    [request] = seen
    assert set(candidates(request)) == {f["title"] for f in THREE}
    assert "def total(items):" in request.text  # the code travels with the findings
    [review] = gh.submitted_reviews()
    posted = sorted(c["line"] for c in gh.visible_comments())
    assert posted == [5, 6] and review["state"] == "COMMENTED"
    assert "loop starts wrong" not in json.dumps(gh.review_comments) + json.dumps(gh.issue_comments)


def test_dropped_findings_are_listed_with_the_reason_in_json(verified: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    review_answer = verified.model.responder
    assert review_answer is not None

    def answer(request: Recorded) -> Reply:
        if VERIFIER not in request.text:
            return review_answer(request)
        rejected = candidates(request)["result is never returned"]
        return Reply(content=json.dumps({"verdicts": [{"id": rejected, "keep": False, "reason": "line 5 returns it"}]}))

    verified.model.responder = answer
    capsys.readouterr()
    assert pr(verified, "--no-post", "--format", "json", "--fail-on", "critical") == 1
    result = json.loads(capsys.readouterr().out)
    assert [f["title"] for f in result["findings"]] == ["eval on file content", "loop starts wrong"]
    [dropped] = result["dropped"]
    assert dropped["title"] == "result is never returned" and dropped["reason"] == "line 5 returns it" and dropped["line"] == 5
    assert any("verification dropped 1 of 3" in n for n in result["notes"])
    assert any(a["task"] == "verify" for a in result["answered_by"])


def test_a_verifier_that_fails_leaves_every_finding_posted(verified: Scenario, gh: GitHubServer) -> None:
    review_answer = verified.model.responder
    assert review_answer is not None

    def answer(request: Recorded) -> Reply:
        if VERIFIER in request.text:
            return Reply(status=400, error="verifier is down")
        return review_answer(request)

    verified.model.responder = answer
    assert pr(verified) == 0
    assert sorted(c["line"] for c in gh.visible_comments()) == [3, 5, 6]
    [summary] = [c for c in gh.issue_comments]
    assert "verification failed for 3 finding(s), reported unverified" in summary["body"]


def test_verification_is_off_unless_a_route_names_a_backend(scenario: Scenario, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scenario.findings = THREE
    make_pull(scenario.repo, gh)
    assert pr(scenario) == 0
    assert not any(VERIFIER in r.text for r in scenario.model.posts())
    assert len(gh.visible_comments()) == 3
