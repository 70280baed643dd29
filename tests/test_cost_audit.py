"""The cost audit: a run's tokens priced on other models (--compare, the GitHub summary), and `reviewer cost` by month."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reviewer.backends.base import Usage
from reviewer.cli import run
from reviewer.github.comments import PullReview
from reviewer.github.saved import dump
from reviewer.pricing import OTHER_MODELS, OTHERS_AS_OF
from reviewer.review import Review
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, make_pull
from tests.github_server import GitHubServer
from tests.model_server import ModelServer, Reply

SHA = "a" * 40


def on(model: str, usage: Usage) -> float:
    return OTHER_MODELS[model][1].cost(usage)


def test_compare_prices_the_runs_own_tokens_on_other_models(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("app.py", "a = 1\n")
    repo.commit("base")
    repo.write("app.py", "a = 2\n")
    repo.commit("change")
    model_server.default = Reply(content='{"findings": []}', reasoning="thinking " * 200, cached_tokens=100)
    code = run(["local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m", "--format", "json", "--compare"])
    out, err = capsys.readouterr()
    usage = Usage(**{k: v for k, v in json.loads(out)["usage"].items() if k in Usage.__dataclass_fields__})
    assert code == 0 and usage.prompt_tokens > 0  # the JSON on stdout is untouched; the audit is on stderr
    line = re.search(r"The same tokens would cost \$(\S+) on GPT-5\.5 and \$(\S+) on Claude Opus 4\.7 \(list prices of (\S+)\)\.", err)
    assert line, err
    assert float(line.group(1)) == pytest.approx(on("gpt-5.5", usage), abs=1e-4)
    assert float(line.group(2)) == pytest.approx(on("claude-opus-4.7", usage), abs=1e-4)
    assert line.group(3) == OTHERS_AS_OF


@pytest.mark.parametrize("setting", ["", "compare_models = []\n"])
def test_the_github_summary_has_the_audit_line_unless_turned_off(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    make_pull(scenario.repo, gh)
    scenario.config.write_text(f"[github]\nseconds_between_writes = 0.0\n{setting}", encoding="utf-8")
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code == 0
    body = str([c for c in gh.issue_comments if "reviewer:summary" in str(c["body"])][0]["body"])
    audit = "The same tokens would cost $" in body and "on GPT-5.5 and $" in body and f"(list prices of {OTHERS_AS_OF})" in body
    assert audit == (not setting)


def saved_run(folder: Path, name: str, usage: Usage, cost: float, saved_at: str | None) -> None:
    document = json.loads(dump(PullReview("acme/app", 1, SHA, SHA, Review((), None, usage, cost, (), ()))))
    if saved_at is None:
        del document["saved_at"]  # a file saved before the field existed: its modification time counts
    else:
        document["saved_at"] = saved_at
    (folder / name).write_text(json.dumps(document), encoding="utf-8")


def test_cost_sums_saved_runs_by_month(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"
    (runs / "nested").mkdir(parents=True)
    october, november = Usage(2, 10_000, 4_000, 1_000, 800), Usage(1, 5_000, 0, 500, 100)
    saved_run(runs, "a.json", october, 0.25, "2026-10-03T10:00:00+00:00")
    saved_run(runs / "nested", "b.json", october, 0.25, "2026-10-31T23:30:00-02:00")  # November 1st in UTC
    saved_run(runs, "c.json", november, 0.10, "2026-11-02T08:00:00+00:00")
    assert run(["cost", str(runs), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(m["month"], m["runs"], m["cost_usd"]) for m in report["months"]] == [("2026-10", 1, 0.25), ("2026-11", 2, 0.35)]
    total = report["total"]
    assert total["runs"] == 3 and total["usage"]["prompt_tokens"] == 25_000 and total["cost_usd"] == pytest.approx(0.6)
    assert total["on_other_models"]["gpt-5.5"] == pytest.approx(on("gpt-5.5", october + october + november), abs=1e-6)

    assert run(["cost", str(runs)]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^2026-11\s+2\s+3\s+15,000\s+27%\s+1,500\s+\$0\.35\s+\$", table, re.MULTILINE), table


def test_cost_refuses_a_file_that_is_not_a_saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "other.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    assert run(["cost", str(bad)]) == 2
    assert "not a review saved by `reviewer pr --output`" in capsys.readouterr().err


def test_an_unknown_model_to_compare_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[github]\ncompare_models = ["gpt-9"]\n', encoding="utf-8")
    assert run(["config", "check", "--config", str(config)]) == 2
    assert "github.compare_models: no price for 'gpt-9'; known: gpt-5.5, claude-opus-4.7" in capsys.readouterr().err


def test_other_json_in_a_folder_is_left_out_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"
    runs.mkdir()
    saved_run(runs, "run.json", Usage(1, 5_000, 0, 500, 100), 0.10, "2026-11-02T08:00:00+00:00")
    (runs / "package.json").write_text('{"name": "web"}', encoding="utf-8")
    (runs / "broken.json").write_text("{not json", encoding="utf-8")
    assert run(["cost", str(runs), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["total"]["runs"] == 1
    assert "not counted, not saved reviews:" in captured.err
    assert "broken.json" in captured.err and "package.json" in captured.err


def test_a_damaged_saved_review_in_a_folder_stops_the_sum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"
    runs.mkdir()
    saved_run(runs, "run.json", Usage(1, 5_000, 0, 500, 100), 0.10, "2026-11-02T08:00:00+00:00")
    document = json.loads((runs / "run.json").read_text(encoding="utf-8"))
    document["review"]["usage"]["prompt_tokens"] = -5  # a saved review, damaged: its cost cannot be left out unsaid
    (runs / "damaged.json").write_text(json.dumps(document), encoding="utf-8")
    assert run(["cost", str(runs)]) == 2
    assert "damaged saved review" in capsys.readouterr().err


def test_a_saved_time_out_of_range_is_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A saved file can come from an untrusted job: a time that parses but cannot be put in UTC falls back as a bad one does.
    saved_run(tmp_path, "far.json", Usage(1, 5_000, 0, 500, 100), 0.10, "9999-12-31T23:59:59-01:00")
    assert run(["cost", str(tmp_path / "far.json"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["runs"] == 1


def test_a_folder_entry_that_is_no_file_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"
    runs.mkdir()
    saved_run(runs, "run.json", Usage(1, 5_000, 0, 500, 100), 0.10, "2026-11-02T08:00:00+00:00")
    (runs / "schemas.json").mkdir()  # a folder whose name ends in .json
    (runs / "gone.json").symlink_to(tmp_path / "nowhere.json")  # a link to nothing
    assert run(["cost", str(runs), "--format", "json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["total"]["runs"] == 1


def test_a_review_saved_in_another_format_version_is_not_called_other_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"
    runs.mkdir()
    saved_run(runs, "run.json", Usage(1, 5_000, 0, 500, 100), 0.10, "2026-11-02T08:00:00+00:00")
    document = json.loads((runs / "run.json").read_text(encoding="utf-8"))
    document["format"] = "reviewer-pr-review/3"  # saved by a newer reviewer: a run that was paid for
    (runs / "newer.json").write_text(json.dumps(document), encoding="utf-8")
    code = run(["cost", str(runs), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 3, captured.err  # the sum is short of a run that was paid for: incomplete, and said
    assert json.loads(captured.out)["total"]["runs"] == 1
    assert "not counted, saved by another version of reviewer: " in captured.err and "newer.json" in captured.err
    assert run(["cost", str(runs / "newer.json")]) == 2  # named, it is an error with what it is
    assert "saved by another version of reviewer (format reviewer-pr-review/3); this one reads reviewer-pr-review/2" in capsys.readouterr().err


def test_json_nested_too_deep_is_not_json_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "artifacts"  # CI artifacts: an untrusted job may have written them
    runs.mkdir()
    saved_run(runs, "run.json", Usage(1, 5_000, 0, 500, 100), 0.10, "2026-11-02T08:00:00+00:00")
    (runs / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert run(["cost", str(runs), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["total"]["runs"] == 1 and "not saved reviews: " in captured.err
    assert run(["cost", str(runs / "deep.json")]) == 2
    assert "not JSON (maximum recursion depth exceeded" in capsys.readouterr().err
