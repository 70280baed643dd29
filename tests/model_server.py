"""A loopback model server speaking OpenAI chat completions and Anthropic messages.

Plain and streamed answers, reasoning kept apart (`reasoning_content`, or
`reasoning` as vLLM and Ollama name it; Anthropic thinking blocks), DeepSeek's
usage fields, scripted failures (status codes, Retry-After, delays), and a
record of every request, so tests drive the real `openai` and `anthropic`
clients and assert on what actually went over the wire.

By default half of every prompt is reported as cached. `PrefixCache` makes the
cache behave as DeepSeek's does (apis.md A5), and `answer_time` with `slots`
makes the answer take as long as reading the uncached part would, a few
requests at a time: what benchmarks/ measures the run against.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class Reply:
    content: str = '{"findings": []}'
    reasoning: str = ""
    status: int = 200
    error: str = "error"  # the message of an error reply
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    cached_tokens: int | None = None  # default: half of the prompt
    reasoning_field: str = "reasoning_content"  # "reasoning" as vLLM and Ollama name it
    finish_reason: str = "stop"
    event_delay: float = 0.0  # seconds between streamed events: long thinking that trickles in
    tool_call: tuple[str, dict[str, Any]] | None = None  # (tool name, input): ask the client to run a tool
    stream_error: str | None = None  # an error event after the thinking, and nothing more (a server failing mid-answer)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Every message text of the request, joined (to assert what reached the server)."""
        parts: list[str] = []
        system = self.body.get("system")
        if isinstance(system, str):
            parts.append(system)
        elif isinstance(system, list):
            parts += [b.get("text", "") for b in system if isinstance(b, dict)]
        for message in self.body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts += [b.get("text", "") for b in content if isinstance(b, dict)]
        return "\n".join(parts)


Responder = Callable[[Recorded], Reply]

MIN_UNIT_TOKENS = 64  # nothing shorter is cached (DeepSeek's 2024 note; uncertain for V4)


class PrefixCache:
    """DeepSeek's context cache, as its guide describes V4's: a hit is the longest persisted unit that is
    a prefix of the prompt, counted from its start. A unit is persisted when a request completes (the
    whole prompt), and the common prefix of two completed prompts becomes a unit of its own. So two
    requests in flight together share nothing, and A+B then A+C hits on nothing: only A+D, after them.
    Its fixed-interval units of long inputs are left out (the interval is not published): that only
    ever makes hits rarer here than there. Prompts are compared as text; a hit is counted with `count`.
    """

    def __init__(self, count: Callable[[str], int] | None = None) -> None:
        self.count = count or _estimate
        self.units: set[str] = set()
        self._prompts: list[str] = []
        self._lock = threading.Lock()

    def hit(self, prompt: str) -> int:
        with self._lock:
            unit = max((unit for unit in self.units if prompt.startswith(unit)), key=len, default="")
        return self.count(unit) if unit else 0

    def complete(self, prompt: str) -> None:
        with self._lock:
            for earlier in self._prompts:
                common = _common_prefix(earlier, prompt)
                if len(common) >= MIN_UNIT_TOKENS * 4:
                    self.units.add(common)
            if len(prompt) >= MIN_UNIT_TOKENS * 4:
                self.units.add(prompt)
            self._prompts.append(prompt)


def _common_prefix(a: str, b: str) -> str:
    """The longest common prefix, compared a block at a time (in C), the block doubling while they agree."""
    end, size, limit = 0, 4096, min(len(a), len(b))
    while end < limit:
        stop = min(end + size, limit)
        if a[end:stop] == b[end:stop]:
            end, size = stop, size * 2
        elif size > 1:
            size //= 2
        else:
            break
    return a[:end]


class ModelServer:
    """Start with `with ModelServer() as server:`; `server.url` is http://127.0.0.1:PORT."""

    def __init__(
        self,
        default: Reply | None = None,
        *,
        cache: PrefixCache | None = None,  # None: half of every prompt is reported cached
        answer_time: Callable[[int], float] | None = None,  # seconds to answer, from the uncached prompt tokens
        slots: int | None = None,  # requests answered at once; the rest wait their turn
        piece: int = 7,  # characters a streamed event carries (DeepSeek sends about a token)
        count: Callable[[str], int] | None = None,  # prompt tokens of a text; default: a token per 4 characters
    ) -> None:
        self.piece = piece
        self.count = count or _estimate
        self.default = default or Reply()
        self.cache = cache
        self.answer_time = answer_time
        self._slots = threading.Semaphore(slots) if slots else None
        self.replies: deque[Reply] = deque()  # consumed first, one per request
        self.responder: Responder | None = None  # else called per request
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(("127.0.0.1", 0), _handler(self))
        self._server.handle_error = self._handle_error  # type: ignore[method-assign]
        # A short poll interval: shutdown() waits for one, and every test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"{self.url}/anthropic"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a timeout test, a CLI that stops reading after the answer) is expected.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            LoopbackServer.handle_error(self._server, request, client_address)  # type: ignore[arg-type]

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self.replies:
                return self.replies.popleft()
        if self.responder is not None:
            return self.responder(recorded)
        return self.default


def _estimate(text: str) -> int:
    return max(1, len(text) // 4)


def _handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:  # Claude Code's warm-up
            server.requests.append(Recorded("HEAD", self.path, {k.lower(): v for k, v in self.headers.items()}, {}))
            self.send_response(501)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "any-model", "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._json(400, {"error": {"message": "body is not JSON"}})
                return
            path = self.path.split("?")[0]
            recorded = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if server._slots is not None:
                with server._slots:
                    self._answer(path, body, recorded)
            else:
                self._answer(path, body, recorded)

        def _answer(self, path: str, body: dict[str, Any], recorded: Recorded) -> None:
            start = time.monotonic()
            reply = server._next_reply(recorded)
            prompt_tokens = server.count(recorded.text)
            if reply.cached_tokens is not None:
                cached = reply.cached_tokens
            else:
                cached = server.cache.hit(recorded.text) if server.cache is not None else prompt_tokens // 2
            answering = 0.0
            if server.answer_time and reply.status == 200:  # the time taken to count and compose is part of it
                answering = max(server.answer_time(prompt_tokens - cached) - (time.monotonic() - start), 0.0)
            delay = reply.delay + answering
            if delay:
                time.sleep(delay)
            anthropic = path.endswith("/messages")
            if not (anthropic or path.endswith("/chat/completions")):
                self._json(404, {"error": {"message": f"no route {path}"}})
                return
            if reply.status != 200:
                error = (
                    {"type": "error", "error": {"type": "api_error", "message": reply.error}}
                    if anthropic
                    else {"error": {"message": reply.error, "type": "api_error", "code": reply.status}}
                )
                self._json(reply.status, error, reply.headers)
                return
            if anthropic:
                self._anthropic(body, reply, prompt_tokens, cached)
            else:
                self._openai(body, reply, prompt_tokens, cached)
            if server.cache is not None:
                server.cache.complete(recorded.text)

        # OpenAI chat completions, DeepSeek flavour

        def _openai_usage(self, reply: Reply, prompt_tokens: int, cached: int) -> dict[str, Any]:
            reasoning = _estimate(reply.reasoning) if reply.reasoning else 0
            completion = _estimate(reply.content) + reasoning
            return {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
                "prompt_cache_hit_tokens": cached,
                "prompt_cache_miss_tokens": prompt_tokens - cached,
                "prompt_tokens_details": {"cached_tokens": cached},
                "completion_tokens_details": {"reasoning_tokens": reasoning},
            }

        def _openai(self, body: dict[str, Any], reply: Reply, prompt_tokens: int, cached: int) -> None:
            model = body.get("model", "unknown")
            usage = self._openai_usage(reply, prompt_tokens, cached)
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                if reply.reasoning:
                    message[reply.reasoning_field] = reply.reasoning
                if reply.tool_call:
                    message["tool_calls"] = [_openai_tool_call(reply.tool_call, len(server.requests))]
                self._json(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [{"index": 0, "message": message, "finish_reason": _openai_finish(reply)}],
                        "usage": usage,
                    },
                    reply.headers,
                )
                return

            def chunk(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> dict[str, Any]:
                data: dict[str, Any] = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                if with_usage:
                    data["choices"] = []
                    data["usage"] = usage
                return data

            events = [chunk({"role": "assistant", "content": "", reply.reasoning_field: ""})]
            events += [chunk({reply.reasoning_field: piece}) for piece in _pieces(reply.reasoning, server.piece)]
            if reply.stream_error is not None:
                lines = [f"data: {json.dumps(e)}\n\n" for e in events]
                self._sse([*lines, f"data: {json.dumps({'error': {'message': reply.stream_error, 'type': 'server_error'}})}\n\n"], reply)
                return
            events += [chunk({"content": piece}) for piece in _pieces(reply.content, server.piece)]
            if reply.tool_call:
                # As OpenAI streams a call: its id and name first, then the arguments in pieces under the same index.
                call = _openai_tool_call(reply.tool_call, len(server.requests))
                name, arguments = call["function"]["name"], _pieces(call["function"]["arguments"], server.piece)
                events.append(chunk({"tool_calls": [{"index": 0, **call, "function": {"name": name, "arguments": arguments[0]}}]}))
                events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in arguments[1:]]
            events.append(chunk({}, _openai_finish(reply)))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(chunk({}, with_usage=True))
            # DeepSeek sends SSE comments while a request waits in its queue.
            lines = [": keep-alive\n\n"] + [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
            self._sse(lines, reply)

        # Anthropic messages

        def _anthropic(self, body: dict[str, Any], reply: Reply, prompt_tokens: int, cached: int) -> None:
            model = body.get("model", "unknown")
            output = _estimate(reply.content) + (_estimate(reply.reasoning) if reply.reasoning else 0)
            usage = {
                "input_tokens": prompt_tokens - cached,
                "cache_read_input_tokens": cached,
                "cache_creation_input_tokens": 0,
                "output_tokens": output,
            }
            blocks: list[dict[str, Any]] = []
            if reply.reasoning:
                blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": "sig"})
            if reply.content or not reply.tool_call:
                blocks.append({"type": "text", "text": reply.content})
            if reply.tool_call:
                call_id = f"toolu_{len(server.requests)}"  # unique per request, as clients match results by id
                blocks.append({"type": "tool_use", "id": call_id, "name": reply.tool_call[0], "input": reply.tool_call[1]})
            stop_reason = "tool_use" if reply.tool_call else "end_turn"
            if not body.get("stream"):
                self._json(
                    200,
                    {
                        "id": "msg_test",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": blocks,
                        "stop_reason": stop_reason,
                        "stop_sequence": None,
                        "usage": usage,
                    },
                    reply.headers,
                )
                return
            events: list[tuple[str, dict[str, Any]]] = [
                (
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            "id": "msg_test",
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {**usage, "output_tokens": 1},
                        },
                    },
                ),
                ("ping", {"type": "ping"}),
            ]
            for index, block in enumerate(blocks):
                if block["type"] == "thinking":
                    start = {"type": "thinking", "thinking": "", "signature": ""}
                    deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], server.piece)]
                    deltas.append({"type": "signature_delta", "signature": "sig"})
                elif block["type"] == "tool_use":
                    start = {**block, "input": {}}
                    deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(json.dumps(block["input"]), server.piece)]
                else:
                    start = {"type": "text", "text": ""}
                    deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"], server.piece)]
                events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
                events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
                events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            events.append(
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                        "usage": {"output_tokens": output},
                    },
                )
            )
            events.append(("message_stop", {"type": "message_stop"}))
            if reply.stream_error is not None:
                cut = next(i for i, (name, data) in enumerate(events) if name == "content_block_start" and data["content_block"]["type"] != "thinking")
                events = [*events[:cut], ("error", {"type": "error", "error": {"type": "overloaded_error", "message": reply.stream_error}})]
            self._sse([f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events], reply)

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, events: list[str], reply: Reply) -> None:
            data = [e.encode() for e in events]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(sum(len(d) for d in data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            for piece in data:
                self.wfile.write(piece)
                if reply.event_delay:
                    self.wfile.flush()
                    time.sleep(reply.event_delay)

    return Handler


def _openai_tool_call(call: tuple[str, dict[str, Any]], number: int) -> dict[str, Any]:
    return {"id": f"call_{number}", "type": "function", "function": {"name": call[0], "arguments": json.dumps(call[1])}}


def _openai_finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_call else reply.finish_reason


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
