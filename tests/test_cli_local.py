"""`reviewer local` end to end: a real git repository, the real openai client, a loopback model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Recorded, Reply

APP = "".join(f"line {n}\n" for n in range(1, 31))


def feature_branch(repo: GitRepo) -> None:
    """main, then a feature branch with a commit, a rename, a binary, staged and unstaged edits."""
    repo.write("app.py", APP)
    repo.write("old_name.py", "def helper():\n    return 1\n\n\ndef other():\n    return 2\n")
    repo.write("logo.png", b"\x89PNG\x00\x01\x02")
    repo.write("util.py", "A = 1\n")
    repo.write("poetry.lock", "[[package]]\nname = 'x'\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", APP.replace("line 5\n", "committed change\n"))
    repo.git("mv", "old_name.py", "new_name.py")
    repo.write("new_name.py", "def helper():\n    return 1\n\n\ndef other():\n    return 3  # renamed and edited\n")
    repo.write("logo.png", b"\x89PNG\x00\x09\x09")
    repo.write("poetry.lock", "[[package]]\nname = 'y'\n")
    repo.commit("feature work")
    repo.write("util.py", "A = 1\nB = 'staged change'\n")
    repo.git("add", "util.py")
    repo.write("app.py", APP.replace("line 5\n", "committed change\n").replace("line 15\n", "unstaged change\n"))


def findings_answer(request: Recorded) -> Reply:
    answer = {
        "findings": [
            {"path": "app.py", "line": 15, "severity": "critical", "category": "bug", "title": "Unstaged bug", "body": "Breaks."},
            {"path": "new_name.py", "line": 6, "severity": "minor", "category": "maintainability", "title": "Magic number", "body": "Name it.", "suggestion": "    return THREE"},
            {"path": "app.py", "line": 25, "severity": "nit", "category": "style", "title": "Off the diff", "body": ""},
            {"path": "nowhere.py", "line": 1, "severity": "major", "category": "bug", "title": "Not in the change", "body": ""},
            {"path": "app.py", "severity": "major", "title": "No line"},
        ]
    }
    return Reply(content="Here is my review:\n```json\n" + json.dumps(answer) + "\n```\nThanks.", reasoning='{"findings": [{"path": "decoy.py", "line": 1}]}')


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = run(["local", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_local_review_end_to_end(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.responder = findings_answer
    code, result = run_json(capsys, "--base-url", model_server.openai_url, "--model", "ds-v4", "--fail-on", "major")

    assert code == 1  # a critical finding is at or above --fail-on major
    assert set(result) >= {"findings", "summary", "usage", "cost_usd", "skipped", "errors"}
    placed = {(f["path"], f["line"]): f for f in result["findings"]}
    assert placed[("app.py", 15)]["anchored"] is True
    assert placed[("app.py", 15)]["severity"] == "critical"
    assert placed[("new_name.py", 6)]["suggestion"] == "    return THREE"
    assert placed[("new_name.py", 6)]["anchored"] is True
    assert placed[("app.py", 25)]["anchored"] is False  # in a changed file, off the diff
    assert placed[("nowhere.py", 1)]["anchored"] is False
    assert "decoy.py" not in {f["path"] for f in result["findings"]}  # reasoning is never parsed
    for finding in result["findings"]:
        assert set(finding) >= {"path", "line", "start_line", "side", "severity", "category", "title", "body", "suggestion", "anchored"}
    assert any('"line" is missing' in e for e in result["errors"])
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    assert skipped["logo.png"] == "binary file"
    assert "lock file" in skipped["poetry.lock"]
    assert result["usage"]["requests"] == 1
    assert result["usage"]["prompt_tokens"] > 0
    assert result["usage"]["cached_prompt_tokens"] > 0
    assert result["usage"]["reasoning_tokens"] > 0

    [request] = model_server.posts()
    assert request.body["model"] == "ds-v4"
    # A self-hosted endpoint gets thinking and effort explicitly, through the chat template.
    assert request.body["chat_template_kwargs"] == {"thinking": True, "reasoning_effort": "high"}
    text = request.text
    assert "unstaged change" in text and "staged change" in text and "committed change" in text
    assert "    15 + unstaged change" in text  # new-file line numbers the model can cite
    assert "new_name.py (renamed from old_name.py)" in text
    assert "name = 'y'" not in text  # the lock file never reached the model


def test_fail_on_below_the_findings_exits_zero(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.responder = findings_answer
    code, _ = run_json(capsys, "--base-url", model_server.openai_url, "--model", "m")
    assert code == 0  # fail_on defaults to none


def test_text_output(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.responder = findings_answer
    code = run(["local", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "critical"])
    out = capsys.readouterr().out
    assert code == 1
    assert "app.py:15: critical: Unstaged bug\n    Breaks.\n" in out
    assert "skipped logo.png: binary file" in out
    assert "\x1b[" not in out  # no colour when not on a terminal
    assert "1 request" in out and "cost $" in out


def test_staged_only(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    run_json(capsys, "--staged", "--base-url", model_server.openai_url, "--model", "m")
    text = model_server.posts()[0].text
    assert "staged change" in text
    assert "unstaged change" not in text and "committed change" not in text


def test_explicit_range(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    run_json(capsys, "--range", "main..feature", "--base-url", model_server.openai_url, "--model", "m")
    text = model_server.posts()[0].text
    assert "committed change" in text
    assert "unstaged change" not in text and "staged change" not in text


def test_deepseek_defaults_send_thinking_high_with_the_key(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feature_branch(repo)
    repo.trust()
    repo.write(
        ".reviewer.toml",
        f'[backends.deepseek-pro]\nbase_url = "{model_server.openai_url}"\ndialect = "deepseek"\napi_key_env = "LOOPBACK_KEY"\n'
        "self_hosted = false\nprice_input = 1.74\nprice_cached_input = 0.145\nprice_output = 3.48\n",
    )
    monkeypatch.setenv("LOOPBACK_KEY", "sk-test-key")  # DEEPSEEK_API_KEY itself goes to DeepSeek's hosts only
    code, result = run_json(capsys)
    assert code == 0
    [request] = model_server.posts()
    assert request.body["model"] == "deepseek-v4-pro"
    assert request.body["thinking"] == {"type": "enabled"}
    assert request.body["reasoning_effort"] == "high"
    assert request.headers["authorization"] == "Bearer sk-test-key"
    usage = result["usage"]
    expected = (
        (usage["prompt_tokens"] - usage["cached_prompt_tokens"]) * 1.74
        + usage["cached_prompt_tokens"] * 0.145
        + usage["completion_tokens"] * 3.48
    ) / 1_000_000
    assert result["cost_usd"] == pytest.approx(expected, rel=1e-3)
    assert result["cost_usd"] > 0


def test_effort_flag_turns_thinking_off(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    run_json(capsys, "--base-url", model_server.openai_url, "--model", "m", "--effort", "none")
    assert model_server.posts()[0].body["chat_template_kwargs"] == {"thinking": False}


def test_dry_run_needs_no_network_and_no_key(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    code = run(["local", "--dry-run", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    plan = json.loads(captured.out)
    assert plan["dry_run"] is True
    [request] = plan["requests"]
    assert request["model"] == "deepseek-v4-pro" and request["effort"] == "high"
    assert request["prompt_tokens"] > 100
    assert request["estimated_cost_usd"] > 0
    assert "unstaged change" in request["messages"][1]["content"]
    assert {s["path"] for s in plan["skipped"]} == {"logo.png", "poetry.lock"}


def test_untracked_files_are_listed_not_lost(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    repo.write("brand_new.py", "print('not yet added')\n")
    repo.write(".gitignore", "*.log\n")
    repo.write("debug.log", "ignored\n")
    assert run(["local", "--dry-run", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    skipped = {s["path"]: s["reason"] for s in plan["skipped"]}
    assert skipped["brand_new.py"] == "untracked: `git add -N brand_new.py` to review it"
    assert "debug.log" not in skipped  # ignored files are not changes
    assert "not yet added" not in plan["requests"][0]["messages"][1]["content"]


def test_dry_run_text(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    assert run(["local", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("1  review     deepseek-pro")  # a table first, one row a request
    assert "=== request" not in out and "--- system ---" not in out
    assert "nothing was sent" in out and "the prompts in full: add --verbose" in out
    assert run(["local", "--dry-run", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "=== request 1/1 · review · deepseek-pro (deepseek-v4-pro, effort high)" in out and "--- system ---" in out


@pytest.mark.parametrize("output_format", ["sarif", "markdown", "github"])
def test_a_dry_run_in_a_review_format_is_refused_not_printed_as_text(repo: GitRepo, output_format: str, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    assert run(["local", "--dry-run", "--format", output_format]) == 2  # a SARIF upload would have got a text table
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--dry-run prints its plan as text or json, not {output_format}" in captured.err


def test_large_change_is_split_into_parallel_requests(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("seed.txt", "x\n")
    repo.commit("base")
    for n in range(6):
        repo.write(f"mod{n}.py", "".join(f"value_{n}_{i} = {i}\n" for i in range(200)))
    repo.write(".reviewer.toml", "[review]\nmax_chunk_tokens = 3000\nconcurrency = 3\n")
    repo.git("add", "-A")  # new files are reviewed once tracked
    code, result = run_json(capsys, "--base-url", model_server.openai_url, "--model", "m")
    assert code == 0
    posts = model_server.posts()
    assert len(posts) > 1 and result["usage"]["requests"] == len(posts)
    for n in range(6):  # every line reached the model, in exactly one request
        assert sum(f"value_{n}_199 = 199" in p.text for p in posts) == 1
    system_messages = {p.body["messages"][0]["content"] for p in posts}
    assert len(system_messages) == 1  # a shared prefix, for DeepSeek's cache


def test_summary_flag_adds_a_walkthrough(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)

    summary = {"title": "Rename helper", "walkthrough": [{"path": "app.py", "summary": "Edits lines."}], "risks": ["None big."]}
    model_server.default = Reply(content=json.dumps({"findings": [], **summary}))
    code, result = run_json(capsys, "--summary", "--base-url", model_server.openai_url, "--model", "m")
    assert code == 0
    assert "### Rename helper" in result["summary"]
    assert "| `app.py` | Edits lines. |" in result["summary"]
    # One backend serves both tasks: one request reviews and describes, reading the diff once.
    [request] = model_server.posts()
    assert '"walkthrough"' in request.body["messages"][0]["content"] and '{"findings": [\n' in request.body["messages"][0]["content"]


def test_summary_apart_when_combining_is_off(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    repo.write(".reviewer.toml", "[review]\ncombine_summary = false\n")

    def answer(request: Recorded) -> Reply:
        if "walkthrough" in request.body["messages"][0]["content"]:
            return Reply(content=json.dumps({"title": "Rename helper", "walkthrough": [{"path": "app.py", "summary": "Edits lines."}], "risks": []}))
        return Reply()

    model_server.responder = answer
    code, result = run_json(capsys, "--summary", "--base-url", model_server.openai_url, "--model", "m")
    assert code == 0 and "### Rename helper" in result["summary"]
    assert len(model_server.posts()) == 2


def test_summarize_command(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.default = Reply(content=json.dumps({"title": "T", "walkthrough": [], "risks": ["Risky."]}))
    code = run(["summarize", "--base-url", model_server.openai_url, "--model", "m", "--format", "markdown"])
    out = capsys.readouterr().out
    assert code == 0
    assert "### T" in out and "- Risky." in out
    code = run(["summarize", "--base-url", model_server.openai_url, "--model", "m", "--format", "json"])
    parts = json.loads(capsys.readouterr().out)["summary_parts"]
    assert code == 0 and parts["title"] == "T" and parts["risks"] == ["Risky."]
    assert "No findings" not in out


# Errors a user can act on: one message, no traceback, the right exit code.


def test_not_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["local"]) == 2
    err = capsys.readouterr().err
    assert "is not inside a git repository" in err and "Traceback" not in err


def test_no_base_branch(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.git("branch", "-m", "work")
    assert run(["local", "--dry-run"]) == 2
    assert "no base branch found" in capsys.readouterr().err


def test_unknown_base(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    assert run(["local", "--base", "nope"]) == 2
    assert "--base 'nope' is not a branch" in capsys.readouterr().err


def test_no_changes(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    code = run(["local", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0
    assert "nothing to review" in captured.err
    assert json.loads(captured.out)["findings"] == []


def test_missing_key_names_the_variable(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    assert run(["local"]) == 2
    err = capsys.readouterr().err
    assert "DEEPSEEK_API_KEY" in err and "--base-url" in err


def test_unreachable_endpoint(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    repo.trust()
    repo.write(".reviewer.toml", '[backends.box]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nmax_retries = 0\n[routes]\nreview = "box"\n')
    code, result = run_json(capsys)
    assert code == 3
    assert any("cannot reach http://127.0.0.1:9/v1" in e for e in result["errors"])
    assert any(s["reason"].startswith("not reviewed:") for s in result["skipped"])


def test_rejected_key(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.default = Reply(status=401, error="Authentication Fails")
    code, result = run_json(capsys, "--base-url", model_server.openai_url, "--model", "m")
    assert code == 3
    assert any("rejected the API key (401)" in e for e in result["errors"])
    assert len(model_server.posts()) == 1  # not retried


def test_model_answers_nothing_usable(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.default = Reply(content="I think the code is fine.")
    code, result = run_json(capsys, "--base-url", model_server.openai_url, "--model", "m")
    assert code == 3
    assert any("answered nothing usable twice" in e for e in result["errors"])
    assert len(model_server.posts()) == 2


def test_blank_answers_are_billed_and_counted(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    model_server.default = Reply(content="", reasoning="long thinking that ended in nothing")
    code, result = run_json(capsys, "--base-url", model_server.openai_url, "--model", "m")
    assert code == 3
    assert len(model_server.posts()) == 4  # max_retries 3: four tries
    assert result["usage"]["requests"] == 4
    assert result["usage"]["reasoning_tokens"] > 0


def test_file_names_that_are_not_utf8(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    repo.write("a.py", "x = 1\n")
    repo.commit()
    tracked = os.fsdecode(b"caf\xe9.py")
    (repo.root / tracked).write_text("y = 1\n")
    repo.git("add", "-A")
    repo.commit()
    (repo.root / tracked).write_text("y = 2\n")
    (repo.root / os.fsdecode(b"new\xff.py")).write_text("z = 1\n")
    assert run(["local", "--dry-run", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["requests"][0]["paths"] == ["caf\\xe9.py"]
    assert {s["path"] for s in plan["skipped"]} == {"new\\xff.py"}


def test_the_cost_limit_holds_across_a_fallback(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The primary fails; the fallback is priced too high for what is left: it is not sent."""
    feature_branch(repo)
    repo.trust()
    repo.write(
        ".reviewer.toml",
        f'[routes]\nreview = ["gpu", "paid"]\n\n[review]\nmax_cost_usd = 0.01\n\n'
        f'[backends.gpu]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\nmax_retries = 0\n\n'
        f'[backends.paid]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\nself_hosted = false\n'
        "price_input = 100.0\nprice_output = 100.0\n",
    )
    model_server.queue(Reply(status=500, error="gpu down"))
    code, result = run_json(capsys)
    assert code == 3
    assert len(model_server.posts()) == 1  # only the failed primary
    assert result["cost_usd"] <= 0.01
    assert any("of the max_cost_usd limit of $0.0100 is spent or committed already" in e and "is estimated at $" in e for e in result["errors"])


def test_an_unpriced_backend_under_a_cost_limit_is_said(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    repo.trust()
    repo.write(
        ".reviewer.toml",
        f'[routes]\nreview = "proxy"\n\n[review]\nmax_cost_usd = 1.0\n\n'
        f'[backends.proxy]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\nself_hosted = false\n',
    )
    code, result = run_json(capsys)
    assert code == 0
    assert any("max_cost_usd cannot limit backend 'proxy'" in n for n in result["notes"])


def test_bad_config_names_file_and_key(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    repo.write(".reviewer.toml", "[review]\nfail_onn = 'major'\n")
    assert run(["local", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert ".reviewer.toml: unknown key 'review.fail_onn'; did you mean 'fail_on'?" in err


def test_base_url_without_model(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    feature_branch(repo)
    assert run(["local", "--base-url", "http://127.0.0.1:1/v1"]) == 2
    assert "--base-url needs --model" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summarize", "--no-post"], "--no-post apply to a pull request"),
        (["summarize", "--repo", "acme/app", "--number", "1", "--staged"], "--staged choose a local change"),
    ],
)
def test_summarize_refuses_options_that_would_do_nothing(repo: GitRepo, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args) == 2
    assert message in capsys.readouterr().err
