"""`reviewer backends check` against the loopback server: one tiny request per backend, and what it shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply


def config(server: ModelServer) -> str:
    return f"""
[routes]
review = ["ds-think", "gpu"]
summarize = "flash-anthropic"

[backends.ds-think]
base_url = "{server.openai_url}"
model = "deepseek-v4-pro"
dialect = "deepseek"
effort = "high"

[backends.flash-anthropic]
protocol = "anthropic"
base_url = "{server.anthropic_url}"
model = "deepseek-flash"
dialect = "deepseek"
effort = "none"

[backends.gpu]
base_url = "{server.openai_url}"
model = "qwen3"
dialect = "ollama"
effort = "max"
"""


def thinking_by_model(request: Any) -> Reply:
    # The Pro model thinks; the others answer without reasoning.
    return Reply(content="OK", reasoning="Let me think." if request.body.get("model") == "deepseek-v4-pro" else "")


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code = run(["backends", "check", "--format", "json", *args])
    out = json.loads(capsys.readouterr().out)
    return code, {b["name"]: b for b in out["backends"]}


def test_each_configured_backend_gets_one_tiny_request(model_server: ModelServer, repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", config(model_server))
    model_server.responder = thinking_by_model
    code, results = check(capsys)
    assert list(results) == ["ds-think", "gpu", "flash-anthropic"]  # built-in backends nothing uses are not checked
    assert code == 0
    pro, gpu, flash = results["ds-think"], results["gpu"], results["flash-anthropic"]
    assert pro["ok"] and pro["model"] == "deepseek-v4-pro" and pro["seconds"] > 0
    assert pro["reasoning_as_asked"] is True and "reasoning came back" in pro["reasoning"]
    assert flash["ok"] and flash["reasoning_as_asked"] is True and "as effort none asks" in flash["reasoning"]
    assert "cannot honour effort 'max'" in gpu["effort_gap"]
    assert pro["effort_gap"] is None and flash["effort_gap"] is None
    bodies = {r.body["model"]: r.body for r in model_server.posts()}
    assert len(model_server.posts()) == 3
    assert bodies["deepseek-v4-pro"]["thinking"] == {"type": "enabled"} and bodies["deepseek-v4-pro"]["reasoning_effort"] == "high"
    assert bodies["deepseek-flash"]["thinking"] == {"type": "disabled"}
    assert bodies["qwen3"]["reasoning_effort"] == "high"
    assert all(b["max_tokens"] <= 2048 for b in bodies.values())


def test_missing_reasoning_at_a_thinking_effort_is_flagged(model_server: ModelServer, repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", config(model_server))
    model_server.default = Reply(content="OK")  # no reasoning from anyone
    code = run(["backends", "check", "--backend", "ds-think"])
    out = capsys.readouterr().out
    assert "ds-think (openai, deepseek-v4-pro, effort high): ok" in out
    assert "no reasoning came back although effort high was asked (!)" in out
    assert code == 0


def test_failures_are_reported_per_backend(model_server: ModelServer, repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(
        ".reviewer.toml",
        config(model_server)
        + '\n[backends.down]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nmax_retries = 0\n'
        + f'\n[backends.bad-key]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\nself_hosted = false\nmax_retries = 0\n',
    )
    model_server.responder = lambda r: Reply(status=401, error="invalid key") if r.body["model"] == "m" else Reply(content="OK")
    code, results = check(capsys, "--backend", "down", "--backend", "bad-key", "--backend", "gpu")
    assert "cannot reach http://127.0.0.1:9/v1" in results["down"]["error"]
    assert "rejected the API key (401)" in results["bad-key"]["error"]
    assert results["gpu"]["ok"]
    assert code == 3


def test_a_missing_key_is_a_configuration_error_naming_the_variable(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", '[backends.hosted]\nbase_url = "https://llm.example.com/v1"\nmodel = "m"\napi_key_env = "HOSTED_KEY"\n')
    code, results = check(capsys, "--backend", "hosted")
    assert "set the environment variable HOSTED_KEY" in results["hosted"]["error"]
    assert code == 2
