"""The Anthropic Messages API, which Claude Code speaks: DeepSeek's Anthropic endpoint, Anthropic, compatible proxies."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlparse

from reviewer.backends.base import Completion
from reviewer.backends.http_failures import first_nonblank, sdk_client, sdk_failures
from reviewer.config import BackendConfig
from reviewer.errors import ConfigError
from reviewer.vocabulary import Message, Usage

EFFORTS = frozenset({"none", "high", "max"})
# Anthropic's own API thinks within a token budget; DeepSeek ignores budgets and reads output_config.effort.
THINKING_BUDGETS: dict[str, int] = {"high": 16000, "max": 32000}
ANSWER_ROOM = 8192  # output tokens kept for the answer on top of a thinking budget
# DeepSeek's Anthropic endpoint refuses (400) a model name that is neither its own nor a `claude*` alias.
_DEEPSEEK_NAMES = ("deepseek-", "claude")


def dialect_of(config: BackendConfig) -> str:
    if config.dialect in ("deepseek", "anthropic"):
        return config.dialect
    if config.dialect != "auto":
        raise ConfigError(
            f"backends.{config.name}.dialect = {config.dialect!r} is an OpenAI-format dialect; "
            "an anthropic backend takes \"deepseek\", \"anthropic\" or \"auto\""
        )
    return "deepseek" if config.is_deepseek else "anthropic"


def effort_fields(dialect: str, effort: str, max_tokens: int) -> dict[str, Any]:
    """The request fields that ask `dialect` for `effort` (max_tokens included: a budget needs room)."""
    if dialect == "deepseek":
        if effort == "none":
            # Thinking is on by default at DeepSeek: off has to be said.
            return {"thinking": {"type": "disabled"}, "max_tokens": max_tokens}
        return {"thinking": {"type": "enabled"}, "output_config": {"effort": effort}, "max_tokens": max_tokens}
    if effort == "none":
        return {"thinking": {"type": "disabled"}, "max_tokens": max_tokens}
    budget = THINKING_BUDGETS[effort]
    return {"thinking": {"type": "enabled", "budget_tokens": budget}, "max_tokens": max(max_tokens, budget + ANSWER_ROOM)}


def endpoint(config: BackendConfig) -> str:
    """DeepSeek serves the Anthropic format under /anthropic; the default base_url is its OpenAI one."""
    url = config.base_url.rstrip("/")
    if config.is_deepseek and not urlparse(url).path.endswith("/anthropic"):
        return url + "/anthropic"
    return url


def check_deepseek_model(config: BackendConfig) -> None:
    """Refuse before sending what DeepSeek's Anthropic endpoint would answer with a 400."""
    if not config.model.lower().startswith(_DEEPSEEK_NAMES):
        raise ConfigError(
            f"backends.{config.name}.model = {config.model!r}: DeepSeek's Anthropic endpoint refuses model names "
            "that are neither DeepSeek's (deepseek-v4-pro, deepseek-flash) nor claude-* aliases "
            "(claude-opus* is billed as V4-Pro, claude-sonnet*/claude-haiku* as Flash)"
        )


class AnthropicCompatible:
    protocol: ClassVar[str] = "anthropic"
    needs_workdir: ClassVar[bool] = False
    shows_reasoning = True

    def __init__(self, config: BackendConfig, environ: Mapping[str, str]) -> None:
        self.dialect = dialect_of(config)
        self.config = dataclasses.replace(config, base_url=endpoint(config))
        self.efforts = EFFORTS
        self.streams = config.stream
        if self.dialect == "deepseek":
            check_deepseek_model(config)
        self._key = config.require_key(environ)
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            import anthropic

            self._client = sdk_client(anthropic, "Anthropic", self.config, self._key)
        return self._client

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Completion:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages if m.role != "system"],
            **effort_fields(self.dialect, self.config.effort, max_tokens or self.config.max_tokens),
        }
        if system:
            request["system"] = system
        # output_config is sent as raw JSON so that SDK versions without the parameter still send it.
        extra = {"output_config": request.pop("output_config")} if "output_config" in request else None
        if extra:
            request["extra_body"] = extra
        return first_nonblank(lambda: self._send(request), self.config)

    def _send(self, request: dict[str, Any]) -> Completion:
        import anthropic

        client = self._get_client()
        with sdk_failures(anthropic, self.config):
            if self.streams:
                return self._from_stream(client.messages.create(**request, stream=True))
            return self._from_response(client.messages.create(**request))

    def _from_response(self, response: Any) -> Completion:
        text = "".join(b.text for b in response.content if b.type == "text")
        thinking = "".join(b.thinking for b in response.content if b.type == "thinking")
        return Completion(text, thinking, _usage_of(response.usage), response.model or self.config.model, response.stop_reason)

    def _from_stream(self, events: Any) -> Completion:
        text: list[str] = []
        thinking: list[str] = []
        start_usage: Any = None
        output_tokens = 0
        model = self.config.model
        stop = None
        for event in events:
            if event.type == "message_start":
                start_usage = event.message.usage
                model = event.message.model or model
            elif event.type == "content_block_delta":
                if event.delta.type == "text_delta":
                    text.append(event.delta.text)
                elif event.delta.type == "thinking_delta":
                    thinking.append(event.delta.thinking)
            elif event.type == "message_delta":
                output_tokens = event.usage.output_tokens or output_tokens
                stop = event.delta.stop_reason or stop
        usage = _usage_of(start_usage, output_tokens)
        return Completion("".join(text), "".join(thinking), usage, model, stop)


def _usage_of(usage: Any, output_tokens: int | None = None) -> Usage:
    """Anthropic counts cache reads apart from input; we count them inside the prompt, as DeepSeek bills them.

    The Messages API does not report thinking tokens apart from output tokens, so reasoning_tokens stays 0.
    """
    if usage is None:
        return Usage(requests=1)
    cached = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    return Usage(
        requests=1,
        prompt_tokens=(usage.input_tokens or 0) + cached + written,
        cached_prompt_tokens=cached,
        completion_tokens=output_tokens if output_tokens is not None else (usage.output_tokens or 0),
    )
