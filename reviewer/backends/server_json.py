"""What a model server sends, read as plain JSON: server-sent events, bodies, and fields read defensively.

Both HTTP backends read their answers here rather than as their SDK's models: a model built for
each streamed event cost several times the CPU of reading it as JSON, and an answer at effort high
is thousands of events, several streaming at once under one GIL. The answer is untrusted, so a
field of the wrong type counts as absent instead of raising a traceback.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from reviewer.config import BackendConfig
from reviewer.errors import BackendError


def events(lines: Iterable[str], config: BackendConfig) -> Iterator[Mapping[str, Any]]:
    """The JSON payloads of a server-sent event stream, until `[DONE]`; an error event is a BackendError.

    Only data lines are read: OpenAI's format names no events, and Anthropic's names each one
    with the `type` its payload carries too.
    """
    data: list[str] = []
    for line in itertools.chain(lines, [""]):
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:  # a blank line ends an event; other fields (event:, id:, comments) say nothing here
            text, data = "\n".join(data), []
            if text == "[DONE]":
                return
            event = payload(text, config)
            if event.get("error") or event.get("type") == "error":  # {"error": {"message": ...}}; Anthropic's has a type too
                detail = mapping(event.get("error")).get("message") or event.get("error") or event.get("message") or "an error event"
                raise BackendError(f"backend {config.name!r}: {config.shown_url} failed mid-answer: {str(detail)[:300]}", backend=config.name)
            yield event


def payload(text: str, config: BackendConfig) -> Mapping[str, Any]:
    """A JSON object from the server; JSON that is not an object reads as an empty one."""
    body = decoded(text)
    if body is NOT_JSON:
        raise BackendError(f"backend {config.name!r}: {config.shown_url} sent something that is not JSON: {text[:200]!r}", backend=config.name)
    return mapping(body)


NOT_JSON = object()


def decoded(text: str) -> Any:
    """`text` as JSON, or NOT_JSON: what is not JSON, or is nested deeper than Python's stack allows (a RecursionError)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return NOT_JSON


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


def first(value: Any) -> Mapping[str, Any]:
    items = sequence(value)
    return mapping(items[0]) if items else {}


def string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def count(value: Any) -> int:
    """A count or an index: a non-negative integer, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
