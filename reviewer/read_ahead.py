"""What a run will need, read while it waits on git or GitHub: its backends' SDK, V4's token vocabulary, the secret scanners.

A run imports the `openai` SDK (~0.35 s of CPU) before its first request, and
reads the vocabulary (~0.06 s) and makes detect-secrets' detectors (~0.1 s)
before it plans; all are pure CPU and hold the interpreter. Started on a thread before the run reads the pull request (a few
round trips to GitHub, each a wait), the waits pay for them instead. Not before
a local `git diff`: it waits too little, and the thread only slowed the parser.

A large change is better served by `read`, with no thread: planning reads its
diff in a second process and does this beside it (reviewer.review.reads_aside),
which a thread still running would prevent (reviewer.forked).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewer.config import Config

_SDKS = {"openai": "openai", "anthropic": "anthropic"}  # protocol -> the module its backend imports


def start(config: Config) -> threading.Thread:
    """Read the vocabulary and the secret scanners, and the SDKs that `config`'s review and summary backends speak, on a thread."""
    reading = threading.Thread(target=_read, args=(_modules(config),), name="read-ahead", daemon=True)
    reading.start()
    return reading


def read(config: Config) -> None:
    """The same, here and now: while a second process reads a large diff (reviewer.review.reads_aside)."""
    _read(_modules(config))


def _modules(config: Config) -> list[str]:
    names = {n for task in ("review", "summarize") for n in config.routes.for_task(task)}
    protocols = {config.backends[n].protocol for n in names if n in config.backends}
    return sorted(_SDKS[p] for p in protocols if p in _SDKS)


def _read(modules: Iterable[str]) -> None:
    from reviewer import redact, tokens

    tokens.read_vocabulary()
    redact.prepare()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # the run's own import says what is missing, where a user sees it
            pass
