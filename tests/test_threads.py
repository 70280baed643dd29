"""The main thread waits for worker threads in slices: a stop the kernel hands a worker thread is still seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewer import threads

ROOT = Path(__file__).resolve().parent.parent

# A worker thinks for 30 s; the kernel hands a Ctrl-C to that worker thread, not the main thread (as it may: any
# thread that does not block the signal can take it). Python only notes it there; the main thread must see it.
SCRIPT = """
import os, signal, threading, time
from concurrent.futures import ThreadPoolExecutor
from reviewer import threads
started = threading.Event()

def work():
    started.set()
    time.sleep(30)

future = ThreadPoolExecutor(max_workers=1).submit(work)
started.wait()
[worker] = [t for t in threading.enumerate() if t is not threading.main_thread()]
threading.Timer(0.3, signal.pthread_kill, (worker.ident, signal.SIGINT)).start()
began = time.monotonic()
try:
    threads.results([future])
    print("waited for the worker")
except KeyboardInterrupt:
    print("stopped", "at once" if time.monotonic() - began < 20 else "late")
os._exit(0)
"""


def test_a_ctrl_c_a_worker_thread_takes_still_stops_the_wait() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert (done.stdout, done.stderr) == ("stopped at once\n", "")


def test_a_failure_stops_what_has_not_started() -> None:
    # An eval's cases: each one started is billed. One fails (a misconfigured arm): the rest are not started.
    ran: list[int] = []

    def work(number: int) -> int:
        ran.append(number)
        if number == 0:
            raise ValueError("case 0 cannot run")
        time.sleep(0.2)
        return number

    with pytest.raises(ValueError, match="case 0 cannot run"):
        threads.each(work, range(20), 2)
    time.sleep(0.5)  # what the two workers had in hand ends
    assert len(ran) <= 4, ran
