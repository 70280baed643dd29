"""The temporary folders a run makes beside the checkout: copies of it for tools and agents, an agent's HOME.

Each is removed by what made it (at the end of its `with`, or with the object that holds it). A Ctrl-C ends
the process at once (exit 130, reviewer.cli) while the threads that made some still wait on a model or an
agent: `remove_all` removes those then, as nothing else would.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import weakref

_LIVE: weakref.WeakSet[tempfile.TemporaryDirectory[str]] = weakref.WeakSet()  # not kept alive by being listed
_LOCK = threading.Lock()


def folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new temporary folder (a TemporaryDirectory: a context manager, removed with it otherwise)."""
    holder = tempfile.TemporaryDirectory(prefix=prefix)
    with _LOCK:
        _LIVE.add(holder)
    return holder


def remove_all() -> None:
    """Remove every folder still there (Ctrl-C: the process ends before their holders would), as far as it can: what
    still writes in one (an agent that got no SIGINT, a thread still copying the checkout) may keep it from going."""
    with _LOCK:
        live = list(_LIVE)
    for holder in live:
        with contextlib.suppress(OSError):
            holder.cleanup()
