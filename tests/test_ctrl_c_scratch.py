"""Ctrl-C ends a run at once with 130 (SIGTERM with 143): it stops the agents still running (they got no SIGINT:
`kill -INT` to reviewer alone, a CI runner's cancel) and removes the scratch folders (reviewer.scratch.abandon)
whatever still writes in them (a thread still copying the checkout), and waits for no request in flight (an eval's cases)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewer.backends.agent_cli import Invocation, run_isolated
from reviewer.config import BackendConfig
from reviewer.errors import BackendError
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply

ROOT = Path(__file__).resolve().parent.parent


def with_agent(repo: GitRepo, model_server: ModelServer, tmp_path: Path, script: str) -> tuple[list[str], dict[str, str], Path]:
    """A branch to review with an agent backend that runs `script` (sh), and the command, environment and TMPDIR."""
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.py", "a = 1\n")
    repo.commit("change")
    agent = tmp_path / "agent"
    agent.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    agent.chmod(0o755)
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[routes]\nreview = "cc"\nsummarize = "cc"\n\n[backends.cc]\nprotocol = "claude-code"\nbase_url = "{model_server.anthropic_url}"\n'
        f'model = "m"\ncommand = "{agent}"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TMPDIR": str(temporary), "ANTHROPIC_API_KEY": "k", "DEEPSEEK_API_KEY": "k"}
    return [sys.executable, "-m", "reviewer.cli", "local", "--base", "main", "--config", str(config)], env, temporary


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie has ended: only its parent's wait is missing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def end_all(process: subprocess.Popen[str] | subprocess.Popen[bytes], pids: Path) -> None:
    """After a test, pass or fail: reviewer, and every agent (and what it started) whose pid `pids` lists."""
    process.kill()
    for group in [int(pid) for pid in pids.read_text().split()] if pids.exists() else []:  # each agent leads a group of its own
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    process.wait(timeout=30)


ABANDON_WHILE_COPYING = """
import threading, time
from pathlib import Path
from reviewer import scratch
holder = scratch.folder("reviewer-tree-")
stop = threading.Event()

def copying():  # a worker thread still copying the checkout into its folder
    number = 0
    while not stop.is_set():
        try:
            Path(holder.name, f"d{number % 20}").mkdir(exist_ok=True)
            Path(holder.name, f"d{number % 20}", f"f{number}").touch()
        except OSError:
            pass  # the folder went away under it
        number += 1

writer = threading.Thread(target=copying, daemon=True)
writer.start()
time.sleep(0.2)
scratch.abandon()  # `_interrupted` calls it just before os._exit(130): raising here would skip that exit
stop.set()
writer.join()
holder.cleanup()
refused = []
for make in (lambda: scratch.folder("reviewer-agent-"), lambda: scratch.start(["true"], cwd=Path("."), env={})):
    try:
        make()
    except scratch.Abandoned:
        refused.append(True)
print(refused)
"""


def test_abandon_raises_nothing_while_a_thread_still_writes_and_nothing_is_made_or_started_after_it() -> None:
    # Worker threads run on till the process exits: one that would start an agent or make a folder now is refused.
    done = subprocess.run([sys.executable, "-c", ABANDON_WHILE_COPYING], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[True, True]\n", "")


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_during_an_eval_leaves_no_agent_nor_what_it_started(tmp_path: Path, stop: signal.Signals, status: int) -> None:
    """A case in four requests, one at a time: the request after the one stopped must not start a fresh agent (the
    worker threads run on till the exit), and what an agent starts (here `sleep`, as a wrapper script starts the CLI)
    is stopped with it."""
    suite = tmp_path / "suite" / "case"
    suite.mkdir(parents=True)
    patch = "".join(
        f"diff --git a/f{n}.py b/f{n}.py\nnew file mode 100644\n--- /dev/null\n+++ b/f{n}.py\n@@ -0,0 +1,120 @@\n"
        + "".join(f"+value_{n}_{i} = {i} * {i}  # padding for the tokens of a chunk\n" for i in range(120))
        for n in range(4)
    )
    (suite / "diff.patch").write_text(patch, encoding="utf-8")
    (suite / "expected.json").write_text(json.dumps({"must_find": []}), encoding="utf-8")
    pids = tmp_path / "pids"
    agent = tmp_path / "agent"
    agent.write_text(f"#!/bin/sh\necho $$ >> {pids}\nsleep 300 &\necho $! >> {pids}\nwait\n", encoding="utf-8")
    agent.chmod(0o755)
    config = tmp_path / "agent.toml"
    config.write_text(
        '[routes]\nreview = "cc"\nsummarize = "cc"\n\n[review]\nmax_chunk_tokens = 1000\n\n[backends.cc]\nprotocol = "claude-code"\n'
        f'base_url = "http://127.0.0.1:9/anthropic"\nmodel = "m"\ncommand = "{agent}"\nmax_retries = 0\napi_key_env = "AGENT_KEY"\n',
        encoding="utf-8",
    )
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TMPDIR": str(temporary), "AGENT_KEY": "k"}
    command = [sys.executable, "-m", "reviewer.cli", "eval", str(tmp_path / "suite"), "--config", str(config)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(pids.read_text().split() if pids.exists() else ()) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(stop)  # to reviewer only: its agents are in groups of their own
        _, err = process.communicate(timeout=30)
        assert (process.returncode, "Traceback" in err) == (status, False), err[-1500:]
        time.sleep(0.5)  # what a worker thread might still start in the meantime
        started = [int(pid) for pid in pids.read_text().split()]
        assert len(started) >= 2 and [pid for pid in started if alive(pid)] == []
        assert not list(temporary.iterdir())
    finally:
        end_all(process, pids)


def test_an_agent_past_its_time_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    """Its child holds the output pipes open: waiting for them to close would wait for the child (minutes)."""
    child = tmp_path / "child.pid"
    invocation = Invocation(("/bin/sh", "-c", f"sleep 300 & echo $! > {child}; sleep 300"), {}, "")
    started = time.monotonic()
    with pytest.raises(BackendError, match="did not finish within 5 s"):  # time for the child to start, on a busy machine
        run_isolated(invocation, tmp_path, os.environ, 5.0, BackendConfig(name="cc"))
    assert time.monotonic() - started < 60  # not the 300 s the child would hold its pipes
    assert not alive(int(child.read_text()))


@pytest.mark.parametrize(
    ("stop", "status", "times"),
    [(signal.SIGINT, 130, 1), (signal.SIGTERM, 143, 1), (signal.SIGQUIT, 131, 1), (signal.SIGTERM, 143, 2)],  # 2: as `timeout` sends it
)
def test_a_stop_sent_to_reviewer_alone_stops_its_agent_and_removes_its_home(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, stop: signal.Signals, status: int, times: int
) -> None:
    # An agent busy writing its caches in HOME, as Claude Code does, that would run on (and bill) to its end.
    pid_file = tmp_path / "agent.pid"
    command, env, temporary = with_agent(
        repo, model_server, tmp_path, f'echo $$ > {pid_file}\ni=0\nwhile :; do : > "$HOME/f$i" 2>/dev/null; i=$((i+1)); done'
    )
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        process = subprocess.Popen(command, cwd=repo.root, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not any(temporary.glob("reviewer-agent-*/f100")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert any(temporary.glob("reviewer-agent-*/f100")), process.poll()  # the agent is writing in its HOME
        agent = int(pid_file.read_text())
        for _ in range(times):  # to reviewer only
            process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass  # still waiting for its threads: an exit handler did not end it
        assert (process.returncode, "Traceback" in log.read_text()) == (status, False), log.read_text()[-1500:]
        assert not alive(agent)
        assert not list(temporary.iterdir())  # the agent's HOME and the copy of the tree it read
    finally:
        end_all(process, pid_file)


def test_a_closed_terminal_stops_the_agents_too(repo: GitRepo, model_server: ModelServer, tmp_path: Path) -> None:
    """SIGHUP: the terminal does not send it to agents, in process groups of their own; reviewer stops them, though
    writing to that terminal now fails (EIO), and exits 128 + 1."""
    pid_file = tmp_path / "agent.pid"
    command, env, temporary = with_agent(repo, model_server, tmp_path, f"echo $$ > {pid_file}\nexec sleep 300")
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=repo.root, env=env, stdin=follower, stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        agent = int(pid_file.read_text())
        os.close(leader)  # the terminal window is closed
        process.send_signal(signal.SIGHUP)
        process.wait(timeout=30)
        assert process.returncode == 129
        assert not alive(agent)
        assert not list(temporary.iterdir())
    finally:
        end_all(process, pid_file)


def test_ctrl_c_stops_an_eval_at_once(model_server: ModelServer, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    for number in range(2):
        case = suite / f"case{number}"
        case.mkdir(parents=True)
        (case / "diff.patch").write_text(f"diff --git a/a{number}.py b/a{number}.py\n--- a/a{number}.py\n+++ b/a{number}.py\n@@ -1 +1 @@\n-a = 0\n+a = 1\n")
        (case / "expected.json").write_text(json.dumps({"must_find": [{"path": f"a{number}.py", "lines": [1, 1]}]}))
    model_server.responder = lambda request: Reply(delay=60)  # each case thinks for a minute
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "reviewer.cli", "eval", str(suite), "--base-url", model_server.openai_url, "--model", "m"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not model_server.posts() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)  # not the minute the cases in flight would take
        except subprocess.TimeoutExpired:
            pass
        assert process.returncode == 130
    finally:
        process.kill()
        process.communicate()


def test_ctrl_c_leaves_no_copy_of_the_tree_the_tools_read(repo: GitRepo, model_server: ModelServer, tmp_path: Path) -> None:
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.py", "".join(f"alpha_value_{i} = compute_alpha({i})\n" for i in range(20)))
    repo.commit("change")
    config = tmp_path / "tools.toml"
    config.write_text("[review]\ntools = true\n", encoding="utf-8")
    model_server.responder = lambda request: Reply(delay=60)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TMPDIR": str(temporary)}
    command = [sys.executable, "-m", "reviewer.cli", "local", "--base", "main", "--config", str(config), "--base-url", model_server.openai_url, "--model", "m"]
    process = subprocess.Popen(command, cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not model_server.posts() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(temporary.glob("reviewer-tools-*")), "the tools' copy of the tree is there while the request is in flight"
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
        assert process.returncode == 130
        assert list(temporary.glob("reviewer-tools-*")) == []
    finally:
        end_all(process, tmp_path / "no-agent")


def test_ctrl_c_leaves_no_copy_of_the_checkout_an_agent_reads_nor_its_home(repo: GitRepo, model_server: ModelServer, tmp_path: Path) -> None:
    pid_file = tmp_path / "agent.pid"
    command, env, temporary = with_agent(repo, model_server, tmp_path, f"echo $$ > {pid_file}\nexec sleep 60")  # it thinks for a minute
    process = subprocess.Popen(command, cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        made = sorted(p.name.split("-")[1] for p in temporary.iterdir())
        assert made == ["agent", "tree"], (made, process.poll())  # the agent runs, in its copy of the checkout
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at a terminal: to reviewer (its agent is in a group of its own)
        process.communicate(timeout=20)
        assert process.returncode == 130
        assert list(temporary.iterdir()) == []
    finally:
        end_all(process, pid_file)
