"""The rough edges a new user met in their first hour, each driven through the CLI as they met it."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reviewer.backends.base import Usage
from reviewer.cli import run
from reviewer.publishers.terminal import cost_line
from reviewer.review import Answered, Review
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Reply

ROOT = Path(__file__).resolve().parent.parent


def three_files(repo: GitRepo) -> None:
    for n in (1, 2, 3):
        repo.write(f"f{n}.py", f"x = {n}\n")
    repo.commit("base")
    for n in (1, 2, 3):
        repo.write(f"f{n}.py", f"x = {n * 10}\n")


def one_off(server: ModelServer, *extra: str) -> list[str]:
    return ["local", "--base-url", server.openai_url, "--model", "m", *extra]


def test_one_backend_failure_prints_one_line(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    three_files(repo)
    model_server.default = Reply(status=400, error="model 'm' not found")
    assert run(one_off(model_server)) == 3
    out = capsys.readouterr().out
    port = model_server.openai_url.split(":")[2].split("/")[0]
    errors = [line for line in out.splitlines() if "model 'm' not found" in line]
    assert len(errors) == 1, out
    # The one-off backend is named after the host the user typed, and the files it left are named on that line.
    assert errors[0].startswith(f"error: backend '127.0.0.1:{port}'") and errors[0].endswith("(not reviewed: f1.py, f2.py, f3.py)")
    assert "skipped" not in out


def test_the_one_off_key_variable_is_documented_and_sent(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["local", "--help"]) == 0
    assert "REVIEWER_API_KEY" in capsys.readouterr().out
    assert "REVIEWER_API_KEY" in (ROOT / "README.md").read_text(encoding="utf-8")
    three_files(repo)
    monkeypatch.setenv("REVIEWER_API_KEY", "sk-one-off")
    assert run(one_off(model_server)) == 0
    assert model_server.posts()[0].headers["authorization"] == "Bearer sk-one-off"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--base-url", "localhost:8000/v1", "--model", "m"], "--base-url 'localhost:8000/v1' must start with http:// or https://"),
        (["--max-cost", "-1"], "--max-cost must be at least 0"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_bad_flags_stop_before_any_request(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    three_files(repo)
    assert run(["local", *flags]) == 2
    err = capsys.readouterr().err
    assert err == f"reviewer: error: {message}" + err[len(f"reviewer: error: {message}"):] and message in err
    assert model_server.posts() == []


def test_an_unset_key_variable_stops_before_any_request(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    three_files(repo)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[routes]\nreview = "hosted"\n[backends.hosted]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n'
        'self_hosted = false\napi_key_env = "ACME_LLM_KEY"\n'
    )
    assert run(["local", "--config", str(config)]) == 2
    assert "set the environment variable ACME_LLM_KEY" in capsys.readouterr().err
    assert model_server.posts() == []
    # A server on your own network may need no key at all: the same backend, self-hosted, is asked.
    config.write_text(config.read_text().replace("self_hosted = false", "self_hosted = true"))
    assert run(["local", "--config", str(config)]) == 0
    assert len(model_server.posts()) == 1


def test_an_unset_route_follows_review(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Review on your own server, summarize not set: the summary must not go to DeepSeek."""
    three_files(repo)
    config = tmp_path / "config.toml"
    config.write_text(f'[routes]\nreview = "gpu"\n[backends.gpu]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n')
    model_server.default = Reply('{"findings": [], "title": "t", "walkthrough": [], "risks": []}')
    assert run(["local", "--summary", "--config", str(config)]) == 0  # no DEEPSEEK_API_KEY: nothing went there
    assert len(model_server.posts()) == 1  # one backend serves both tasks: one request answers both
    capsys.readouterr()
    assert run(["summarize", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["answered_by"][0]["backend"] == "gpu"
    assert run(["config", "show", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f'review = ["gpu"]  # gpu ({model_server.openai_url}, self-hosted)' in out
    assert f"# summarize is not set, so it follows review: gpu ({model_server.openai_url}, self-hosted)" in out


def test_a_repository_cannot_route_a_task_you_left_to_follow_review(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    three_files(repo)
    user = Path(os.environ["HOME"]) / ".config" / "reviewer" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(f'[routes]\nreview = "gpu"\n[backends.gpu]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n')
    repo.write(".reviewer.toml", '[routes]\nsummarize = "deepseek-pro"\n')
    assert run(["config", "show"]) == 0
    assert "# summarize is not set, so it follows review: gpu" in capsys.readouterr().out


def test_cost_unknown_for_an_unpriced_backend(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    three_files(repo)
    config = tmp_path / "config.toml"
    config.write_text(f'[routes]\nreview = "hosted"\n[backends.hosted]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\nself_hosted = false\n')
    assert run(["local", "--config", str(config)]) == 0
    footer = capsys.readouterr().out.splitlines()[-1]
    assert footer.endswith("cost unknown (no price for hosted: set price_input and price_output)") and "$" not in footer


def test_the_deepseek_rate_is_named() -> None:
    def answered(rate: str | None, backend: str = "deepseek-pro") -> Answered:
        return Answered("review", backend, "deepseek-v4-pro", ("a.py",), Usage(1, 10, 0, 10, 0), 0.01, rate)

    def review(*answers: Answered) -> Review:
        return Review((), None, Usage(), 0.0123, (), (), answered=answers)

    assert cost_line(review(answered("peak"))) == "cost $0.0123 at DeepSeek's peak rate"
    assert cost_line(review(answered("off-peak"))) == "cost $0.0123 at DeepSeek's off-peak rate"
    assert cost_line(review(answered("off-peak"), answered("unknown", "box"))) == "cost $0.0123 + unknown for box at DeepSeek's off-peak rate"
    assert cost_line(review(answered(None, "box"))) == "cost $0.0123"


def test_peak_is_decided_by_deepseek_s_hours() -> None:
    from reviewer import pricing
    from reviewer.config import BUILTIN_BACKENDS

    pro = BUILTIN_BACKENDS["deepseek-pro"]
    assert pricing.rate(pro, datetime(2026, 11, 30, 2, tzinfo=timezone.utc)) == "peak"  # a Monday, 02:00 UTC
    assert pricing.rate(pro, datetime(2026, 11, 29, 2, tzinfo=timezone.utc)) == "off-peak"  # a Sunday


def test_the_cost_cap_message_shows_the_estimate_and_the_limit(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    three_files(repo)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[routes]\nreview = "paid"\n[backends.paid]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n'
        "self_hosted = false\nprice_input = 100.0\nprice_output = 100.0\n"
    )
    assert run(["local", "--config", str(config), "--max-cost", "0.01"]) == 3
    out = capsys.readouterr().out
    assert "is estimated at $" in out and "of the max_cost_usd limit of $0.0100" in out and "raise it with --max-cost" in out
    assert model_server.posts() == []


def test_nothing_to_review_is_one_line(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    assert run(["local"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("reviewer: nothing to review")


def test_summarize_refuses_options_that_do_nothing(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["summarize", "--fail-on", "major"]) == 2
    assert "No such option '--fail-on'" in capsys.readouterr().err
    assert run(["summarize", "--help"]) == 0
    assert "--fail-on" not in capsys.readouterr().out


def test_errors_have_one_prefix_and_commands_suggest_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lcoal"]) == 2
    assert capsys.readouterr().err == "reviewer: error: no command named 'lcoal'; did you mean 'local'? (see `reviewer --help`)\n"
    assert run(["local", "--fial-on", "major"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reviewer: error: No such option '--fial-on'") and "--fail-on" in err and "Usage:" not in err
    assert run(["config", "sho"]) == 2
    assert capsys.readouterr().err.startswith("reviewer: error: ")


def test_config_check_reports_every_problem(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(
        ".reviewer.toml",
        '[review]\nconcurrency = 0\nfail_on = "high"\nignor = ["*.lock"]\n[github]\nmax_files = -1\n'
        '[routes]\nreview = "nope"\n[backends.box]\nprotocol = "grpc"\nmodel = "m"\n',
    )
    assert run(["config", "check"]) == 2
    err = capsys.readouterr().err
    for problem in (
        "review.concurrency = 0 must be at least 1",
        "review.fail_on = 'high' is not one of",
        "unknown key 'review.ignor'; did you mean 'ignore'?",
        "github.max_files = -1 must be at least 0",
        "backends.box.protocol = 'grpc' is not one of",
    ):
        assert problem in err, problem


def test_pr_says_what_it_did_and_no_library_log_leaks(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    make_pull(scenario.repo, gh)
    scenario.findings = [{"path": "src/app.py", "line": 6, "severity": "major", "category": "security", "title": "eval", "body": "Runs code."}]
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run(args) == 0
    err = capsys.readouterr().err.splitlines()
    assert all(line.startswith("reviewer: ") for line in err), err
    last = err[-1]
    assert "/pull/1" in last and ": 1 finding · " in last and "prompt tokens" in last and "cost $0.0000" in last


def test_progress_honours_no_color(repo: GitRepo, model_server: ModelServer) -> None:
    """On a terminal progress lines are dimmed; with NO_COLOR set, not a single escape sequence."""
    three_files(repo)

    def stderr_on_a_terminal(extra_env: dict[str, str]) -> bytes:
        leader, follower = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
        done = subprocess.run(
            [sys.executable, "-c", "from reviewer.cli import main; main()", *one_off(model_server)],
            cwd=repo.root, env=env, stderr=follower, stdout=subprocess.DEVNULL, timeout=60, check=False,
        )
        os.close(follower)
        assert done.returncode == 0
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        return b"".join(chunks)

    coloured = stderr_on_a_terminal({})
    assert b"sending 1 request(s)" in coloured and b"\x1b[" in coloured
    plain = stderr_on_a_terminal({"NO_COLOR": "1"})
    assert b"sending 1 request(s)" in plain and b"\x1b" not in plain
