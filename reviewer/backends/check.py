"""`reviewer backends check`: one tiny request per backend, and what came back.

Reachable, authenticated, which model answered, how long it took, and whether
the reasoning mode took effect at the effort the config asks for.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from reviewer.backends.base import Backend, Completion, effort_gap
from reviewer.errors import BackendError
from reviewer.vocabulary import Message

PROBE = (
    Message("system", "You are answering a connection check."),
    Message("user", "Think briefly if you think at all, then answer with the single word OK."),
)
PROBE_MAX_TOKENS = 2048  # room for some thinking before the one-word answer


@dataclass(frozen=True)
class CheckResult:
    name: str
    protocol: str
    configured_model: str
    effort: str
    ok: bool
    model: str = ""  # as the server reported it
    seconds: float = 0.0
    reasoning: str = ""  # what happened to thinking, in words
    reasoning_as_asked: bool | None = None  # None: this backend cannot show whether it thought
    effort_gap: str | None = None
    error: str | None = None


def check(backend: Backend, clock: Callable[[], float] = time.monotonic) -> CheckResult:
    config = backend.config
    unanswered = CheckResult(config.name, config.protocol, config.model, config.effort, ok=False, effort_gap=effort_gap(backend))
    started = clock()
    try:
        completion = backend.complete(PROBE, max_tokens=PROBE_MAX_TOKENS)
    except BackendError as exc:
        return dataclasses.replace(unanswered, seconds=clock() - started, error=str(exc))
    seconds = clock() - started
    said, as_asked = _reasoning_verdict(backend, completion)
    return dataclasses.replace(
        unanswered, ok=True, model=completion.model, seconds=seconds, reasoning=said, reasoning_as_asked=as_asked
    )


def _reasoning_verdict(backend: Backend, completion: Completion) -> tuple[str, bool | None]:
    thought = bool(completion.reasoning.strip()) or completion.usage.reasoning_tokens > 0
    wanted = backend.config.effort != "none"
    if not backend.shows_reasoning:
        return "not visible through this backend's output", None
    if wanted and thought:
        return f"reasoning came back (effort {backend.config.effort} asked)", True
    if wanted:
        return f"no reasoning came back although effort {backend.config.effort} was asked", False
    if thought:
        return "reasoning came back although effort none (thinking off) was asked", False
    return "no reasoning, as effort none asks", True
