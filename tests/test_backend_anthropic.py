"""The Anthropic Messages backend, driven through the real anthropic client against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.backends.anthropic_compatible import AnthropicCompatible, endpoint
from reviewer.config import DEEPSEEK_URL, BackendConfig
from reviewer.errors import BackendError, ConfigError
from reviewer.vocabulary import Message
from tests.model_server import ModelServer, Reply

MESSAGES = (Message("system", "you review code"), Message("user", "the diff"))


def backend(server: ModelServer, **overrides: object) -> AnthropicCompatible:
    settings: dict[str, object] = {
        "name": "test",
        "protocol": "anthropic",
        "base_url": server.anthropic_url,
        "model": "deepseek-v4-pro",
        "dialect": "deepseek",
        "max_retries": 1,
    }
    settings.update(overrides)
    return AnthropicCompatible(BackendConfig(**settings), {})  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [True, False])
def test_thinking_blocks_are_kept_apart_from_the_answer(model_server: ModelServer, stream: bool) -> None:
    model_server.queue(Reply(content='{"findings": []}', reasoning='decoy {"findings": [1]}', cached_tokens=5))
    completion = backend(model_server, stream=stream).complete(MESSAGES)
    assert completion.text == '{"findings": []}'
    assert completion.reasoning == 'decoy {"findings": [1]}'
    assert completion.model == "deepseek-v4-pro"
    assert completion.finish_reason == "end_turn"
    assert completion.usage.requests == 1
    assert completion.usage.cached_prompt_tokens == 5
    assert completion.usage.prompt_tokens > 5  # input plus cache reads
    assert completion.usage.completion_tokens > 0
    request = model_server.posts()[0]
    assert request.path.split("?")[0] == "/anthropic/v1/messages"
    assert request.body["system"] == "you review code"
    assert request.body["messages"] == [{"role": "user", "content": "the diff"}]
    assert request.body.get("stream", False) is stream


@pytest.mark.parametrize(
    ("dialect", "effort", "expected"),
    [
        ("deepseek", "high", {"thinking": {"type": "enabled"}, "output_config": {"effort": "high"}, "max_tokens": 32000}),
        ("deepseek", "max", {"thinking": {"type": "enabled"}, "output_config": {"effort": "max"}, "max_tokens": 32000}),
        ("deepseek", "none", {"thinking": {"type": "disabled"}, "max_tokens": 32000}),
        ("anthropic", "high", {"thinking": {"type": "enabled", "budget_tokens": 16000}, "max_tokens": 32000}),
        ("anthropic", "max", {"thinking": {"type": "enabled", "budget_tokens": 32000}, "max_tokens": 40192}),
        ("anthropic", "none", {"thinking": {"type": "disabled"}, "max_tokens": 32000}),
    ],
)
def test_effort_fields_sent_on_the_wire(model_server: ModelServer, dialect: str, effort: str, expected: dict[str, object]) -> None:
    model = "deepseek-v4-pro" if dialect == "deepseek" else "claude-opus-4-9"
    backend(model_server, dialect=dialect, effort=effort, model=model).complete(MESSAGES)
    body = model_server.posts()[0].body
    assert {k: body[k] for k in ("thinking", "output_config", "max_tokens") if k in body} == expected


def test_configured_key_is_sent_and_the_process_environment_is_not_read(
    model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-the-process")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-from-the-process")
    config = BackendConfig(
        name="k", protocol="anthropic", base_url=model_server.anthropic_url, model="claude-opus-4-9",
        api_key_env="MY_KEY", self_hosted=False,
    )
    AnthropicCompatible(config, {"MY_KEY": "sk-secret"}).complete(MESSAGES)
    headers = model_server.posts()[0].headers
    # anthropic 2.x sends a static key as a bearer token (older versions used x-api-key); DeepSeek takes both.
    assert headers.get("x-api-key") == "sk-secret" or headers.get("authorization") == "Bearer sk-secret"
    assert not any("from-the-process" in value for value in headers.values())


def test_unknown_model_name_is_refused_before_deepseek_would_answer_400() -> None:
    # Refused while building the backend: nothing is ever sent to DeepSeek.
    config = BackendConfig(name="ds", protocol="anthropic", base_url=f"{DEEPSEEK_URL}/anthropic", model="gpt-4o")
    with pytest.raises(ConfigError, match="backends.ds.model = 'gpt-4o'.*claude-\\*"):
        AnthropicCompatible(config, {"DEEPSEEK_API_KEY": "k"})


def test_deepseek_base_url_gets_its_anthropic_path() -> None:
    assert endpoint(BackendConfig(base_url=DEEPSEEK_URL)) == f"{DEEPSEEK_URL}/anthropic"
    assert endpoint(BackendConfig(base_url=f"{DEEPSEEK_URL}/anthropic/")) == f"{DEEPSEEK_URL}/anthropic"
    assert endpoint(BackendConfig(base_url="http://127.0.0.1:9/anthropic")) == "http://127.0.0.1:9/anthropic"


def test_openai_dialect_on_an_anthropic_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dialect = 'vllm'"):
        AnthropicCompatible(BackendConfig(name="x", protocol="anthropic", dialect="vllm"), {})


def test_overloaded_is_retried_with_retry_after(model_server: ModelServer) -> None:
    model_server.queue(Reply(status=529, headers={"Retry-After": "0"}), Reply(status=500, headers={"Retry-After": "0"}))
    completion = backend(model_server, max_retries=2).complete(MESSAGES)
    assert completion.text == '{"findings": []}'
    assert len(model_server.posts()) == 3


def test_auth_failure_is_final_and_names_the_variable(model_server: ModelServer) -> None:
    model_server.default = Reply(status=401)
    with pytest.raises(BackendError, match="rejected the API key.*check DS_KEY") as raised:
        backend(model_server, api_key_env="DS_KEY", max_retries=3).complete(MESSAGES)
    assert raised.value.retryable is False
    assert len(model_server.posts()) == 1


def test_stalled_server_times_out_per_backend(model_server: ModelServer) -> None:
    model_server.default = Reply(delay=1.5)
    with pytest.raises(BackendError, match="did not answer within 0.3 s") as raised:
        backend(model_server, timeout_seconds=0.3, max_retries=0).complete(MESSAGES)
    assert raised.value.retryable is True


def test_an_error_event_mid_answer_is_a_backend_error(model_server: ModelServer) -> None:
    model_server.queue(Reply(reasoning="thinking a while", stream_error="Overloaded"))
    with pytest.raises(BackendError, match="failed mid-answer: Overloaded") as raised:
        backend(model_server, max_retries=0).complete(MESSAGES)
    assert raised.value.retryable  # as a 529 would be: another try or backend may help


def test_a_tool_call_whose_input_arrives_in_pieces_is_run_and_sent_back_whole(model_server: ModelServer, tmp_path: Path) -> None:
    """The input JSON comes as several input_json_delta pieces; the thinking block goes back with its signature."""
    from reviewer.backends.tools import ToolBox
    from reviewer.source_tree import SourceTree

    (tmp_path / "settings.py").write_text("DEBUG = True\nTIMEOUT_SECONDS = 0\n", encoding="utf-8")
    wanted = {"path": "settings.py", "start_line": 2}  # the last piece says which line: the tool saw it all
    model_server.queue(Reply(content="", reasoning="I need the timeout.", tool_call=("read_file", wanted)), Reply(content='{"findings": []}'))
    completion = backend(model_server).complete(MESSAGES, tools=ToolBox(SourceTree(tmp_path), rounds=4, tokens=100_000))

    assert len(json.dumps(wanted)) > 3 * model_server.piece  # so the input came in several pieces
    assert completion.text == '{"findings": []}'
    first, second = model_server.posts()
    assert first.body["stream"] is True
    [assistant, results] = second.body["messages"][1:]
    assert assistant["content"] == [
        {"type": "thinking", "thinking": "I need the timeout.", "signature": "sig"},
        {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": wanted},
    ]
    [result] = results["content"]
    assert result["tool_use_id"] == "toolu_1" and "2 | TIMEOUT_SECONDS = 0" in result["content"]
    assert "DEBUG" not in result["content"]


def test_answer_fields_of_the_wrong_type_count_as_absent(model_server: ModelServer) -> None:
    """The server's JSON is read defensively, streamed or not: odd types are ignored, not a traceback."""
    anthropic = backend(model_server)
    stream = [
        {"type": "message_start", "message": {"model": 7, "usage": {"input_tokens": "many", "cache_read_input_tokens": 4, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": None}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": ["not", "text"]}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "kept"}},
        {"type": "content_block_delta", "index": 0, "delta": "not a delta"},
        {"type": "content_block_start", "index": 1, "content_block": "not a block"},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": 3}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "answer"}},
        {"type": "message_delta", "delta": {"stop_reason": 5}, "usage": {"output_tokens": 12, "input_tokens": True}},
        {"type": "a_later_event", "index": "x"},
    ]
    completion, blocks = anthropic._from_events(stream)
    assert (completion.text, completion.reasoning, completion.model, completion.finish_reason) == ("answer", "kept", "deepseek-v4-pro", None)
    assert (completion.usage.prompt_tokens, completion.usage.cached_prompt_tokens, completion.usage.completion_tokens) == (4, 4, 12)
    assert [b["type"] for b in blocks] == ["thinking", "", "text"]

    body = {"model": None, "content": [{"type": "text", "text": 3}, "junk", {"type": "tool_use", "id": 1, "name": "grep", "input": []}], "usage": []}
    completion, blocks = anthropic._from_answer(body)
    assert (completion.text, completion.model, completion.usage.prompt_tokens) == ("", "deepseek-v4-pro", 0)
    assert blocks == [{"type": "text", "text": ""}, {"type": ""}, {"type": "tool_use", "id": "", "name": "grep", "input": {}}]
