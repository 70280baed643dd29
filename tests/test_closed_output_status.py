"""A pipe that closes under a run neither stops it nor changes its exit status (reviewer.cli._Unread).

`reviewer … 2>&1 | head -3` (a hook or a CI step that trims its log, with `set -o pipefail`): head exits, and the next
progress line on stderr meets a broken pipe. Only a shell that asks (pipefail, PIPESTATUS) sees our status in a
pipeline at all; it must be the review's: a 0 would pass a gate the review failed, a 1 would fail one it passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Reply

ROOT = Path(__file__).resolve().parent.parent


def with_stderr_gone(command: list[str], cwd: Path, env: dict[str, str], stdout: Path) -> int:
    reading, writing = os.pipe()
    os.close(reading)  # the log's reader is gone (head exited)
    try:
        with stdout.open("w") as out:
            return subprocess.run([sys.executable, "-m", "reviewer.cli", *command], cwd=cwd, env=env, stdout=out, stderr=writing, timeout=120).returncode
    finally:
        os.close(writing)


def a_critical_bug(repo: GitRepo, model_server: ModelServer) -> None:
    """A change in which the model finds a critical bug."""
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.write("a.py", "".join(f"alpha_value_{i} = compute_alpha({i})\n" for i in range(20)))
    repo.commit("change")
    blocking = {"path": "a.py", "line": 1, "severity": "critical", "category": "bug", "title": "a blocking bug", "body": "b"}
    model_server.responder = lambda request: Reply(content=json.dumps({"findings": [blocking]}))


def test_local_with_stderr_gone_mid_run_finishes_and_keeps_its_status(repo: GitRepo, model_server: ModelServer, tmp_path: Path) -> None:
    a_critical_bug(repo, model_server)
    out = tmp_path / "out.txt"
    code = with_stderr_gone(
        ["local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "critical"],
        repo.root, {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}, out,
    )
    assert code == 1, f"exit {code} with a critical finding and --fail-on critical; stdout: {out.read_text()!r}"
    assert "a.py:1: critical: a blocking bug" in out.read_text()  # the review was printed whole


def test_pr_with_stderr_gone_mid_run_posts_its_review_and_keeps_its_status(scenario: Scenario, gh: GitHubServer, tmp_path: Path) -> None:
    make_pull(scenario.repo, gh)
    scenario.findings = [finding("src/app.py", 6, "critical", "security", "eval on file content")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true", "GITHUB_API_URL": gh.api, "GITHUB_TOKEN": TOKEN}
    command = [
        "pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config),
        "--fail-on", "critical",
    ]
    code = with_stderr_gone(command, scenario.repo.root, env, tmp_path / "out.txt")
    assert len(gh.submitted_reviews()) == 1, f"exit {code}, {len(scenario.review_requests())} review request(s) sent, nothing posted"
    assert code == 1


# An ASCII stdout (PYTHONIOENCODING=ascii; LC_ALL=C with PYTHONUTF8=0) is "misconfigured" to click: it wraps the
# stream's binary buffer in a text stream of its own, where a broken pipe was click's silent exit 1.
@pytest.mark.parametrize(("fail_on", "status", "encoding"), [("critical", 1, "utf-8"), ("none", 0, "utf-8"), ("none", 0, "ascii")])
def test_with_stdout_gone_the_status_is_the_reviews(repo: GitRepo, model_server: ModelServer, fail_on: str, status: int, encoding: str) -> None:
    # `reviewer local --fail-on critical | head -1` with pipefail: the gate fails on the finding it found, and only then.
    a_critical_bug(repo, model_server)
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "reviewer.cli", "local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m",
             "--fail-on", fail_on],
            cwd=repo.root, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": encoding}, stdout=writing, stderr=subprocess.PIPE,
            text=True, timeout=120,
        )
    finally:
        os.close(writing)
    assert model_server.posts(), done.stderr  # the review was done, and found a critical bug
    assert (done.returncode, done.stderr) == (status, "")


@pytest.mark.parametrize("closed", [1, 2])
def test_started_with_stdout_or_stderr_closed_the_status_is_the_reviews(repo: GitRepo, model_server: ModelServer, closed: int) -> None:
    # `reviewer local >&-` or `2>&-` (a hook that closes what it does not want): Python starts with that stream None.
    a_critical_bug(repo, model_server)
    done = subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m",
         "--fail-on", "none"],
        cwd=repo.root, env={**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.close(closed),  # noqa: PLW1509 - no thread runs in this test process's child before exec
    )
    assert model_server.posts()  # the review was done
    assert (done.returncode, "Traceback" in done.stdout + done.stderr) == (0, False), done.stdout + done.stderr

