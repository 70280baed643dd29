"""Work done in a second process (reviewer.forked), and a large diff read there while the run does other work.

Each fork is tried in a process of its own (`python -c`): the test runner has threads, and with a
thread running nothing forks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reviewer import forked
from tests.conftest import GitRepo

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's reviewer, not whichever one is installed
needs_two_cpus = pytest.mark.skipif(not forked.possible(), reason="a second process needs Linux and two CPUs")


def python(script: str, cwd: Path | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@needs_two_cpus
def test_the_work_is_done_in_a_child_and_its_result_comes_back() -> None:
    out = python(
        "import os; from reviewer import forked\n"
        "with forked.start(lambda: (os.getpid(), list(range(100_000)))) as pending:\n"
        "    pid, numbers = pending.result()\n"
        "print(pending.forked, pid != os.getpid(), numbers == list(range(100_000)))\n"
    )
    assert out == ["True", "True", "True"]  # a result larger than a pipe holds comes back whole


def test_with_another_thread_running_the_work_is_done_here() -> None:
    stop = threading.Event()
    running = threading.Thread(target=stop.wait)
    running.start()
    try:
        with forked.start(os.getpid) as pending:
            assert not pending.forked
            assert pending.result() == os.getpid()
    finally:
        stop.set()
        running.join()


@needs_two_cpus
@pytest.mark.parametrize("failure", ["1 / 0", "os.kill(os.getpid(), signal.SIGKILL)", "os._exit(0)"])
def test_a_child_that_fails_dies_or_sends_nothing_has_its_work_done_here(failure: str) -> None:
    out = python(
        "import os, signal; from reviewer import forked\n"
        "parent = os.getpid()\n"
        "def work():\n"
        f"    if os.getpid() != parent: {failure}\n"
        "    return os.getpid()\n"
        "with forked.start(work) as pending:\n"
        "    print(pending.forked, pending.result() == parent)\n"
    )
    assert out == ["True", "True"]


@needs_two_cpus
def test_leaving_without_the_result_ends_the_child_at_once() -> None:
    out = python(
        "import os, time; from reviewer import forked\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    with forked.start(lambda: time.sleep(60)) as pending:\n"
        "        raise KeyError('an error on our side')\n"
        "except KeyError:\n"
        "    pass\n"
        "try:\n"
        "    os.waitpid(-1, os.WNOHANG)\n"
        "    left = 'child-left'\n"
        "except ChildProcessError:\n"
        "    left = 'no-child'\n"
        "print(pending.forked, left, time.monotonic() - start < 10)\n"
    )
    assert out == ["True", "no-child", "True"]


PLAN = """
import json, secrets, sys, threading
from reviewer import review
from reviewer.config import Config, ReviewSettings
from reviewer.diff import parse_diff
from reviewer.prompts import Templates
import subprocess

secrets.token_hex = lambda n: "f" * (2 * n)  # the same fence markers in both plans
diff = parse_diff(subprocess.run(["git", "diff", "main..feature"], capture_output=True, check=True).stdout)
config = Config(review=ReviewSettings(concurrency=4, max_chunk_tokens=20_000, ignore=("vendor/**",)))
done = []

def plan(aside: bool | None):
    # Read in a second process (True), read for it here (False), or not read ahead at all (None).
    stop = threading.Event()
    if aside is False:  # a thread running: nothing forks, the diff is read here
        threading.Thread(target=stop.wait).start()
    meanwhile = None if aside is None else lambda: done.append(aside)
    try:
        planned = review.plan_review(diff, config, Templates(), description="d", guidelines="", meanwhile=meanwhile)
    finally:
        stop.set()
    return {
        "requests": [[r.paths, r.prompt_tokens, [m.content for m in r.messages]] for r in planned.requests],
        "secrets": [[e.path, e.line.text if e.line else None, e.secret.kind, e.secret.placeholder] for e in planned.secrets],
        "skipped": [[s.path, s.reason] for s in planned.skipped],
        "names": [f.name for f in planned.redacted.files],
    }

aside, here, plain = plan(True), plan(False), plan(None)
large = review.reads_aside(sum(f.added + f.removed for f in diff.files))
print(json.dumps({"same": aside == here, "as_plain": aside == plain, "meanwhile": done, "large": large, "plan": aside}))
"""


@needs_two_cpus
def test_a_large_diff_read_aside_is_planned_exactly_as_one_read_here(repo: GitRepo) -> None:
    import json

    repo.write("src/keep.py", "".join(f"value_{i} = {i}\n" for i in range(3000)))
    repo.write("vendor/lib.js", "".join(f"var v{i} = {i};\n" for i in range(800)))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    lines = [f"value_{i} = {i * 7}  # changed\n" for i in range(3000)]
    lines[700] = 'AWS_KEY = "AKIAIOSFODNN7EXAMPLF"\n'  # a secret on a line: masked, and its line counted anew
    repo.write("src/keep.py", "".join(lines))
    repo.write("vendor/lib.js", "".join(f"var v{i} = {i + 1};\n" for i in range(800)))  # ignored: not counted aside
    repo.write("leaked/AKIAIOSFODNN7EXAMPLG.txt", "a file named by a key\n")
    repo.commit("feature")

    result = json.loads(subprocess.run([sys.executable, "-c", PLAN], cwd=repo.root, env=ENV, capture_output=True, text=True, check=True).stdout)

    assert result["large"], "the change is too small to be read aside: make it larger"
    assert result["same"], "the plan differs when the diff is read in a second process"
    assert result["as_plain"], "the plan differs from one whose diff is not read ahead (its secrets and tokens)"
    assert result["meanwhile"] == [True, False]  # done beside the read, in both
    plan = result["plan"]
    sent = "".join(text for _, _, messages in plan["requests"] for text in messages)
    assert "AKIAIOSFODNN7EXAMPLF" not in sent and "AKIAIOSFODNN7EXAMPLG" not in sent
    assert {kind for _, _, kind, _ in plan["secrets"]} == {"aws-access-key"}
    assert len(plan["secrets"]) == 2  # the line, and the file's name
    assert any(path == "vendor/lib.js" for path, _ in plan["skipped"])
    assert len(plan["requests"]) >= 2  # large enough to be cut, so the counts decided where


@needs_two_cpus
def test_with_sigchld_ignored_the_result_still_comes_back() -> None:
    # A parent process (a supervisor, a CI agent) may ignore SIGCHLD, which exec keeps: the system then reaps
    # every child at once, and waiting for one fails with ECHILD. The run must not end in a traceback.
    out = python(
        "import os, signal; from reviewer import forked\n"
        "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        "with forked.start(lambda: 42) as pending:\n"
        "    print(pending.result())\n"
        "try:\n"
        "    with forked.start(lambda: 42) as pending:\n"
        "        raise KeyError('an error on our side')\n"
        "except KeyError:\n"
        "    print('KeyError')\n"  # the block's own error, not one from ending the child
    )
    assert out == ["42", "KeyError"]


@needs_two_cpus
def test_an_interrupt_while_the_result_is_awaited_ends_the_child_at_once() -> None:
    # Ctrl-C reaches the child too, which ends at once; an interrupt of this process alone (`kill -INT PID`, a
    # supervisor) must end the child as well, not wait for its work. Here a timer's, which the child does not share.
    out = python(
        "import signal, time; from reviewer import forked\n"
        "def interrupt(*_): raise KeyboardInterrupt\n"
        "signal.signal(signal.SIGALRM, interrupt)\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    with forked.start(lambda: time.sleep(30)) as pending:\n"
        "        signal.setitimer(signal.ITIMER_REAL, 0.5)\n"
        "        pending.result()\n"
        "except KeyboardInterrupt:\n"
        "    print(pending.forked, time.monotonic() - start < 10)\n"
        "import os\n"
        "try:\n"
        "    print('child-left' if os.waitpid(-1, os.WNOHANG)[0] == 0 else 'child-ended-unreaped')\n"
        "except ChildProcessError:\n"
        "    print('no-child')\n"
    )
    assert out == ["True", "True", "no-child"]


@needs_two_cpus
def test_a_ctrl_c_held_over_the_fork_ends_the_child_too() -> None:
    # Ctrl-C while the fork is under way is held, and raised in the parent as it lets SIGINT through again: before
    # `start` returns, so no `with` holds the child yet. The child started; it must not run on, unreaped.
    out = python(
        "import os, signal, time; from reviewer import forked\n"
        "real_fork = os.fork\n"
        "def fork():\n"
        "    os.kill(os.getpid(), signal.SIGINT)  # pressed now: held until the fork is done\n"
        "    return real_fork()\n"
        "os.fork = fork\n"
        "try:\n"
        "    with forked.start(lambda: time.sleep(30)) as pending:\n"
        "        pending.result()\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "try:\n"
        "    left = 'child-left' if os.waitpid(-1, os.WNOHANG)[0] == 0 else 'child-ended-unreaped'\n"
        "except ChildProcessError:\n"
        "    left = 'no-child'\n"
        "print(left, signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))\n"
    )
    assert out == ["no-child", "False"]


@needs_two_cpus
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_a_stop_sent_to_the_child_before_it_has_its_own_handling_only_ends_the_child(stop: str) -> None:
    # Held across the fork, then the default in the child: the parent's handling (SIGTERM raises KeyboardInterrupt in
    # reviewer.cli) would have unwound the parent's stack in the child, which ran on as a second reviewer.
    out = python(
        "import os, signal; from reviewer import forked\n"
        "def stopped(number, frame):\n"
        "    raise KeyboardInterrupt\n"
        "for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):  # as reviewer.cli's main() does\n"
        "    signal.signal(number, stopped)\n"
        "real_fork = os.fork\n"
        "def fork():\n"
        "    pid = real_fork()\n"
        "    if pid == 0:\n"
        f"        os.kill(os.getpid(), signal.{stop})\n"
        "    return pid\n"
        "os.fork = fork\n"
        "try:\n"
        "    with forked.start(lambda: 42) as pending:\n"
        "        print(pending.result())  # the child died: the work is done here\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    assert out == ["42"]


def test_the_child_holds_every_signal_a_run_stops_on() -> None:
    from reviewer import cli

    assert forked.STOPS == {signal.SIGINT, *cli._STOPS}
