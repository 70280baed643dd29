"""Routes, fallback and data-sovereignty rules, end to end: `reviewer local` against two loopback servers.

"external" stands for a hosted API (self_hosted = false), "gpu-box" for the team's own server.
What each server's request log holds is the proof of what left the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply

SECRET = "TOP-SECRET-SIGNING-KEY-1234"


def finding(path: str, line: int, title: str) -> str:
    return json.dumps({"findings": [{"path": path, "line": line, "severity": "major", "category": "bug", "title": title, "body": "b"}]})


@pytest.fixture
def external() -> Iterator[ModelServer]:
    with ModelServer(Reply(content=finding("app.py", 2, "external finding"))) as server:
        yield server


@pytest.fixture
def gpu_box() -> Iterator[ModelServer]:
    with ModelServer() as server:
        # Answers about whichever file it was sent, so the output shows who reviewed what.
        server.responder = lambda r: Reply(content=finding("secure/keys.py" if "secure/keys.py" in r.text else "app.py", 2, "gpu finding"))
        yield server


def write_config(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, *, routes: str = "", gpu: str = 'dialect = "vllm"'
) -> None:
    repo.trust()
    repo.write(
        ".reviewer.toml",
        f"""
[routes]
review = ["external", "gpu-box"]
summarize = "external"
{routes}

[[routes.rules]]
paths = ["secure/**"]
backends = ["gpu-box"]

[backends.external]
base_url = "{external.openai_url}"
model = "deepseek-v4-pro"
dialect = "deepseek"
self_hosted = false
timeout_seconds = 0.5
max_retries = 1

[backends.gpu-box]
base_url = "{gpu_box.openai_url}"
model = "deepseek-ai/DeepSeek-V4-Flash"
max_retries = 0
{gpu}
""",
    )


def change(repo: GitRepo) -> None:
    repo.write("app.py", "def ratio(a, b):\n    return 0\n")
    repo.write("secure/keys.py", "PLAN = None\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "def ratio(a, b):\n    return a / b\n")
    repo.write("secure/keys.py", f'PLAN = "{SECRET}"\n')  # confidential, but no secret the redaction masks


def review(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = run(["local", "--base", "main", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def answered(output: dict[str, Any]) -> dict[str, str]:
    return {path: a["backend"] for a in output["answered_by"] for path in a["paths"]}


@pytest.mark.parametrize(("failure", "said"), [(Reply(status=500, error="boom"), "failed with 500"), (Reply(delay=2.0), "did not answer within 0.5 s")])
def test_failing_primary_falls_back_and_the_output_says_who_answered(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str], failure: Reply, said: str
) -> None:
    change(repo)
    write_config(repo, external, gpu_box)
    external.default = failure
    code, output = review(capsys)
    assert answered(output) == {"app.py": "gpu-box", "secure/keys.py": "gpu-box"}
    assert any("'external'" in n and said in n for n in output["notes"]), output["notes"]
    assert output["errors"] == [] and output["incomplete"] is False
    assert {f["title"] for f in output["findings"]} == {"gpu finding"}
    assert code == 0
    assert len(external.posts()) == 2  # its own retry (max_retries = 1), then the fallback took over
    assert all(SECRET not in r.text for r in external.requests)


def test_secure_paths_never_reach_the_external_server(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    write_config(repo, external, gpu_box)
    code, output = review(capsys)
    assert answered(output) == {"app.py": "external", "secure/keys.py": "gpu-box"}
    assert external.posts() and all(SECRET not in r.text and "secure/keys.py" not in r.text for r in external.requests)
    assert any(SECRET in r.text for r in gpu_box.posts())
    assert all("return a / b" not in r.text for r in gpu_box.posts())  # and the rule does not pull other files along
    assert code == 0


def test_secure_file_is_reported_unreviewed_when_its_only_backend_fails(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    write_config(repo, external, gpu_box)
    gpu_box.responder = None
    gpu_box.default = Reply(status=503, error="gpu busy")
    code, output = review(capsys)
    skipped = {s["path"]: s["reason"] for s in output["skipped"]}
    assert "gpu-box" in skipped["secure/keys.py"] and "503" in skipped["secure/keys.py"]
    assert answered(output) == {"app.py": "external"}
    assert all(SECRET not in r.text for r in external.requests)  # the fallback order never overrides a rule
    assert code == 3


def test_self_hosted_only_sends_nothing_outside(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    write_config(repo, external, gpu_box, routes="self_hosted_only = true")
    code, output = review(capsys)
    assert external.requests == []
    assert answered(output) == {"app.py": "gpu-box", "secure/keys.py": "gpu-box"}
    assert code == 0


def test_self_hosted_only_with_no_self_hosted_route_reviews_nothing_and_says_why(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    repo.trust()
    repo.write(
        ".reviewer.toml",
        f'[routes]\nreview = ["external"]\nsummarize = "external"\nself_hosted_only = true\n\n'
        f'[backends.external]\nbase_url = "{external.openai_url}"\nmodel = "deepseek-v4-pro"\nself_hosted = false\n',
    )
    code, output = review(capsys)
    assert external.requests == [] and gpu_box.requests == []
    # (the untracked .reviewer.toml is listed too, as untracked)
    reasons = {s["path"]: s["reason"] for s in output["skipped"] if not s["reason"].startswith("untracked")}
    assert set(reasons) == {"app.py", "secure/keys.py"}
    assert all("self_hosted_only" in r for r in reasons.values())
    assert output["answered_by"] == []
    assert code == 0


def test_an_effort_the_server_cannot_honour_is_said_in_the_run_output(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    write_config(repo, external, gpu_box, routes="self_hosted_only = true", gpu='dialect = "ollama"\neffort = "max"')
    code, output = review(capsys)
    assert any("'gpu-box'" in n and "cannot honour effort 'max'" in n for n in output["notes"]), output["notes"]
    assert gpu_box.posts()[0].body["reasoning_effort"] == "high"  # what it ran at instead
    assert code == 0


def test_text_output_says_which_backend_answered_what(
    repo: GitRepo, external: ModelServer, gpu_box: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    write_config(repo, external, gpu_box)
    run(["local", "--base", "main"])
    out = capsys.readouterr().out
    assert "review of app.py: answered by external (deepseek-v4-pro)" in out
    assert "review of secure/keys.py: answered by gpu-box (deepseek-ai/DeepSeek-V4-Flash)" in out
