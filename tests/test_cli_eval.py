"""`reviewer eval` end to end: suites made in tmp_path, the real openai client, the loopback model server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reviewer.cli import run
from tests.model_server import ModelServer, Recorded, Reply

MARKER = "EVAL-VARIANT-MARKER: check every SQL string"


def new_file_patch(path: str, count: int) -> str:
    body = "".join(f"+value_{n} = {n}\n" for n in range(1, count + 1))
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{count} @@\n{body}"
    )


def write_case(suite: Path, name: str, patch: str, expected: dict[str, Any]) -> None:
    folder = suite / name
    folder.mkdir(parents=True)
    (folder / "diff.patch").write_text(patch)
    (folder / "expected.json").write_text(json.dumps(expected))


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two cases: `sql` (src/db.py, 8 added lines) and `util` (tools/helpers.py, 5 added lines); 3 must_find entries in all."""
    monkeypatch.chdir(tmp_path)  # outside any repository: no .reviewer.toml or template overrides but the test's
    root = tmp_path / "suite"
    write_case(
        root,
        "sql",
        new_file_patch("src/db.py", 8),
        {
            "must_find": [{"path": "src/db.py", "lines": [3, 4], "category": "security"}, {"path": "src/db.py", "lines": [7, 8], "category": "bug"}],
            "must_not_flag": [{"path": "src/db.py", "lines": [1, 2]}],
        },
    )
    write_case(root, "util", new_file_patch("tools/helpers.py", 5), {"must_find": [{"path": "tools/helpers.py", "lines": [2, 2]}]})
    return root


def finding(path: str, line: int, category: str, start_line: int | None = None) -> dict[str, Any]:
    return {"path": path, "line": line, "start_line": start_line, "severity": "major", "category": category, "title": "t", "body": "b"}


def answer(*findings: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps({"findings": list(findings)}))


def by_file(recorded: Recorded) -> Reply:
    if "src/db.py" in recorded.text:
        return answer(
            finding("src/db.py", 4, "security", start_line=3),  # finds the first entry
            finding("src/db.py", 1, "style"),  # noise, and on a must_not_flag range
            finding("src/db.py", 6, "bug"),  # noise: next to the second entry, not on it
        )
    return answer(finding("tools/helpers.py", 2, "maintainability"))  # the entry names no category: any will do


def run_eval(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = run(["eval", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {}, captured.err


def cases(variant: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in variant["cases"]}


def server_tokens(recorded: list[Recorded]) -> int:
    """The prompt tokens the loopback server reported for these requests (it counts 4 characters a token)."""
    return sum(max(1, len(r.text) // 4) for r in recorded)


def test_eval_scores_recall_noise_and_false_alarms_exactly(suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = by_file
    code, result, _ = run_eval(capsys, str(suite), "--base-url", model_server.openai_url, "--model", "m")

    assert code == 0
    [variant] = result["variants"]
    assert variant["name"] == "default"
    assert variant["recall"] == pytest.approx(2 / 3)
    assert variant["noise"] == 2
    assert variant["false_alarms"] == 1
    assert variant["findings_per_100_lines"] == pytest.approx(4 * 100 / 13)
    assert variant["prompt_tokens"] == server_tokens(model_server.posts())
    assert variant["seconds"] > 0
    assert (variant["cases_scored"], variant["cases_unscored"]) == (2, 0)
    sql, util = cases(variant)["sql"], cases(variant)["util"]
    assert (sql["found"], sql["expected"], sql["noise"], sql["false_alarms"]) == (1, 2, 2, 1)
    assert sql["missed"] == [{"path": "src/db.py", "lines": [7, 8], "category": "bug"}]
    assert len(sql["findings"]) == 3
    assert (util["recall"], util["noise"], util["false_alarms"]) == (1.0, 0, 0)
    assert variant["prompt_tokens"] == sql["prompt_tokens"] + util["prompt_tokens"]
    # The case's folder name often names the bug: it must not reach the model.
    assert all("sql" not in r.text.lower() for r in model_server.posts())


def strict_variant(tmp_path: Path) -> Path:
    """Templates that extend the packaged system prompt by one block, the way a team lead tunes one."""
    folder = tmp_path / "strict-prompts"
    folder.mkdir()
    (folder / "review_system.j2").write_text(
        '{% extends "packaged/review_system.j2" %}\n{% block focus %}\n{{ super() }}\n' + MARKER + "\n{% endblock %}\n"
    )
    return folder


def finds_only_with_marker(recorded: Recorded) -> Reply:
    """A model that finds the SQL problem only when the prompt tells it to look."""
    if MARKER in recorded.text and "src/db.py" in recorded.text:
        return answer(finding("src/db.py", 3, "security"))
    return answer()


def test_template_variants_are_measured_side_by_side(
    suite: Path, tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.responder = finds_only_with_marker
    variant = f"strict={strict_variant(tmp_path)}"
    code, result, _ = run_eval(capsys, str(suite), "--variant", variant, "--base-url", model_server.openai_url, "--model", "m")

    assert code == 0
    default, strict = result["variants"]
    assert (default["name"], strict["name"]) == ("default", "strict")
    assert default["recall"] == 0.0
    assert strict["recall"] == pytest.approx(1 / 3)
    assert cases(strict)["sql"]["missed"] == [{"path": "src/db.py", "lines": [7, 8], "category": "bug"}]
    # Each variant sent every case once, and only the variant's requests carried its template.
    posts = model_server.posts()
    assert len(posts) == 4
    assert sum(MARKER in r.text for r in posts) == 2
    assert strict["prompt_tokens"] == server_tokens([r for r in posts if MARKER in r.text])


def test_every_variant_runs_on_every_named_backend(
    suite: Path, tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "reviewer.toml"
    backend = f'protocol = "openai"\nbase_url = "{model_server.openai_url}"\nprice_input = 1000000.0\nprice_cached_input = 0.0\nprice_output = 0.0\n'
    # Priced at a dollar a prompt token, so costs show; no cost limit (the default one would stop the suite).
    config.write_text(f'[review]\nmax_cost_usd = 1e12\n\n[backends.small]\nmodel = "small-m"\n{backend}\n[backends.big]\nmodel = "big-m"\n{backend}')
    # Only the big model finds anything, and only with the strict templates.
    model_server.responder = lambda r: finds_only_with_marker(r) if r.body["model"] == "big-m" else answer()

    code, result, _ = run_eval(
        capsys, str(suite), "--config", str(config), "--backend", "small", "--backend", "big", "--variant", f"strict={strict_variant(tmp_path)}"
    )

    assert code == 0
    recall = {v["name"]: v["recall"] for v in result["variants"]}
    assert recall == {"default@small": 0.0, "default@big": 0.0, "strict@small": 0.0, "strict@big": pytest.approx(1 / 3)}
    assert {r.body["model"] for r in model_server.posts()} == {"small-m", "big-m"}
    # Priced at 1 USD per uncached prompt token; the server reports half the prompt as cached.
    for variant in result["variants"]:
        model = "big-m" if variant["name"].endswith("@big") else "small-m"
        marked = variant["name"].startswith("strict")
        sent = [r for r in model_server.posts() if r.body["model"] == model and (MARKER in r.text) == marked]
        tokens = [max(1, len(r.text) // 4) for r in sent]
        assert variant["cost_usd"] == pytest.approx(sum(t - t // 2 for t in tokens))


def test_text_and_markdown_reports(suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    model_server.responder = by_file
    base = [str(suite), "--base-url", model_server.openai_url, "--model", "m"]

    assert run(["eval", *base]) == 0
    text = capsys.readouterr().out
    assert "67% 2/3" in text and "50% 2/4" in text and "0.57" in text  # the variant's row: recall, precision, F1
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "sql: found 1/2, 3 finding(s), noise 2, false alarms 1" in text
    assert "missed src/db.py:7-8 (bug)" in text

    assert run(["eval", *base, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| default | 67% 2/3 | 50% 2/4 | 0.57 | - | 2.0 | $0.0000 |" in markdown
    assert "- util: found 1/1, 1 finding(s), noise 0, false alarms 0" in markdown


@pytest.mark.parametrize(
    ("break_it", "culprit", "said"),
    [
        (lambda case: (case / "diff.patch").unlink(), "diff.patch", "missing"),
        (lambda case: (case / "expected.json").write_text("{not json"), "expected.json", "not valid JSON"),
        (lambda case: (case / "expected.json").write_text('{"must_find": [], "must_flag": []}'), "expected.json", "unknown key 'must_flag'"),
    ],
)
def test_a_bad_suite_exits_2_naming_the_file_before_anything_is_sent(
    suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str], break_it: Any, culprit: str, said: str
) -> None:
    break_it(suite / "util")
    code, result, err = run_eval(capsys, str(suite), "--base-url", model_server.openai_url, "--model", "m")

    assert code == 2
    assert result == {}
    assert f"reviewer: error: {suite / 'util' / culprit}: " in err
    assert said in err
    assert "Traceback" not in err
    assert model_server.posts() == []


def test_a_variant_that_is_not_a_folder_exits_2(suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_eval(capsys, str(suite), "--variant", "terse=no-such-dir", "--base-url", model_server.openai_url, "--model", "m")
    assert code == 2
    assert "no-such-dir is not a folder of templates" in err
    assert model_server.posts() == []


def test_a_backend_failure_exits_3_and_still_reports_what_ran(suite: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    def fails_on_app(recorded: Recorded) -> Reply:
        if "tools/helpers.py" in recorded.text:
            return Reply(status=500, error="GPU on fire", headers={"Retry-After": "0"})
        return by_file(recorded)

    model_server.responder = fails_on_app
    code, result, _ = run_eval(capsys, str(suite), "--base-url", model_server.openai_url, "--model", "m")

    assert code == 3
    [variant] = result["variants"]
    assert (variant["cases_scored"], variant["cases_unscored"]) == (1, 1)
    util = cases(variant)["util"]
    assert util["scored"] is False
    assert util["recall"] is None
    assert any("GPU on fire" in e for e in util["errors"])
    # The failed case counts neither for nor against the variant: recall is the sql case's 1 of 2.
    assert variant["recall"] == 0.5
    assert (variant["noise"], variant["false_alarms"]) == (2, 1)
    assert cases(variant)["sql"]["scored"] is True


def test_max_cost_holds_for_the_whole_suite(suite: Path, tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "reviewer.toml"
    config.write_text(
        f'[routes]\nreview = "priced"\n\n[backends.priced]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n'
        "price_input = 1000000.0\nprice_cached_input = 0.0\nprice_output = 0.0\n"
    )
    code, result, _ = run_eval(capsys, str(suite), "--config", str(config), "--max-cost", "0.01")

    assert code == 3
    [variant] = result["variants"]
    assert variant["cases_unscored"] == 2
    assert all("--max-cost" in c["errors"][0] for c in variant["cases"])
    assert model_server.posts() == []


def test_cases_run_in_parallel_up_to_the_concurrency(tmp_path: Path, model_server: ModelServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "suite"
    for n in range(5):
        write_case(suite, f"case{n}", new_file_patch(f"m{n}.py", 3), {"must_find": [{"path": f"m{n}.py", "lines": [1, 3]}]})
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def slow(recorded: Recorded) -> Reply:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.3)
        with lock:
            in_flight -= 1
        return answer()

    model_server.responder = slow
    code, result, _ = run_eval(capsys, str(suite), "--concurrency", "2", "--base-url", model_server.openai_url, "--model", "m")

    assert code == 0
    assert most == 2
    # seconds add up the cases' own times, so they do not shrink with more concurrency
    assert result["variants"][0]["seconds"] >= 5 * 0.3


def test_eval_reports_what_context_and_verification_cost(suite: Path, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A verifier that rejects the noise: noise falls, and the table says what the pass cost."""

    def reply(recorded: Recorded) -> Reply:
        if "You check another reviewer's findings" not in recorded.text:
            return by_file(recorded)
        ids = [json.loads(line) for line in recorded.text.splitlines() if line.startswith('{"id": ')]
        return Reply(content=json.dumps({"verdicts": [{"id": f["id"], "keep": f["category"] != "style", "reason": "taste"} for f in ids]}))

    model_server.responder = reply
    config = tmp_path / "verify.toml"
    config.write_text('[routes]\nverify = "deepseek-flash"\n', encoding="utf-8")
    code, result, _ = run_eval(capsys, str(suite), "--base-url", model_server.openai_url, "--model", "m", "--config", str(config))

    assert code == 0
    [variant] = result["variants"]
    assert (variant["noise"], variant["false_alarms"]) == (1, 0)  # the style remark on a must_not_flag range is gone
    assert variant["verification_tokens"] > 0 and variant["verification_cost_usd"] == 0.0  # a loopback model has no price
    assert variant["context_tokens"] == 0  # a case is a diff alone: no repository to read context from
    assert variant["verification_tokens"] == sum(c["verification_tokens"] for c in variant["cases"])
    run(["eval", str(suite), "--base-url", model_server.openai_url, "--model", "m", "--config", str(config), "--format", "markdown"])
    assert "context tokens · verification " in capsys.readouterr().out
