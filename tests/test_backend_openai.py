"""The OpenAI-compatible backend, driven through the real openai client against the loopback server."""

from __future__ import annotations

import pytest

from reviewer.backends.openai_compatible import OpenAICompatible, effort_fields
from reviewer.config import BackendConfig
from reviewer.errors import BackendError, ConfigError
from reviewer.vocabulary import Message
from tests.model_server import ModelServer, Reply

MESSAGES = (Message("system", "you review code"), Message("user", "the diff"))


def backend(server: ModelServer, **overrides: object) -> OpenAICompatible:
    settings: dict[str, object] = {"name": "test", "base_url": server.openai_url, "model": "deepseek-v4-pro", "dialect": "deepseek", "max_retries": 1}
    settings.update(overrides)
    return OpenAICompatible(BackendConfig(**settings), {})  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [True, False])
def test_answer_reasoning_and_usage_are_kept_apart(model_server: ModelServer, stream: bool) -> None:
    model_server.queue(Reply(content='{"findings": []}', reasoning="the decoy {\"findings\": [1]}", cached_tokens=3))
    completion = backend(model_server, stream=stream).complete(MESSAGES)
    assert completion.text == '{"findings": []}'
    assert completion.reasoning == 'the decoy {"findings": [1]}'
    assert completion.usage.requests == 1
    assert completion.usage.cached_prompt_tokens == 3
    assert completion.usage.prompt_tokens > 3
    assert completion.usage.reasoning_tokens > 0
    assert completion.usage.completion_tokens > completion.usage.reasoning_tokens
    body = model_server.posts()[0].body
    assert body["model"] == "deepseek-v4-pro"
    assert body["messages"] == [{"role": "system", "content": "you review code"}, {"role": "user", "content": "the diff"}]
    assert body.get("stream", False) is stream


@pytest.mark.parametrize("stream", [True, False])
def test_vllm_reasoning_field_is_read(model_server: ModelServer, stream: bool) -> None:
    model_server.queue(Reply(reasoning="thinking here", reasoning_field="reasoning"))
    completion = backend(model_server, stream=stream, dialect="vllm").complete(MESSAGES)
    assert completion.reasoning == "thinking here"


@pytest.mark.parametrize(
    ("dialect", "effort", "expected"),
    [
        ("deepseek", "high", {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}),
        ("deepseek", "max", {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}),
        ("deepseek", "none", {"thinking": {"type": "disabled"}}),
        ("vllm", "high", {"chat_template_kwargs": {"thinking": True, "reasoning_effort": "high"}}),
        ("vllm", "max", {"chat_template_kwargs": {"thinking": True, "reasoning_effort": "max"}}),
        ("vllm", "none", {"chat_template_kwargs": {"thinking": False}}),
        ("sglang", "high", {"chat_template_kwargs": {"thinking": True, "reasoning_effort": "high"}}),
        ("sglang", "none", {"chat_template_kwargs": {"thinking": False}}),
        ("ollama", "max", {"reasoning_effort": "high"}),  # not honoured: Ollama has no max (effort_gap says so)
        ("ollama", "none", {"reasoning_effort": "none"}),
        ("ollama", "high", {"reasoning_effort": "high"}),
    ],
)
def test_effort_fields_sent_on_the_wire(model_server: ModelServer, dialect: str, effort: str, expected: dict[str, object]) -> None:
    backend(model_server, dialect=dialect, effort=effort).complete(MESSAGES)
    body = model_server.posts()[0].body
    for key, value in expected.items():
        assert body[key] == value
    effort_keys = {"thinking", "reasoning_effort", "chat_template_kwargs"}
    assert effort_keys & set(body) == set(expected)


def test_deepseek_never_sends_reasoning_effort_none() -> None:
    kwargs, extra = effort_fields("deepseek", "none")
    assert "reasoning_effort" not in kwargs and extra == {"thinking": {"type": "disabled"}}


def test_blank_answer_is_retried(model_server: ModelServer) -> None:
    model_server.queue(Reply(content="   "), Reply(content='{"findings": []}'))
    completion = backend(model_server).complete(MESSAGES)
    assert completion.text == '{"findings": []}'
    assert len(model_server.posts()) == 2


def test_blank_answers_every_time_fail_clearly(model_server: ModelServer) -> None:
    model_server.default = Reply(content="")
    with pytest.raises(BackendError, match="answered with no text 2 times"):
        backend(model_server).complete(MESSAGES)


def test_server_errors_are_retried_then_answered(model_server: ModelServer) -> None:
    model_server.queue(Reply(status=503, headers={"Retry-After": "0"}), Reply(status=429, headers={"Retry-After": "0"}))
    completion = backend(model_server, max_retries=2).complete(MESSAGES)
    assert completion.text == '{"findings": []}'
    assert len(model_server.posts()) == 3


@pytest.mark.parametrize(("status", "message"), [(401, "rejected the API key"), (402, "insufficient balance")])
def test_auth_and_balance_fail_at_once(model_server: ModelServer, status: int, message: str) -> None:
    model_server.default = Reply(status=status)
    with pytest.raises(BackendError, match=message) as raised:
        backend(model_server, max_retries=3).complete(MESSAGES)
    assert raised.value.retryable is False
    assert len(model_server.posts()) == 1


def test_unreachable_endpoint_names_the_url() -> None:
    config = BackendConfig(name="gpu", base_url="http://127.0.0.1:9/v1", model="m", max_retries=0)
    with pytest.raises(BackendError, match=r"cannot reach http://127.0.0.1:9/v1"):
        OpenAICompatible(config, {}).complete(MESSAGES)


def test_missing_key_names_the_variable() -> None:
    config = BackendConfig(name="deepseek-pro", api_key_env="DEEPSEEK_API_KEY")
    with pytest.raises(ConfigError, match="DEEPSEEK_API_KEY.*--base-url"):
        OpenAICompatible(config, {})


def test_key_is_sent_as_bearer(model_server: ModelServer) -> None:
    config = BackendConfig(name="k", base_url=model_server.openai_url, model="m", api_key_env="MY_KEY", self_hosted=False)
    OpenAICompatible(config, {"MY_KEY": "sk-secret"}).complete(MESSAGES)
    assert model_server.posts()[0].headers["authorization"] == "Bearer sk-secret"


@pytest.mark.parametrize("stream", [True, False])
def test_thinking_left_in_the_answer_is_moved_to_reasoning(model_server: ModelServer, stream: bool) -> None:
    """A server started without a reasoning parser answers <think>…</think> in the content."""
    decoy = '{"findings": [{"path": "decoy.py", "line": 1, "title": "considered and rejected"}]}'
    model_server.queue(Reply(content=f"<think>Maybe {decoy}? No.</think>\n{{\"findings\": []}}"))
    completion = backend(model_server, stream=stream, dialect="vllm").complete(MESSAGES)
    assert completion.text.strip() == '{"findings": []}'
    assert "decoy.py" in completion.reasoning


def test_requests_in_flight_together_share_one_client(model_server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight requests starting at once make one SDK client (one TLS context, one connection pool), not eight."""
    import threading
    import time

    import openai

    made: list[object] = []

    class SlowToMake(openai.OpenAI):  # the first import of the SDK takes ~0.3 s: a wide window for a race
        def __init__(self, **kwargs: object) -> None:
            time.sleep(0.05)
            super().__init__(**kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(openai, "OpenAI", SlowToMake)
    for _ in range(8):
        model_server.queue(Reply(content='{"findings": []}'))
    shared = backend(model_server)
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        shared.complete(MESSAGES)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(model_server.posts()) == 8
    assert len(made) == 1


def test_an_error_event_mid_answer_is_a_backend_error(model_server: ModelServer) -> None:
    model_server.queue(Reply(reasoning="thinking a while", stream_error="the server is overloaded"))
    with pytest.raises(BackendError, match="failed mid-answer: the server is overloaded"):
        backend(model_server).complete(MESSAGES)


def test_stream_events_are_read_as_the_sse_format_says() -> None:
    """Data lines of one event are joined; comments, other fields and blank lines say nothing; [DONE] ends it."""
    from reviewer.backends.server_json import events

    config = BackendConfig(name="b", base_url="http://127.0.0.1:9/v1", model="m")
    lines = [": keep-alive", "", "event: message", 'data: {"a":', "data: 1}", "", "id: 7", 'data: {"b": 2}', "", "data: [DONE]", "", 'data: {"c": 3}', ""]
    assert list(events(lines, config)) == [{"a": 1}, {"b": 2}]
    with pytest.raises(BackendError, match="not JSON"):
        list(events(["data: {oops", ""], config))


def test_answer_fields_of_the_wrong_type_are_ignored_not_a_traceback() -> None:
    """The server's JSON is read defensively: odd types count as absent."""
    from reviewer.backends.openai_compatible import _usage_of

    usage = _usage_of({"prompt_tokens": "many", "completion_tokens": 12, "prompt_cache_hit_tokens": True, "completion_tokens_details": []})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens, usage.reasoning_tokens) == (0, 12, 0, 0)
