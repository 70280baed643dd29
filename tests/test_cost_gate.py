"""The default gate for a large change is its estimated cost against max_cost_usd, before any request."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, make_pull
from tests.github_server import GitHubServer
from tests.model_server import ModelServer

# A priced backend on the loopback server: a dollar per 1,000 tokens, so a small change costs dollars.
PRICED = '[routes]\nreview = "priced"\nsummarize = "priced"\n\n[backends.priced]\nbase_url = "{url}"\nmodel = "m"\nprice_input = 1000.0\nprice_cached_input = 1000.0\nprice_output = 1000.0\n'


def change(repo: GitRepo) -> None:
    repo.write("app.py", "def f():\n    return 1\n")
    repo.commit("base")
    repo.write("app.py", "def f():\n    return 2\n")
    repo.write(".env", "AWS_ACCESS_KEY_ID=AKIA" + "Q3EGRWFAXQ7Z4T2M\n")  # a secret: reported without any request
    repo.commit("change")


def test_a_change_estimated_over_the_limit_sends_nothing_and_says_what_it_would_cost(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    config = tmp_path / "priced.toml"
    config.write_text(PRICED.format(url=model_server.openai_url) + "\n[review]\nmax_cost_usd = 0.5\n", encoding="utf-8")
    assert run(["local", "--range", "HEAD~1..HEAD", "--config", str(config), "--dry-run", "--format", "json"]) == 0
    estimate = json.loads(capsys.readouterr().out)["estimated_cost_usd"]
    assert estimate > 0.5

    code = run(["local", "--range", "HEAD~1..HEAD", "--config", str(config), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3 and model_server.posts() == []  # incomplete, and not one request
    [error] = result["errors"]
    said = re.search(r"the review is estimated at \$(\d+\.\d{4}) \(1 request, before sending any\)", error)
    assert said and float(said.group(1)) == pytest.approx(estimate, rel=0.02)  # --dry-run's figure (the nonce is new each run)
    assert "more than all of the max_cost_usd limit of $0.5000; raise it with --max-cost" in error
    assert {s["path"] for s in result["skipped"] if s["reason"].startswith("not reviewed: not sent: the review is estimated")} == {"app.py"}
    assert [f["title"] for f in result["findings"]] == ["Secret committed: AWS access key"]

    code = run(["local", "--range", "HEAD~1..HEAD", "--config", str(config), "--max-cost", str(estimate * 2), "--format", "json"])
    assert code == 0 and len(model_server.posts()) == 1  # raised: reviewed


def test_a_pull_request_over_the_limit_gets_a_summary_with_the_cost_and_no_request(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    make_pull(scenario.repo, gh)
    scenario.config.write_text(
        PRICED.format(url=scenario.model.openai_url) + "\n[review]\nmax_cost_usd = 0.5\n\n[github]\nseconds_between_writes = 0.0\n",
        encoding="utf-8",
    )
    result = scenario.action("pull_request", scenario.pull_event(1), capsys, drop=("INPUT_BASE_URL", "INPUT_MODEL"))
    assert scenario.model.posts() == []
    [summary] = [c for c in gh.issue_comments if "reviewer:summary" in str(c["body"])]
    body = str(summary["body"])
    assert re.search(r"\*\*Not reviewed:\*\* not sent: the review is estimated at \$\d+\.\d{4} \(1 request, before sending any\)", body)
    assert "more than all of the max_cost_usd limit of $0.5000" in body and "reviewer:head=" not in body
    assert result.code == 3
