"""`reviewer eval` with golden comments: the loopback model server is both the reviewer and the judge."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from reviewer.cli import run
from tests.model_server import ModelServer, Recorded, Reply
from tests.test_cli_eval import new_file_patch, write_case

JUDGE_MARK = "You grade an automated code review"


def finding(path: str, line: int, title: str) -> dict[str, Any]:
    return {"path": path, "line": line, "severity": "major", "category": "bug", "title": title, "body": f"Body of: {title}"}


# What the reviewer says per file; the judge pairs a finding with a golden comment when they share a keyword.
GOOD = {
    "auth.py": [finding("auth.py", 2, "Token compared with == (timing attack)"), finding("auth.py", 3, "Rename variable")],
    "cache.py": [finding("cache.py", 1, "Stale entries are never evicted")],
    "clean_a.py": [finding("clean_a.py", 1, "Possible typo")],
    "clean_b.py": [],
}
KEYWORDS = ("timing", "evict", "expired")


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "suite"
    write_case(root, "auth", new_file_patch("auth.py", 4), {"golden": [
        {"comment": "The token is compared with ==, which leaks its value through timing.", "severity": "high"},
        {"comment": "Expired tokens are still accepted: the expiry is never checked.", "severity": "critical", "path": "auth.py"},
    ]})
    write_case(root, "cache", new_file_patch("cache.py", 3), {"golden": [
        {"comment": "Entries are never evicted, so memory grows.", "severity": "medium", "path": "cache.py", "lines": [1, 2]},
    ]})
    write_case(root, "clean-a", new_file_patch("clean_a.py", 2), {})
    write_case(root, "clean-b", new_file_patch("clean_b.py", 2), {})
    return root


def objects(text: str, kind: str) -> list[dict[str, Any]]:
    """The JSON lines of one fenced block of the judge's user message."""
    block = re.search(rf"<untrusted-{kind} id=\"\w+\">\n(.*?)\n</untrusted-{kind}", text, re.S)
    assert block is not None
    return [json.loads(line) for line in block.group(1).splitlines() if line.strip()]


def model(answers: dict[str, list[dict[str, Any]]]) -> Any:
    def respond(recorded: Recorded) -> Reply:
        if JUDGE_MARK in recorded.text:
            findings, golden = objects(recorded.text, "findings"), objects(recorded.text, "golden-comments")
            matches = [
                {"finding": f["id"], "golden": g["id"]}
                for f in findings for g in golden
                if any(k in f["title"].lower() and k in g["comment"].lower() for k in KEYWORDS)
            ]
            return Reply(content=json.dumps({"matches": matches}))
        for path, found in answers.items():
            if f"+++ b/{path}" in recorded.text or f"--- {path}" in recorded.text or path in recorded.text:
                return Reply(content=json.dumps({"findings": found}))
        return Reply(content='{"findings": []}')

    return respond


@pytest.fixture
def config(tmp_path: Path, model_server: ModelServer) -> Path:
    path = tmp_path / "reviewer.toml"
    path.write_text(
        f'[routes]\nreview = "rev"\njudge = "referee"\n'
        f'[backends.rev]\nbase_url = "{model_server.openai_url}"\nmodel = "rev-m"\n'
        f'[backends.referee]\nbase_url = "{model_server.openai_url}"\nmodel = "judge-m"\n'
    )
    return path


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = run(["eval", *args, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


def test_precision_recall_f1_and_false_positive_rate_exactly(suite: Path, config: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = model(GOOD)
    code, result = eval_json(capsys, str(suite), "--config", str(config))

    assert code == 0
    [variant] = result["variants"]
    assert variant["judge"] == "referee (judge-m)"
    # golden: 3 in all, 2 matched (timing, evict); findings on cases with golden comments: 3, 2 matched
    assert variant["recall"] == pytest.approx(2 / 3)
    assert variant["precision"] == pytest.approx(2 / 3)
    assert variant["f1"] == pytest.approx(2 / 3)
    assert variant["false_positive_rate"] == pytest.approx(1 / 2)  # clean-a has a finding, clean-b none
    assert variant["findings_per_case"] == pytest.approx(1.0)
    cases = {c["name"]: c for c in variant["cases"]}
    assert cases["auth"]["matches"] == [{"finding": "F1", "golden": "G1"}]
    assert (cases["auth"]["found"], cases["auth"]["expected"], cases["auth"]["noise"]) == (1, 2, 1)
    assert cases["clean-a"]["clean"] is True and cases["clean-a"]["matches"] is None
    # The judge's requests went to the judge route, the reviews to the review route; clean cases were not judged.
    judged = [r for r in model_server.posts() if JUDGE_MARK in r.text]
    assert len(judged) == 2 and {r.body["model"] for r in judged} == {"judge-m"}
    assert {r.body["model"] for r in model_server.posts() if JUDGE_MARK not in r.text} == {"rev-m"}
    # The judge prompt carries exactly the contract's keys.
    first = judged[0].text
    assert all(set(o) == {"id", "comment"} for o in objects(first, "golden-comments"))
    assert all(set(o) == {"id", "title", "body"} for o in objects(first, "findings"))
    assert '{"matches": [{"finding": "F1", "golden": "G2"}]}' in first


def test_the_text_report_names_the_judge_and_fits_80_columns(suite: Path, config: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = model(GOOD)
    assert run(["eval", str(suite), "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("judge: referee (judge-m) · ")
    assert "67% 2/3" in text and "0.67" in text and "50% 1/2" in text
    assert "missed: Expired tokens are still accepted" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_judge_follows_review_unless_routed(suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = model(GOOD)
    code, result = eval_json(capsys, str(suite), "--base-url", model_server.openai_url, "--model", "m")
    assert code == 0
    port = model_server.openai_url.split(":")[2].split("/")[0]
    assert result["variants"][0]["judge"] == f"127.0.0.1:{port} (m)"


def test_a_baseline_regression_exits_1(suite: Path, config: Path, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = model(GOOD)
    code, good = eval_json(capsys, str(suite), "--config", str(config))
    assert code == 0
    saved = tmp_path / "baseline.json"
    saved.write_text(json.dumps(good))

    # The same answers again: no regression.
    assert run(["eval", str(suite), "--config", str(config), "--baseline", str(saved)]) == 0
    assert "REGRESSION" not in capsys.readouterr().out

    # A template that misses the timing attack: recall 2/3 -> 1/3, precision 2/3 -> 1/2.
    worse = {**GOOD, "auth.py": [finding("auth.py", 3, "Rename variable")]}
    model_server.responder = model(worse)
    code, result = eval_json(capsys, str(suite), "--config", str(config), "--baseline", str(saved))
    assert code == 1
    assert {(r["metric"], round(r["before"], 3), round(r["after"], 3)) for r in result["baseline"]["regressions"]} == {
        ("recall", 0.667, 0.333), ("precision", 0.667, 0.5)
    }
    # Within a generous threshold it passes.
    assert run(["eval", str(suite), "--config", str(config), "--baseline", str(saved), "--threshold", "0.4"]) == 0
    assert "default recall: 67% -> 33%" in capsys.readouterr().out


def test_replay_scores_again_and_sends_nothing(suite: Path, config: Path, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = model(GOOD)
    code, first = eval_json(capsys, str(suite), "--config", str(config))
    assert code == 0
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(first))
    sent = len(model_server.requests)

    code, again = eval_json(capsys, str(suite), "--replay", str(saved))
    assert code == 0 and len(model_server.requests) == sent
    for key in ("recall", "precision", "f1", "false_positive_rate", "judge", "cost_usd"):
        assert again["variants"][0][key] == first["variants"][0][key]

    # The suite changes: a must_find entry is scored by location, offline.
    (suite / "clean-b" / "expected.json").write_text(json.dumps({"must_find": [{"path": "clean_b.py", "lines": [1, 2]}]}))
    code, rescored = eval_json(capsys, str(suite), "--replay", str(saved))
    assert code == 0 and len(model_server.requests) == sent
    assert rescored["variants"][0]["recall"] == pytest.approx(2 / 4)
    # A golden comment edited since: the judge never saw it, so that case cannot be scored offline.
    expected = json.loads((suite / "cache" / "expected.json").read_text())
    expected["golden"][0]["comment"] = "Eviction is missing."
    (suite / "cache" / "expected.json").write_text(json.dumps(expected))
    code, stale = eval_json(capsys, str(suite), "--replay", str(saved))
    assert code == 3 and len(model_server.requests) == sent
    cache = next(c for c in stale["variants"][0]["cases"] if c["name"] == "cache")
    assert cache["scored"] is False and "run the eval again without --replay" in cache["errors"][-1]
    # A case added since: no answer to replay, so it is listed unscored rather than left out.
    shutil.copytree(suite / "clean-b", suite / "zz-new")
    code, grown = eval_json(capsys, str(suite), "--replay", str(saved))
    assert code == 3 and len(model_server.requests) == sent
    added = next(c for c in grown["variants"][0]["cases"] if c["name"] == "zz-new")
    assert added["scored"] is False and "not in the saved run" in added["errors"][-1]


def test_replay_takes_no_backend_options(suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    saved.write_text('{"variants": []}')
    assert run(["eval", str(suite), "--replay", str(saved), "--base-url", "http://localhost:1/v1", "--model", "m"]) == 2
    assert "--replay scores a saved run again" in capsys.readouterr().err


def test_an_unusable_judge_answer_leaves_the_case_unscored(suite: Path, config: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    def respond(recorded: Recorded) -> Reply:
        if JUDGE_MARK in recorded.text:
            return Reply(content="They look similar to me.")
        return model(GOOD)(recorded)

    model_server.responder = respond
    code, result = eval_json(capsys, str(suite), "--config", str(config))
    assert code == 3
    cases = {c["name"]: c for c in result["variants"][0]["cases"]}
    assert cases["auth"]["scored"] is False and 'usable "matches"' in cases["auth"]["errors"][-1]
    assert cases["clean-a"]["scored"] is True  # a clean case needs no judge


@pytest.mark.parametrize(
    ("golden", "said"),
    [
        ([{"comment": "x", "severity": "High"}], "severity 'High' is not one of: low, medium, high, critical"),
        ([{"comment": "", "severity": "high"}], "golden[0].comment must be"),
        ([{"comment": "x", "severity": "low", "path": "nope.py"}], "golden[0].path 'nope.py' is not a file"),
        ([{"comment": "x", "severity": "low", "lines": [1, 2]}], "golden[0].path must be"),
    ],
)
def test_a_bad_golden_comment_exits_2(suite: Path, capsys: pytest.CaptureFixture[str], golden: list[dict[str, Any]], said: str) -> None:
    (suite / "auth" / "expected.json").write_text(json.dumps({"golden": golden}))
    assert run(["eval", str(suite), "--base-url", "http://localhost:1/v1", "--model", "m"]) == 2
    assert said in capsys.readouterr().err
