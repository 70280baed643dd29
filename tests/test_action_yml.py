"""The composite action and the workflows, parsed as GitHub would read them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FEATHER_EXCLUDED = {"coffee", "columns", "divide-circle", "divide-square", "divide", "frown", "hexagon", "key", "meh", "mouse-pointer", "smile", "tool", "x-octagon"}


def load(path: str) -> dict[Any, Any]:
    document = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_runners_cancel_reaches_reviewer_itself(tmp_path: Path, stop: signal.Signals) -> None:
    """A cancel signals the step's shell, which runs the script as bash does on a runner: only with `exec` does
    reviewer get it, and stop its agents. Else bash waits (SIGINT) or dies (SIGTERM), and reviewer runs on."""
    [review] = [step for step in load("action.yml")["runs"]["steps"] if step.get("id") == "review"]
    got, ready = tmp_path / "got", tmp_path / "ready"
    reviewer = tmp_path / "reviewer-venv" / "bin" / "reviewer"
    reviewer.parent.mkdir(parents=True)
    reviewer.write_text(
        f"#!{sys.executable}\nimport signal, sys, time\n"
        f"def stopped(number, frame):\n    open({str(got)!r}, 'w').write(signal.Signals(number).name)\n    sys.exit(1)\n"
        "signal.signal(signal.SIGINT, stopped)\nsignal.signal(signal.SIGTERM, stopped)\n"
        f"open({str(ready)!r}, 'w').close()\ntime.sleep(60)\n",
        encoding="utf-8",
    )
    reviewer.chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(review["run"], encoding="utf-8")
    shell = subprocess.Popen(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env={**os.environ, "RUNNER_TEMP": str(tmp_path)})
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shell.send_signal(stop)  # what the runner does: to the step's process alone
        shell.wait(timeout=30)
        assert got.read_text() == stop.name
    finally:
        shell.kill()
        shell.wait()


def test_action_inputs_outputs_and_steps() -> None:
    action = load("action.yml")
    assert action["name"] and action["description"]
    inputs = action["inputs"]
    assert {"token", "deepseek-api-key", "base-url", "model", "effort", "config", "fail-on"} <= set(inputs)
    assert inputs["token"]["default"] == "${{ github.token }}"
    assert all(spec.get("description") for spec in inputs.values())
    assert all(isinstance(spec.get("default", ""), str) for spec in inputs.values())
    outputs = action["outputs"]
    assert set(outputs) == {"findings", "cost-usd", "review-url"}
    for name, spec in outputs.items():
        assert spec["value"] == f"${{{{ steps.review.outputs.{name} }}}}"

    runs = action["runs"]
    assert runs["using"] == "composite"
    steps = runs["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert all(step.get("shell") == "bash" for step in steps if "run" in step)  # composite run steps need a shell
    install = next(step for step in steps if "pip install" in step.get("run", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"]  # the action's own code, not the PR's
    review = next(step for step in steps if step.get("id") == "review")
    assert review["run"].strip().endswith('/bin/reviewer" action')  # the venv's reviewer, installed one step earlier
    assert "${{" not in review["run"]  # inputs reach the program through env only (no script injection)
    env = review["env"]
    assert env["INPUT_TOKEN"] == "${{ inputs.token }}" and env["DEEPSEEK_API_KEY"] == "${{ inputs.deepseek-api-key }}"
    for name in ("base-url", "model", "effort", "config", "fail-on"):
        assert env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"

    branding = action["branding"]
    assert branding["color"] in {"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
    assert branding["icon"] not in FEATHER_EXCLUDED


def test_example_review_workflow_uses_pull_request_with_least_permissions() -> None:
    workflow = load(".github/workflows/review.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert set(triggers["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "ready_for_review"}
    assert workflow["permissions"] == {}  # nothing by default; the job asks for what it needs
    assert workflow["jobs"]["review"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = workflow["jobs"]["review"]["steps"]
    assert any(step.get("uses") == "./" for step in steps)


def test_ci_runs_the_suite_on_every_supported_python() -> None:
    workflow = load(".github/workflows/ci.yml")
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses) and any(u.startswith("actions/setup-node@") for u in uses)
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])


def test_fork_two_step_never_runs_pr_code_with_a_write_token() -> None:
    analyze = load(".github/examples/review-fork-analyze.yml")
    publish = load(".github/examples/review-fork-publish.yml")
    assert list(analyze[True]) == ["pull_request"]
    assert analyze["permissions"] == {} and "write" not in analyze["jobs"]["analyze"]["permissions"].values()
    analyze_runs = " ".join(s.get("run", "") for s in analyze["jobs"]["analyze"]["steps"])
    assert "--no-post" in analyze_runs and "--output review.json" in analyze_runs

    assert publish[True]["workflow_run"]["workflows"] == [analyze["name"]]
    assert publish["jobs"]["publish"]["permissions"]["pull-requests"] == "write"
    steps = publish["jobs"]["publish"]["steps"]
    assert not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps)
    assert any("reviewer publish review.json --head-sha" in s.get("run", "") for s in steps)
    # No expression is pasted into a script: untrusted values travel through env.
    for s in analyze["jobs"]["analyze"]["steps"] + steps:
        assert not re.search(r"\$\{\{", s.get("run", ""))


def test_fork_two_step_posts_the_review_that_fails_the_gate() -> None:
    # The analyze step exits 1 on a finding at or above the base branch's `fail_on` (3 on a partial review): the red check
    # on the PR is the gate. The review that says why must still be saved and posted, not dropped with the step's status.
    analyze = load(".github/examples/review-fork-analyze.yml")
    publish = load(".github/examples/review-fork-publish.yml")
    steps = analyze["jobs"]["analyze"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert "!cancelled()" in str(upload.get("if", "")) or "always()" in str(upload.get("if", ""))
    condition = publish["jobs"]["publish"]["if"]
    assert "workflow_run.conclusion == 'failure'" in condition, condition
