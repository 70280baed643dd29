"""The process ends without tearing the interpreter down (reviewer.cli.main), and loses nothing by it.

Each case is a process of its own: `main` ends the process it runs in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer import __version__

SCRIPT = """
import atexit, sys
from reviewer import cli
real_run = cli.run

def run(argv):
    atexit.register(print, "exit handler ran")  # registered during the run, as a temporary folder's cleanup is
    {body}

cli.run = run
cli.main(sys.argv[1:])
"""


# What is written waits in the buffer until the end, as when PYTHONUNBUFFERED is not set.
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def process(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(body=body), *args], capture_output=True, text=True, timeout=120, env=BUFFERED)


def test_the_status_and_the_output_are_the_runs_and_exit_handlers_still_run() -> None:
    done = process("return real_run(argv)", "--version")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"reviewer, version {__version__}", "exit handler ran"]


def test_a_failing_run_keeps_its_status() -> None:
    done = process("return real_run(argv)", "local", "--range", "no-such-ref..HEAD")
    assert done.returncode == 2, done.stderr
    assert "reviewer: error:" in done.stderr
    assert done.stdout == "exit handler ran\n"


def test_output_still_buffered_at_the_end_is_written_whole() -> None:
    done = process("sys.stdout.write('x' * 3_000_000); return 1")
    assert done.returncode == 1
    assert done.stdout == "x" * 3_000_000 + "exit handler ran\n"


def test_an_unexpected_error_ends_with_its_traceback_and_status_1() -> None:
    done = process("raise RuntimeError('a bug of ours')")
    assert done.returncode == 1
    assert "RuntimeError: a bug of ours" in done.stderr
    assert done.stdout == "exit handler ran\n"


def test_an_unexpected_error_stops_the_agents_the_exit_would_wait_for(tmp_path: Path) -> None:
    # A worker thread waits on an agent: the interpreter's exit waits for it, for as long as the agent thinks.
    pid = tmp_path / "agent.pid"
    done = process(
        "import threading, os; from pathlib import Path; from reviewer import scratch\n"
        "    agent = scratch.start(['sleep', '300'], cwd=Path('.'), env={'PATH': os.environ['PATH']})\n"
        f"    Path({str(pid)!r}).write_text(str(agent.pid))\n"
        "    threading.Thread(target=agent.communicate).start()\n"
        "    raise RuntimeError('a bug of ours')"
    )
    assert done.returncode == 1 and "RuntimeError: a bug of ours" in done.stderr
    assert done.stdout == "exit handler ran\n"
    stat = Path(f"/proc/{pid.read_text()}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"  # gone, or ended and not yet reaped


@pytest.mark.parametrize("status", [0, 1])
def test_output_its_reader_left_is_dropped_and_the_status_is_the_runs(status: int) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(body=f"sys.stdout.write('x' * 100); return {status}")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=BUFFERED,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # nothing reads it (`reviewer … | true`): the last flush meets a broken pipe
    assert reader.wait(timeout=120) == status
    assert reader.stderr.read() == ""


def test_started_with_no_output_at_all_it_ends_quietly() -> None:
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m reviewer.cli --version >&-'], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_reader_that_goes_away_before_any_output_is_not_a_finding(tmp_path: Path) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-m", "reviewer.cli", "config", "show"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**BUFFERED, "HOME": str(tmp_path)},
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # `reviewer … | true`: exit 1 would read as "findings at or above --fail-on"
    assert reader.wait(timeout=120) == 0
    assert reader.stderr.read() == ""
