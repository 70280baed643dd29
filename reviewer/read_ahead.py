"""What a run will need, read while it waits on git or GitHub: its backends' SDK, V4's token vocabulary, the secret scanners.

A run imports the `openai` SDK (~0.35 s of CPU) before its first request, and
reads the vocabulary (~0.06 s) and makes detect-secrets' detectors (~0.1 s)
before it plans; all are pure CPU and hold the interpreter. Started on a thread before the run reads the pull request (a few
round trips to GitHub, each a wait), the waits pay for them instead. Not before
a local `git diff`: it waits too little, and the thread only slowed the parser.

A large change's plan reads its diff in a second process (reviewer.review.reads_aside)
and imports the SDKs beside it (`read`): on the GitHub flow the thread then reads
only the vocabulary and the scanners, which the second process needs, and the plan
waits for it before forking (`finish`): no thread may run at a fork (reviewer.forked).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewer.config import Config

_TASKS = ("review", "summarize")
_STARTED: list[threading.Thread] = []


def start(config: Config, *, tasks: tuple[str, ...] = _TASKS, sdks: bool = True) -> threading.Thread:
    """Read the vocabulary and the secret scanners, and the SDKs that `config`'s backends for `tasks` speak
    (unless not `sdks`: a large change's plan imports them beside its second process), on a thread."""
    reading = threading.Thread(target=_read, args=(_modules(config, tasks) if sdks else [],), name="read-ahead", daemon=True)
    reading.start()
    _STARTED.append(reading)
    return reading


def finish() -> None:
    """Wait for what was started to be read: before a fork (reviewer.forked), which no thread may be running at."""
    while _STARTED:
        _STARTED.pop().join()


def read(config: Config) -> None:
    """The same, here and now: while a second process reads a large diff (reviewer.review.reads_aside)."""
    _read(_modules(config, _TASKS))


def _modules(config: Config, tasks: tuple[str, ...]) -> list[str]:
    from reviewer.backends import SDKS

    names = {n for task in tasks for n in config.routes.for_task(task)}
    protocols = {config.backends[n].protocol for n in names if n in config.backends}
    return sorted(SDKS[p] for p in protocols if p in SDKS)


def _read(modules: Iterable[str]) -> None:
    from reviewer import redact, tokens

    tokens.read_vocabulary()
    redact.prepare()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # the run's own import says what is missing, where a user sees it
            pass
