"""Progress as the run goes (plain lines in CI, retries said as they happen), and Ctrl-C that stops at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Recorded, Reply

ROOT = Path(__file__).resolve().parent.parent


def two_files(repo: GitRepo) -> None:
    """Two files that do not fit one chunk of 1,000 tokens: two requests."""
    repo.write("a.py", "a = 0\n")
    repo.write("b.py", "b = 0\n")
    repo.commit("base")
    repo.write("a.py", "".join(f"alpha_value_{i} = compute_alpha({i}, strict=True)\n" for i in range(60)))
    repo.write("b.py", "".join(f"beta_value_{i} = compute_beta({i}, strict=True)\n" for i in range(60)))
    repo.commit("change")
    repo.write(".reviewer.toml", "[review]\nmax_chunk_tokens = 1000\n")


def test_ci_gets_plain_progress_lines_with_the_retries(repo: GitRepo, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    two_files(repo)
    monkeypatch.setenv("CI", "true")
    model_server.queue(Reply(status=429, error="rate limited", headers={"retry-after-ms": "10"}))
    code = run(["local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m", "--format", "json"])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "requests answered" in line]
    requests = len(model_server.posts()) - 1  # the one refused with 429 was retried
    assert requests >= 2 and len(lines) == requests + 1  # a line for each answer, and one for the retry as it happened
    assert "rate limited (429): retrying in 0 s" in err and "1 retry" in lines[-1]
    assert lines[-1].startswith(f"reviewer: {requests}/{requests} requests answered, 0 in flight · 0:0")
    assert "prompt + " in lines[-1] and "output tokens · $0.0000" in lines[-1]


@pytest.mark.parametrize(("stop", "status", "said"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_reports_what_was_answered_and_exits_130_at_once(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, stop: signal.Signals, status: int, said: str
) -> None:
    """And SIGTERM (a CI runner's cancel) as Ctrl-C, with 143."""
    two_files(repo)
    finding = {"path": "a.py", "line": 1, "severity": "major", "category": "bug", "title": "answered before Ctrl-C", "body": "b"}

    def answer(request: Recorded) -> Reply:  # a.py at once; b.py thinks for a minute
        return Reply(content=json.dumps({"findings": [finding]})) if "alpha_value" in request.text else Reply(delay=60)

    model_server.responder = answer
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "reviewer.cli", "local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m"]
    process = subprocess.Popen(command, cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(model_server.posts()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a.py's answer is in
    interrupted = time.monotonic()
    process.send_signal(stop)
    out, err = process.communicate(timeout=20)
    assert process.returncode == status
    assert time.monotonic() - interrupted < 5  # not the minute b.py would take
    assert "a.py:1: major: answered before Ctrl-C" in out
    assert "error: interrupted before it was answered (not reviewed: b.py)" in out
    assert "1 request abandoned; nothing more is billed once their connections close" in out
    assert f"reviewer: {said}; any request in flight was abandoned" in err

