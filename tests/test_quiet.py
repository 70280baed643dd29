"""Quiet when there is nothing to say: no review without findings, and --fail-on counts the change's files only."""

from __future__ import annotations

import pytest

from reviewer.cli import run
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer


@pytest.fixture
def pull(scenario: Scenario, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    make_pull(scenario.repo, gh)
    return scenario


def pr(scenario: Scenario, *extra: str) -> int:
    return run(["pr", "--repo", scenario.gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config), *extra])


def test_a_review_without_findings_posts_no_review_and_says_so(pull: Scenario, gh: GitHubServer) -> None:
    pull.findings = []
    assert pr(pull) == 0
    assert gh.submitted_reviews() == [] and gh.visible_comments() == []
    [summary] = gh.issue_comments
    assert "no findings" in summary["body"]


def test_fail_on_counts_only_findings_on_files_of_the_change(pull: Scenario, gh: GitHubServer) -> None:
    # A remark on code the model read as context, in a file the PR does not change: reported, never failing the run.
    pull.findings = [finding("src/elsewhere.py", 3, "critical", "bug", "Caller passes None")]
    assert pr(pull, "--fail-on", "major") == 0
    assert "Caller passes None" in gh.issue_comments[0]["body"]
    pull.findings = [finding("src/app.py", 30, "critical", "bug", "Off the diff but in a changed file")]
    assert pr(pull, "--fail-on", "major", "--full") == 1
