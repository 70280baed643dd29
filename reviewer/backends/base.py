"""What every backend is: one method that sends messages and returns text, reasoning and usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from reviewer.config import BackendConfig
from reviewer.vocabulary import Message, Usage

if TYPE_CHECKING:
    from reviewer.backends.tools import ToolBox


@dataclass(frozen=True)
class Completion:
    text: str  # the answer; the only part ever parsed for findings
    reasoning: str  # the model's thinking, kept apart and never parsed
    usage: Usage
    model: str  # the model name the server reported
    finish_reason: str | None = None


class Backend(Protocol):
    """A model endpoint. What it can do is declared, not probed."""

    protocol: ClassVar[str]
    needs_workdir: ClassVar[bool]  # agents run in the repository; HTTP backends see only the messages
    uses_tools: ClassVar[bool]  # whether `complete` can run read-only tools for the model (agents bring their own)
    config: BackendConfig
    efforts: frozenset[str]  # the effort levels it can honour with this server
    streams: bool
    shows_reasoning: bool  # whether thinking comes back in Completion.reasoning (so a check can see it)

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None, tools: ToolBox | None = None) -> Completion:
        """Send one request (with `tools`, answer the model's tool calls until it answers); raise BackendError when it fails."""
        ...


def effort_gap(backend: Backend) -> str | None:
    """Why the backend cannot run at its configured effort, or None when it can (said in the output, never hidden)."""
    config = backend.config
    if config.effort in backend.efforts:
        return None
    can = ", ".join(sorted(backend.efforts)) or "none at all"
    return (
        f"backend {config.name!r} ({config.protocol}) cannot honour effort {config.effort!r} "
        f"with this server; it can honour: {can}"
    )
