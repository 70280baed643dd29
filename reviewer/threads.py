"""Requests answered on worker threads, waited for so that a stop is never missed.

Python runs signal handlers in the main thread, between bytecodes. Blocked in a lock's wait (a future's result)
with no time limit, the main thread wakes for a signal the kernel delivers to it; one delivered to a worker
thread, or just before the wait began, is only noted, and the run goes on for as long as an agent thinks (up to
an hour) before the Ctrl-C is seen. So the main thread waits in slices: a stop noted meanwhile is raised within one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
A = TypeVar("A")

SLICE = 0.5  # seconds: how late a stop may be seen


def results(futures: Sequence[Future[T]]) -> list[T]:
    """Each future's result, in order; a failure is raised as soon as it is done (the first in order of those done)."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=SLICE, return_when=FIRST_EXCEPTION)
        for future in (f for f in futures if f in done and f.exception() is not None):
            future.result()  # raises it
    return [future.result() for future in futures]


def each(work: Callable[[A], T], items: Iterable[A], workers: int) -> list[T]:
    """`work` on each of `items`, `workers` at a time: the results in order. On a failure, what has not started is
    not (an eval's cases: each is billed). Interrupted, it waits for none of them: the process ends (reviewer.cli)
    while the threads still wait on a model."""
    executor = ThreadPoolExecutor(max_workers=workers)
    try:
        done = results([executor.submit(work, item) for item in items])
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()
    return done
