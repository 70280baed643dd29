"""The Anthropic Messages API, which Claude Code speaks: DeepSeek's Anthropic endpoint, Anthropic, compatible proxies."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from reviewer.backends.base import Completion
from reviewer.backends.http_failures import SdkClient, first_nonblank, sdk_failures
from reviewer.backends.server_json import count, decoded, events, mapping, payload, sequence, string
from reviewer.config import BackendConfig
from reviewer.errors import ConfigError
from reviewer.vocabulary import Message, Usage

if TYPE_CHECKING:
    from reviewer.backends.tools import ToolBox, ToolCall, Turn

EFFORTS = frozenset({"none", "high", "max"})
# Anthropic's own API thinks within a token budget; DeepSeek ignores budgets and reads output_config.effort.
THINKING_BUDGETS: dict[str, int] = {"high": 16000, "max": 32000}
ANSWER_ROOM = 8192  # output tokens kept for the answer on top of a thinking budget
# DeepSeek's Anthropic endpoint refuses (400) a model name that is neither its own nor a `claude*` alias.
_DEEPSEEK_NAMES = ("deepseek-", "claude")
# The field each kind of delta adds to its block; a tool's input comes as pieces of JSON text.
_DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature", "input_json_delta": "partial_json"}


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
    uses_tools: ClassVar[bool] = True
    shows_reasoning = True

    def __init__(self, config: BackendConfig, environ: Mapping[str, str]) -> None:
        self.dialect = dialect_of(config)
        self.config = dataclasses.replace(config, base_url=endpoint(config))
        self.efforts = EFFORTS
        self.streams = config.stream
        if self.dialect == "deepseek":
            check_deepseek_model(config)
        self._key = config.require_key(environ)
        self._client = SdkClient("anthropic", "Anthropic", config, self._key)

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None, tools: ToolBox | None = None) -> Completion:
        request = self._request(messages, max_tokens)
        if tools is not None:
            from reviewer.backends.tools import converse

            return converse(_Conversation(self, request), request["messages"], tools, self.config.name)
        return first_nonblank(lambda: self._send(request)[0], self.config)

    def _request(self, messages: Sequence[Message], max_tokens: int | None) -> dict[str, Any]:
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
        return request

    def _send(self, request: dict[str, Any]) -> tuple[Completion, list[dict[str, Any]]]:
        import anthropic

        client = self._client.get()
        # The answer is read as JSON, not as the SDK's models (see server_json): thousands of events at effort high.
        with sdk_failures(anthropic, self.config):
            with client.messages.with_streaming_response.create(**request, **({"stream": True} if self.streams else {})) as response:
                if self.streams:
                    return self._from_events(events(response.iter_lines(), self.config))
                return self._from_answer(payload(response.text(), self.config))

    def _from_answer(self, body: Mapping[str, Any]) -> tuple[Completion, list[dict[str, Any]]]:
        blocks = [_block(mapping(b)) for b in sequence(body.get("content"))]
        model = string(body.get("model")) or self.config.model
        completion = Completion(_joined(blocks, "text"), _joined(blocks, "thinking"), _usage_of(body.get("usage")), model, string(body.get("stop_reason")) or None)
        return completion, blocks

    def _from_events(self, stream: Iterable[Mapping[str, Any]]) -> tuple[Completion, list[dict[str, Any]]]:
        blocks: dict[int, dict[str, Any]] = {}  # by index: the answer's content blocks, rebuilt from their deltas
        pieces: dict[tuple[int, str], list[str]] = {}  # (index, field): the deltas, joined once at the end
        usage: dict[str, Any] = {}
        model = self.config.model
        stop = None
        for event in stream:  # by the `type` each payload carries; ping and event types added later say nothing here
            kind = event.get("type")
            if kind == "content_block_delta":
                delta = mapping(event.get("delta"))
                field = _DELTA_FIELDS.get(string(delta.get("type")))
                if field:
                    pieces.setdefault((count(event.get("index")), field), []).append(string(delta.get(field)))
            elif kind == "content_block_start":
                blocks[count(event.get("index"))] = _block(mapping(event.get("content_block")))
            elif kind == "message_start":
                message = mapping(event.get("message"))
                usage = dict(mapping(message.get("usage")))
                model = string(message.get("model")) or model
            elif kind == "message_delta":
                # Its counts are cumulative: each one it gives replaces message_start's.
                usage.update((k, v) for k, v in mapping(event.get("usage")).items() if isinstance(v, int) and not isinstance(v, bool))
                stop = string(mapping(event.get("delta")).get("stop_reason")) or stop
        for (index, field), parts in pieces.items():
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            if field == "partial_json":
                block["input"] = _tool_input("".join(parts))
            else:
                block[field] = block.get(field, "") + "".join(parts)
        ordered = [blocks[i] for i in sorted(blocks)]
        return Completion(_joined(ordered, "text"), _joined(ordered, "thinking"), _usage_of(usage), model, stop), ordered


def _block(block: Mapping[str, Any]) -> dict[str, Any]:
    """A content block as plain data, the way it is sent back: thinking keeps its signature, tool_use its id and input."""
    kind = string(block.get("type"))
    if kind == "thinking":
        return {"type": "thinking", "thinking": string(block.get("thinking")), "signature": string(block.get("signature"))}
    if kind == "tool_use":
        return {"type": "tool_use", "id": string(block.get("id")), "name": string(block.get("name")), "input": dict(mapping(block.get("input")))}
    if kind == "text":
        return {"type": "text", "text": string(block.get("text"))}
    return {"type": kind}


def _tool_input(text: str) -> dict[str, Any]:
    """A tool's input from its JSON pieces; what is not a JSON object stays text in an object (the turn sent back
    must hold one), and the tool refuses it."""
    value = decoded(text or "{}")
    return dict(value) if isinstance(value, dict) else {"unparsed": text}


def _joined(blocks: list[dict[str, Any]], kind: str) -> str:
    return "".join(b.get(kind, "") for b in blocks if b["type"] == kind)


class _Conversation:
    """One review request with tools, in Messages API turns.

    The assistant turn goes back whole, its thinking blocks (with their signatures) included:
    Anthropic requires them with tool use, and DeepSeek's thinking mode needs the reasoning back.
    """

    def __init__(self, backend: AnthropicCompatible, request: dict[str, Any]) -> None:
        from reviewer.backends.tools import SPECS

        self._backend = backend
        self._request = request
        self._tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in SPECS]

    def send(self, messages: Sequence[Mapping[str, Any]]) -> Turn:
        from reviewer.backends.tools import ToolCall, Turn

        completion, blocks = self._backend._send({**self._request, "messages": list(messages), "tools": self._tools})
        calls = tuple(ToolCall(b["id"], b["name"], json.dumps(b["input"])) for b in blocks if b["type"] == "tool_use")
        sent_back = [b for b in blocks if b["type"] in ("thinking", "tool_use") or (b["type"] == "text" and b.get("text"))]
        return Turn(completion, calls, {"role": "assistant", "content": sent_back})

    def results(self, calls: Sequence[ToolCall], outputs: Sequence[str]) -> list[Mapping[str, Any]]:
        content = [{"type": "tool_result", "tool_use_id": c.id, "content": out} for c, out in zip(calls, outputs, strict=True)]
        return [{"role": "user", "content": content}]


def _usage_of(usage: Any) -> Usage:
    """Anthropic counts cache reads apart from input; we count them inside the prompt, as DeepSeek bills them.

    The Messages API does not report thinking tokens apart from output tokens, so reasoning_tokens stays 0.
    """
    usage = mapping(usage)
    cached = count(usage.get("cache_read_input_tokens"))
    written = count(usage.get("cache_creation_input_tokens"))
    return Usage(
        requests=1,
        prompt_tokens=count(usage.get("input_tokens")) + cached + written,
        cached_prompt_tokens=cached,
        completion_tokens=count(usage.get("output_tokens")),
    )
