"""The words every module shares: severities (and how each output shows them), categories,
efforts, tasks, and the messages and usage that pass between a run and its backends.

Imported almost everywhere, so it imports nothing of ours and nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Severity:
    name: str
    icon: str  # Markdown and GitHub comments
    sarif_level: str  # SARIF `level`
    security_severity: str  # code scanning sorts alerts by this 0-10 score
    annotation_level: str  # workflow command: error, warning or notice
    colour: str  # terminal colour (a click colour name)


# Most severe first: the order is the rank.
SEVERITY_LEVELS = (
    Severity("critical", "🔴", "error", "9.0", "error", "red"),
    Severity("major", "🟠", "error", "7.0", "warning", "magenta"),
    Severity("minor", "🟡", "warning", "4.0", "notice", "yellow"),
    Severity("nit", "⚪", "note", "1.0", "notice", "cyan"),
)
SEVERITY: Mapping[str, Severity] = {s.name: s for s in SEVERITY_LEVELS}
SEVERITIES = tuple(SEVERITY)
FAIL_ON = (*SEVERITIES, "none")  # a threshold: "none" fails on nothing
CATEGORIES = ("bug", "security", "performance", "maintainability", "style", "test")
EFFORTS = ("none", "high", "max")
TASKS = ("review", "summarize", "judge", "chat")  # judge: the LLM judge of `reviewer eval`; chat: answers in threads


def severity_rank(severity: str) -> int:
    """0 for critical, growing with less severe levels."""
    return SEVERITIES.index(severity)


def at_or_above(severity: str, threshold: str) -> bool:
    return threshold != "none" and severity_rank(severity) <= severity_rank(threshold)


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Usage:
    requests: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0  # includes reasoning tokens, as DeepSeek bills them
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})
