"""OpenAI chat completions: DeepSeek's API, vLLM, SGLang, Ollama, llama.cpp and the like."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from reviewer.backends.base import Completion
from reviewer.backends.http_failures import SdkClient, first_nonblank, sdk_failures
from reviewer.config import BackendConfig
from reviewer.errors import ConfigError
from reviewer.vocabulary import Message, Usage

if TYPE_CHECKING:
    from reviewer.backends.tools import ToolBox, ToolCall, Turn

# Which effort levels each server dialect can be asked for explicitly.
DIALECT_EFFORTS: dict[str, frozenset[str]] = {
    "deepseek": frozenset({"none", "high", "max"}),
    "vllm": frozenset({"none", "high", "max"}),
    "sglang": frozenset({"none", "high", "max"}),
    "ollama": frozenset({"none", "high"}),
    "openai": frozenset({"none", "high"}),
}


def dialect_of(config: BackendConfig) -> str:
    if config.dialect == "anthropic":
        raise ConfigError(
            f"backends.{config.name}.dialect = \"anthropic\" is the Anthropic format: use protocol = \"anthropic\""
        )
    if config.dialect != "auto":
        return config.dialect
    return "deepseek" if config.is_deepseek else "vllm"


def effort_fields(dialect: str, effort: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (keyword arguments, extra_body) that ask `dialect` for `effort`.

    Sent on every request, since servers disagree on what an omitted field
    means: DeepSeek and current vLLM think by default, older vLLM did not.
    """
    thinking = effort != "none"
    if dialect == "deepseek":
        # DeepSeek turns thinking off with `thinking.type`, never with reasoning_effort "none".
        kwargs = {"reasoning_effort": effort} if thinking else {}
        return kwargs, {"thinking": {"type": "enabled" if thinking else "disabled"}}
    if dialect in ("vllm", "sglang"):
        template: dict[str, Any] = {"thinking": thinking}
        if thinking:
            template["reasoning_effort"] = effort
        return {}, {"chat_template_kwargs": template}
    # Ollama's /v1 and OpenAI take the top-level field, with "none" meaning off.
    level = effort if effort in DIALECT_EFFORTS[dialect] else "high"
    return {"reasoning_effort": level}, {}


class OpenAICompatible:
    protocol: ClassVar[str] = "openai"
    needs_workdir: ClassVar[bool] = False
    uses_tools: ClassVar[bool] = True
    shows_reasoning = True

    def __init__(self, config: BackendConfig, environ: Mapping[str, str]) -> None:
        self.config = config
        self.dialect = dialect_of(config)
        self.efforts = DIALECT_EFFORTS[self.dialect]
        self.streams = config.stream
        self._key = config.require_key(environ)
        self._client = SdkClient("openai", "OpenAI", config, self._key)

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None, tools: ToolBox | None = None) -> Completion:
        request = self._request([{"role": m.role, "content": m.content} for m in messages], max_tokens)
        if tools is not None:
            from reviewer.backends.tools import converse

            return converse(_Conversation(self, request), request["messages"], tools, self.config.name)
        return first_nonblank(lambda: self._send(request)[0], self.config)

    def _request(self, messages: list[dict[str, Any]], max_tokens: int | None) -> dict[str, Any]:
        kwargs, extra_body = effort_fields(self.dialect, self.config.effort)
        request: dict[str, Any] = {"model": self.config.model, "messages": messages, "max_tokens": max_tokens or self.config.max_tokens, **kwargs}
        if extra_body:
            request["extra_body"] = extra_body
        return request

    def _send(self, request: dict[str, Any]) -> tuple[Completion, tuple[ToolCall, ...]]:
        import openai

        client = self._client.get()
        with sdk_failures(openai, self.config):
            if self.streams:
                stream = client.chat.completions.create(
                    **request, stream=True, stream_options={"include_usage": True}
                )
                return self._from_stream(stream)
            return self._from_response(client.chat.completions.create(**request))

    def _from_response(self, response: Any) -> tuple[Completion, tuple[ToolCall, ...]]:
        from reviewer.backends.tools import ToolCall

        choice = response.choices[0] if response.choices else None
        message = choice.message if choice else None
        text, inline = _split_thinking((message.content or "") if message else "")
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "") for c in (getattr(message, "tool_calls", None) or ())
        )
        completion = Completion(
            text=text,
            reasoning=(_reasoning_of(message) if message else "") + inline,
            usage=_usage_of(response.usage),
            model=response.model or self.config.model,
            finish_reason=choice.finish_reason if choice else None,
        )
        return completion, calls

    def _from_stream(self, stream: Any) -> tuple[Completion, tuple[ToolCall, ...]]:
        from reviewer.backends.tools import ToolCall

        text: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]: a call arrives in pieces
        usage = Usage(requests=1)
        model = self.config.model
        finish = None
        for chunk in stream:
            model = chunk.model or model
            if chunk.usage:
                usage = _usage_of(chunk.usage)
            for choice in chunk.choices or ():
                delta = choice.delta
                if delta is not None:
                    text.append(delta.content or "")
                    reasoning.append(_reasoning_of(delta))
                    for piece in getattr(delta, "tool_calls", None) or ():
                        call = calls.setdefault(piece.index, ["", "", ""])
                        call[0] = piece.id or call[0]
                        if piece.function is not None:
                            call[1] = piece.function.name or call[1]
                            call[2] += piece.function.arguments or ""
                finish = choice.finish_reason or finish
        answer, inline = _split_thinking("".join(text))
        found = tuple(ToolCall(*calls[i]) for i in sorted(calls))
        return Completion(answer, "".join(reasoning) + inline, usage, model, finish), found


class _Conversation:
    """One review request with tools, in chat-completions messages.

    An assistant turn that calls tools goes back with its reasoning as `reasoning_content`:
    DeepSeek's thinking mode answers 400 when it is missing from a later request.
    """

    def __init__(self, backend: OpenAICompatible, request: dict[str, Any]) -> None:
        from reviewer.backends.tools import SPECS

        self._backend = backend
        self._request = request
        self._tools = [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}} for t in SPECS]

    def send(self, messages: Sequence[Mapping[str, Any]]) -> Turn:
        from reviewer.backends.tools import Turn

        completion, calls = self._backend._send({**self._request, "messages": list(messages), "tools": self._tools})
        assistant: dict[str, Any] = {
            "role": "assistant",
            "content": completion.text or None,
            "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls],
        }
        if completion.reasoning and self._backend.dialect != "openai":
            assistant["reasoning_content"] = completion.reasoning
        return Turn(completion, calls, assistant)

    def results(self, calls: Sequence[ToolCall], outputs: Sequence[str]) -> list[Mapping[str, Any]]:
        return [{"role": "tool", "tool_call_id": c.id, "content": out} for c, out in zip(calls, outputs, strict=True)]


_INLINE_THINKING = re.compile(r"\A\s*<(think|thinking)>(.*?)(?:</\1>|\Z)", re.DOTALL)


def _split_thinking(content: str) -> tuple[str, str]:
    """(answer, reasoning) from content that starts with <think>…</think>.

    A server without a reasoning parser (vLLM, SGLang, llama.cpp started
    without one) leaves the thinking in the answer: it must never be parsed
    for findings. An unclosed block is all thinking (the answer was cut off).
    """
    match = _INLINE_THINKING.match(content)
    if match is None:
        return content, ""
    return content[match.end() :], match.group(2)


def _reasoning_of(message: Any) -> str:
    """Reasoning under any of the names servers use: DeepSeek and SGLang, vLLM and Ollama."""
    extra = getattr(message, "model_extra", None) or {}
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key) or getattr(message, key, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _usage_of(usage: Any) -> Usage:
    if usage is None:
        return Usage(requests=1)
    extra = getattr(usage, "model_extra", None) or {}
    cached = extra.get("prompt_cache_hit_tokens")
    if cached is None:
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) or 0
    completion_details = getattr(usage, "completion_tokens_details", None)
    reasoning = getattr(completion_details, "reasoning_tokens", None) or 0
    return Usage(
        requests=1,
        prompt_tokens=usage.prompt_tokens or 0,
        cached_prompt_tokens=int(cached),
        completion_tokens=usage.completion_tokens or 0,
        reasoning_tokens=int(reasoning),
    )
