"""Work done in a second process while this one does other work.

A run's preparation is CPU-bound Python, and one interpreter runs one thread of
it at a time; CI machines have two cores or more. `start` forks: the child
computes the work and sends its result back pickled through a pipe (our own
process image writing to a pipe only it and we hold: trusted), while the
parent goes on. Where a fork is not safe or gains nothing, the work is done in
this process when its result is asked for, with the same result:

- not on Linux: macOS's system frameworks are not safe in a forked child, and
  Windows has no fork;
- with one CPU to run on;
- with another thread running: the child would hold a copy of whatever lock or
  half-imported module that thread held at the fork;
- with SIGCHLD ignored (a parent process may set it, and exec keeps it): the
  system reaps the child as it ends, so its status is lost and its pid may be
  another process's by the time it is signalled.

A child that fails, or dies, has its work done here instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, NoReturn, TypeVar, cast

T = TypeVar("T")


# Every signal that stops a run (reviewer.cli handles each as Ctrl-C): a child must not handle any as its parent does.
STOPS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT})


def possible() -> bool:
    """Whether this machine lets a second process run beside this one (the threads running aside)."""
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) > 1


def start(work: Callable[[], T]) -> Pending[T]:
    """`work()` started in a forked child where that is safe and gains something; else it runs at `result()`.

    Use it as a context manager: leaving it ends a child whose result was not taken.
    """
    if not possible() or threading.active_count() > 1 or signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        return Pending(work)
    reading, writing = os.pipe()
    gc.freeze()  # the collector would otherwise touch, and so copy, every page the two processes share
    # The stops held until the child has its own handling: before, one would unwind our stack, or end the run's agents
    # and remove its folders (reviewer.cli), in the child.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    pid = -1
    try:
        pid = os.fork()
    except OSError:
        pass
    except BaseException:  # whatever else the fork does: Ctrl-C must work again
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    finally:
        gc.unfreeze()
    if pid == 0:
        _child(work, reading, writing, mask)
    os.close(writing)
    if pid < 0:
        os.close(reading)
    pending: Pending[T] = Pending(work) if pid < 0 else Pending(work, pid, reading)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C held over the fork is raised here
    except BaseException:
        pending.__exit__(None, None, None)  # before the caller holds the child: it is ended here, or it runs on
        raise
    return pending


class Pending(Generic[T]):
    """The result of a piece of work: computed by a child process (`pid`, read from `pipe`), or here."""

    def __init__(self, work: Callable[[], T], pid: int | None = None, pipe: int | None = None) -> None:
        self._work = work
        self._pid = pid  # until the child is reaped
        self._pipe = pipe  # until its result is read
        self.forked = pid is not None

    def result(self) -> T:
        """The work's result: the child's when it gave one, else computed now. Once."""
        if self._pid is None or self._pipe is None:
            return self._work()
        with os.fdopen(self._pipe, "rb") as pipe:
            self._pipe = None
            data = pipe.read()
        status = self._reap()
        if status == 0 and data:
            try:
                return cast(T, pickle.loads(data))
            except Exception:  # noqa: BLE001 - a torn result: the work is done here instead
                pass
        return self._work()

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._pid is not None:  # the result was not taken, or waiting for it was interrupted: the child is not needed
            with contextlib.suppress(ProcessLookupError):  # reaped by the system already (SIGCHLD ignored)
                os.kill(self._pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> int | None:
        if self._pid is None:
            return None
        try:
            _, status = os.waitpid(self._pid, 0)
        except ChildProcessError:  # SIGCHLD ignored (a parent process may set it; exec keeps it): its status is lost
            status = None
        self._pid = None  # only now: a Ctrl-C during the wait leaves the child to __exit__, which ends it
        return status


def _child(work: Callable[[], object], reading: int, writing: int, mask: set[int | signal.Signals]) -> NoReturn:
    """Compute, send the result, and end without running anything of the parent's (exit handlers, buffered output)."""
    status = 1
    try:
        for stop in STOPS:  # the parent reports; the child just ends
            signal.signal(stop, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        gc.disable()  # it lives a fraction of a second
        os.close(reading)
        data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)
