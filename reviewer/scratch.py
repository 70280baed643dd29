"""What a run leaves running or lying about until it ends: the temporary folders it makes beside the checkout
(copies of it for tools and agents, an agent's HOME), and the agent processes it starts.

Each folder is removed by what made it (at the end of its `with`, or with the object that holds it), and each
agent is waited for by the thread that started it. A Ctrl-C ends the process at once (exit 130, reviewer.cli)
while those threads still wait on a model or an agent: `abandon` stops the agents and removes the folders then,
as nothing else would. An agent that got no SIGINT (`kill -INT` to reviewer alone, a CI runner's cancel, a
SIGTERM) would otherwise run on, and bill, to its own end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

_LIVE: weakref.WeakSet[tempfile.TemporaryDirectory[str]] = weakref.WeakSet()  # not kept alive by being listed
_RUNNING: weakref.WeakSet[subprocess.Popen[str]] = weakref.WeakSet()
_LOCK = threading.Lock()
_abandoned = False  # from `abandon` on, nothing more is made or started: worker threads still run till the exit


class Abandoned(Exception):
    """Raised in a worker thread that would make a folder or start an agent after the run was abandoned."""


def folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new temporary folder (a TemporaryDirectory: a context manager, removed with it otherwise)."""
    with _LOCK:  # made under the lock: `abandon` removes it, or it is never made
        if _abandoned:
            raise Abandoned(prefix)
        holder = tempfile.TemporaryDirectory(prefix=prefix)
        _LIVE.add(holder)
    return holder


def start(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """An agent's process, its text streams piped, in a process group of its own: what it starts (a wrapper
    script's CLI, a search) is stopped with it. Started under the lock: `abandon` stops it, or it never starts."""
    with _LOCK:
        if _abandoned:
            raise Abandoned(argv[0])
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env,
            text=True, encoding="utf-8", errors="replace", start_new_session=True,
        )
        _RUNNING.add(process)
    return process


def stop(process: subprocess.Popen[str]) -> None:
    """Kill `process` and its group. Not once it was waited for: its number may be another's by then."""
    if process.returncode is None:
        with contextlib.suppress(OSError):  # ended, not yet waited for
            os.killpg(process.pid, signal.SIGKILL)


def abandon() -> None:
    """Stop every agent still running, then remove every folder still there (Ctrl-C: the process ends before their
    holders would), as far as it can: a thread still copying the checkout may keep a folder from going. From here
    the worker threads, which run on till the process exits, make no folder and start no agent (`Abandoned`)."""
    global _abandoned
    with _LOCK:
        _abandoned = True
        running, live = list(_RUNNING), list(_LIVE)
    for process in running:
        stop(process)
    for process in running:  # so that none still writes in its HOME while that is removed
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1)
    for holder in live:
        with contextlib.suppress(OSError):
            holder.cleanup()
