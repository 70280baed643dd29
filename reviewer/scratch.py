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
import subprocess
import tempfile
import threading
import weakref

_LIVE: weakref.WeakSet[tempfile.TemporaryDirectory[str]] = weakref.WeakSet()  # not kept alive by being listed
_RUNNING: weakref.WeakSet[subprocess.Popen[str]] = weakref.WeakSet()
_LOCK = threading.Lock()


def folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new temporary folder (a TemporaryDirectory: a context manager, removed with it otherwise)."""
    holder = tempfile.TemporaryDirectory(prefix=prefix)
    with _LOCK:
        _LIVE.add(holder)
    return holder


def started(process: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """`process`, listed to be stopped should the run be abandoned before it ends."""
    with _LOCK:
        _RUNNING.add(process)
    return process


def abandon() -> None:
    """Stop every agent still running, then remove every folder still there (Ctrl-C: the process ends before their
    holders would), as far as it can: a thread still copying the checkout may keep a folder from going."""
    with _LOCK:
        running, live = list(_RUNNING), list(_LIVE)
    for process in running:
        with contextlib.suppress(OSError):  # ended already
            process.kill()
    for process in running:  # so that none still writes in its HOME while that is removed
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1)
    for holder in live:
        with contextlib.suppress(OSError):
            holder.cleanup()
