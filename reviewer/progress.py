"""What a run has done so far, as it happens: one updating status line on a terminal, plain lines in CI.

Requests done and in flight, the time since the first was sent, tokens and cost so far, and each
retry the SDKs make (a 429 wait says so). The SDKs retry inside a request and only log it, so
their retry log lines are read while a run is on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from reviewer.backends.base import Usage
from reviewer.safe_text import printable

# The SDKs' own loggers. Before a retry openai logs the status code (at debug level), then both log the wait.
_SDK_LOGGERS = ("openai._base_client", "anthropic._base_client")


class Status:
    """The run's progress; `show` gets each line (plain), or `live` keeps one line updated in place."""

    def __init__(self, show: Callable[[str], None], live: Live | None = None) -> None:
        self._show = show
        self._live = live
        self._lock = threading.Lock()
        self.total = self.done = self.in_flight = self.retries = 0
        self.usage = Usage()
        self.cost_usd = 0.0
        self.last_retry = ""
        self._started: float | None = None
        self._status: dict[int, str] = {}  # thread → the status code of the retry it is about to wait for
        self._handler = _RetryLog(self)
        self._levels: dict[str, int] = {}  # the SDK loggers' own levels, set back at the end

    def __call__(self, message: str) -> None:
        """A message from the run (what it is about to do)."""
        self._show(message)

    def begin(self, total: int) -> None:
        self.total = total
        self._started = time.monotonic()
        for name in _SDK_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self._handler)
            self._levels[name] = logger.level
            if logger.getEffectiveLevel() > logging.DEBUG:
                logger.setLevel(logging.DEBUG)  # the status code is logged at debug level
        if self._live:
            self._live.start(self.line)

    def sending(self) -> None:
        with self._lock:
            self.in_flight += 1
        self._update()

    def answered(self, usage: Usage, cost_usd: float) -> None:
        """A request is over (answered, or failed: its usage is what was billed)."""
        with self._lock:
            self.in_flight -= 1
            self.done += 1
            self.usage += usage
            self.cost_usd += cost_usd
        self._update(plain=True)

    def retrying(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
            code = self._status.pop(threading.get_ident(), "")
            reason = "rate limited (429)" if code == "429" else (f"status {code}" if code else "a failure")
            self.last_retry = f"{reason}: retrying in {seconds:.0f} s"
        self._update(plain=True)

    def end(self) -> None:
        for name in _SDK_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.setLevel(self._levels.pop(name, logger.level))
        if self._live:
            self._live.stop()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started if self._started is not None else 0.0
        parts = [
            f"{self.done}/{self.total} requests answered, {self.in_flight} in flight",
            f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}",
            f"{self.usage.prompt_tokens:,} prompt + {self.usage.completion_tokens:,} output tokens",
            f"${self.cost_usd:.4f}",
        ]
        if self.retries:
            parts.append(f"{self.retries} {'retry' if self.retries == 1 else 'retries'} ({self.last_retry})")
        return " · ".join(parts)

    def _update(self, plain: bool = False) -> None:
        if self._live:
            self._live.refresh()
        elif plain:
            self._show(self.line())

    def _note_status(self, code: str) -> None:
        with self._lock:
            self._status[threading.get_ident()] = code


class _RetryLog(logging.Handler):
    """Reads the SDKs' retry lines (never formats another record: those hold the request)."""

    def __init__(self, status: Status) -> None:
        super().__init__(logging.DEBUG)
        self._status = status

    def emit(self, record: logging.LogRecord) -> None:
        message = record.msg if isinstance(record.msg, str) else ""
        if message.startswith("Retrying due to status code"):
            self._status._note_status(str(record.args[0]) if isinstance(record.args, tuple) and record.args else "")
        elif message.startswith("Retrying request"):
            seconds = next((a for a in record.args if isinstance(a, float)), 0.0) if isinstance(record.args, tuple) else 0.0
            self._status.retrying(seconds)


class Live:
    """One status line on a terminal, redrawn in place four times a second (rich)."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True, highlight=False)
        self._live: Any = None

    def start(self, line: Callable[[], str]) -> None:
        from rich.live import Live as RichLive
        from rich.text import Text

        # Plain text, no markup from anywhere; built at each redraw, so the clock runs between events.
        self._live = RichLive(
            get_renderable=lambda: Text(f"… {printable(line())}", style="dim"), console=self._console, refresh_per_second=4, transient=True
        )
        self._live.start()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
