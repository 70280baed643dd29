"""The model's answer to a review prompt: extracted, validated, normalised.

A bad entry becomes an error message and the rest of the answer still
counts; nothing here raises for what a model wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reviewer.diff import Side
from reviewer.vocabulary import CATEGORIES, SEVERITIES

_SEVERITY_ALIASES = {
    "blocker": "critical",
    "high": "major",
    "error": "major",
    "important": "major",
    "medium": "minor",
    "moderate": "minor",
    "warning": "minor",
    "low": "nit",
    "info": "nit",
    "trivial": "nit",
    "suggestion": "nit",
    "nitpick": "nit",
}
_CATEGORY_ALIASES = {
    "correctness": "bug",
    "logic": "bug",
    "error-handling": "bug",
    "perf": "performance",
    "readability": "maintainability",
    "design": "maintainability",
    "docs": "maintainability",
    "documentation": "maintainability",
    "tests": "test",
    "testing": "test",
    "formatting": "style",
    "naming": "style",
}
_FENCE_INFO = re.compile(r"[a-zA-Z0-9_-]*\s*")  # what may follow an opening ``` on its line
# An answer is untrusted and may be huge: bounds that keep parsing it linear.
MAX_DEPTH = 32  # nesting levels of a usable answer (ours has 4); deeper ones are not ours, and walking them recursively would fail
MAX_FAILED_DECODES = 100  # `{` positions tried as the start of a JSON object that turned out not to be one


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    side: Side
    severity: str
    category: str
    title: str
    body: str
    start_line: int | None = None
    suggestion: str | None = None


@dataclass(frozen=True)
class ParsedAnswer:
    findings: tuple[Finding, ...]
    errors: tuple[str, ...]
    usable: bool = True  # False when no JSON object with a "findings" list was found


def parse_answer(text: str) -> ParsedAnswer:
    """Findings from an answer that holds a JSON object bare, fenced, or amid prose."""
    document = extract_json(text, "findings")
    if document is None:
        snippet = " ".join(text.split())[:120]
        return ParsedAnswer((), (f"the answer held no JSON object: {snippet!r}",), usable=False)
    raw = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        return ParsedAnswer((), ('the answer\'s JSON has no "findings" list',), usable=False)
    findings: list[Finding] = []
    errors: list[str] = []
    for index, entry in enumerate(raw):
        try:
            findings.append(_finding(entry))
        except ValueError as exc:
            errors.append(f"finding {index + 1} skipped: {exc}")
    return ParsedAnswer(tuple(findings), tuple(errors))


def extract_json(text: str, key: str) -> dict[str, Any] | None:
    """The JSON object in `text` that has `key`: whole, in a fenced block, or embedded in prose.

    Prose can hold other objects ("returns {} here"), so one with the expected
    key wins; failing that, the first object found.
    """
    first: dict[str, Any] | None = None
    for found in _json_objects(text):
        if key in found:
            return found
        if first is None:
            first = found
    return first


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Objects of the whole text, of each fenced block, then every object embedded in prose (nested ones too)."""
    for candidate in (text.strip(), *_fenced_blocks(text)):
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack allows
            continue
        if isinstance(value, dict):
            yield from _objects_in(value)
    decoder = json.JSONDecoder()
    position, failures = 0, 0
    while failures < MAX_FAILED_DECODES and (start := text.find("{", position)) != -1:
        try:
            value, position = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            failures += 1
            position = start + 1
            continue
        # The objects inside this one are found by walking it, not by decoding the text again from each brace.
        yield from _objects_in(value)


def _fenced_blocks(text: str) -> Iterator[str]:
    """The body of each ``` block, line by line: linear, where a lazy regex rescans the rest of the text per opening fence."""
    body: list[str] | None = None
    for line in text.split("\n"):
        if body is None:
            _, fence, info = line.partition("```")
            if fence and _FENCE_INFO.fullmatch(info):
                body = []
        elif line.lstrip().startswith("```"):
            yield "\n".join(body)
            body = None
        else:
            body.append(line)


def _objects_in(value: Any) -> list[dict[str, Any]]:
    """`value` and the objects nested in it, outermost first; none when it nests deeper than MAX_DEPTH."""
    found: list[dict[str, Any]] = []
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return []
        if isinstance(item, dict):
            found.append(item)
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
    return found


def _finding(entry: Any) -> Finding:
    if not isinstance(entry, dict):
        raise ValueError(f"expected an object, got {type(entry).__name__}")
    path = entry.get("path")
    if not isinstance(path, str) or not path.strip():
        raise ValueError('"path" is missing or not a string')
    line = _positive_int(entry.get("line"), "line")
    if line is None:
        raise ValueError(f'"line" is missing for {path}')
    start_line = _positive_int(entry.get("start_line"), "start_line")
    if start_line is not None and start_line > line:
        start_line, line = line, start_line
    if start_line == line:
        start_line = None
    side = str(entry.get("side") or "RIGHT").upper()
    if side not in ("RIGHT", "LEFT"):
        raise ValueError(f'"side" must be RIGHT or LEFT, not {entry.get("side")!r}')
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f'"title" is missing for {path}:{line}')
    body = entry.get("body") or ""
    suggestion = entry.get("suggestion")
    if not isinstance(body, str):
        raise ValueError(f'"body" is not a string for {path}:{line}')
    if suggestion is not None and not isinstance(suggestion, str):
        raise ValueError(f'"suggestion" is not a string for {path}:{line}')
    return Finding(
        path=_normalise_path(path),
        line=line,
        start_line=start_line,
        side=side,  # type: ignore[arg-type]
        severity=_normalise(entry.get("severity"), SEVERITIES, _SEVERITY_ALIASES, "minor"),
        category=_normalise(entry.get("category"), CATEGORIES, _CATEGORY_ALIASES, "maintainability"),
        title=" ".join(title.split()),
        body=body.strip(),
        suggestion=suggestion,
    )


def _positive_int(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'"{key}" must be a positive line number, not {value!r}')
    return value


def _normalise(value: Any, allowed: tuple[str, ...], aliases: dict[str, str], default: str) -> str:
    word = str(value or "").strip().lower()
    if word in allowed:
        return word
    return aliases.get(word, default)


def _normalise_path(path: str) -> str:
    """The path as written, less a leading "./": a file may be named with spaces at its ends or a backslash."""
    return path[2:] if path.startswith("./") else path
