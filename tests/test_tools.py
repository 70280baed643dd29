"""Read-only tools for HTTP backends: the loopback model calls read_file, grep and list_files over both protocols."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Recorded, Reply

SETTINGS = "TIMEOUT_SECONDS = 0  # zero means: wait forever\n"
ANSWER = {"findings": [{"path": "client.py", "line": 4, "severity": "major", "category": "bug", "title": "Waits forever", "body": "TIMEOUT_SECONDS is 0 in settings.py."}]}


def change(repo: GitRepo) -> None:
    repo.write("settings.py", SETTINGS)
    repo.write("secure/keys.py", "MASTER = 'do-not-send'\n")
    repo.write("client.py", "import settings\n\n\ndef fetch(url):\n    return url\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("client.py", "import settings\n\n\ndef fetch(url):\n    return get(url, timeout=settings.TIMEOUT_SECONDS)\n")
    repo.commit("use the timeout")


def config(tmp_path: Path, server: ModelServer, protocol: str = "openai", extra: str = "") -> Path:
    url = server.openai_url if protocol == "openai" else server.anthropic_url
    path = tmp_path / "tools.toml"
    path.write_text(
        f'[routes]\nreview = ["model"]\nsummarize = ["model"]\n\n[backends.model]\nprotocol = "{protocol}"\nbase_url = "{url}"\n'
        f'model = "m"\neffort = "none"\n{extra}\n[review]\ntools = true\ncontext_tokens = 0\n',
        encoding="utf-8",
    )
    return path


def review(capsys: pytest.CaptureFixture[str], path: Path) -> dict:
    capsys.readouterr()
    run(["local", "--base", "main", "--format", "json", "--config", str(path)])
    return json.loads(capsys.readouterr().out)


def tool_results(request: Recorded) -> list[str]:
    """The tool results a request carries back, in either protocol."""
    out = []
    for message in request.body["messages"]:
        if message["role"] == "tool":
            out.append(message["content"])
        elif isinstance(message.get("content"), list):
            out += [b["content"] for b in message["content"] if b.get("type") == "tool_result"]
    return out


@pytest.mark.parametrize(("protocol", "stream"), [("openai", True), ("openai", False), ("anthropic", True), ("anthropic", False)])
def test_the_model_reads_a_file_outside_the_diff_then_answers_from_it(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: str, stream: bool
) -> None:
    change(repo)
    model_server.queue(Reply(content="", tool_call=("read_file", {"path": "settings.py"})), Reply(content=json.dumps(ANSWER)))
    result = review(capsys, config(tmp_path, model_server, protocol, f"stream = {str(stream).lower()}\n"))

    first, second = model_server.posts()
    assert {t.get("name") or t["function"]["name"] for t in first.body["tools"]} == {"read_file", "grep", "list_files"}
    assert "TIMEOUT_SECONDS = 0" not in first.text  # only the tool shows it
    [read] = tool_results(second)
    assert "1 | TIMEOUT_SECONDS = 0  # zero means: wait forever" in read
    assert [f["title"] for f in result["findings"]] == ["Waits forever"]
    assert result["usage"]["requests"] == 2  # both rounds are counted and billed


def test_a_model_that_calls_no_tool_answers_in_one_round(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    model_server.default = Reply(content=json.dumps(ANSWER))
    result = review(capsys, config(tmp_path, model_server))
    assert len(model_server.posts()) == 1 and [f["title"] for f in result["findings"]] == ["Waits forever"]


def test_a_withheld_path_is_refused_by_every_tool(repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    rule = '[backends.gpu]\nbase_url = "http://gpu-box:8000/v1"\nmodel = "g"\n\n[[routes.rules]]\npaths = ["secure/**"]\nbackends = ["gpu"]\n'
    path = config(tmp_path, model_server, extra=rule)
    path.write_text(path.read_text().replace('summarize = ["model"]', 'summarize = ["model", "gpu"]'))
    model_server.queue(
        Reply(content="", tool_call=("read_file", {"path": "secure/keys.py"})),
        Reply(content="", tool_call=("grep", {"pattern": "MASTER"})),
        Reply(content="", tool_call=("list_files", {"path": "secure"})),
        Reply(content="", tool_call=("read_file", {"path": "../../etc/passwd"})),
        Reply(content=json.dumps({"findings": []})),
    )
    result = review(capsys, path)
    assert result["errors"] == []
    results = tool_results(model_server.posts()[-1])
    assert len(results) == 4
    assert "refused" in results[0] and "not available" in results[0]
    assert results[1] == "no match"
    assert "refused" in results[2] and "refused" in results[3]
    assert not any("do-not-send" in r.text for r in model_server.posts())


def test_reasoning_goes_back_with_the_tool_results_when_thinking_is_on(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    path = config(tmp_path, model_server, extra='dialect = "deepseek"\n')
    path.write_text(path.read_text().replace('effort = "none"', 'effort = "high"'))
    model_server.queue(
        Reply(content="", reasoning="I need the timeout's value.", tool_call=("read_file", {"path": "settings.py"})),
        Reply(content=json.dumps(ANSWER), reasoning="It is zero."),
    )
    result = review(capsys, path)
    first, second = model_server.posts()
    assert first.body["thinking"] == {"type": "enabled"}
    [assistant] = [m for m in second.body["messages"] if m["role"] == "assistant"]
    assert assistant["reasoning_content"] == "I need the timeout's value."
    assert assistant["tool_calls"][0]["function"]["name"] == "read_file"
    assert [f["title"] for f in result["findings"]] == ["Waits forever"]


def test_anthropic_thinking_blocks_go_back_with_their_signature(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    path = config(tmp_path, model_server, "anthropic")
    path.write_text(path.read_text().replace('effort = "none"', 'effort = "high"'))
    model_server.queue(
        Reply(content="", reasoning="Read the settings first.", tool_call=("read_file", {"path": "settings.py"})),
        Reply(content=json.dumps(ANSWER)),
    )
    review(capsys, path)
    second = model_server.posts()[1]
    [assistant] = [m for m in second.body["messages"] if m["role"] == "assistant"]
    kinds = [b["type"] for b in assistant["content"]]
    assert kinds == ["thinking", "tool_use"]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "Read the settings first.", "signature": "sig"}


def test_tool_rounds_are_capped_and_the_model_is_asked_to_answer(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo)
    path = config(tmp_path, model_server)
    path.write_text(path.read_text() + "tool_rounds = 1\n")
    model_server.queue(
        Reply(content="", tool_call=("list_files", {})),
        Reply(content="", tool_call=("read_file", {"path": "settings.py"})),
        Reply(content=json.dumps(ANSWER)),
    )
    result = review(capsys, path)
    listing, refusal = tool_results(model_server.posts()[2])
    assert "settings.py" in listing and "secure/keys.py" in listing
    assert refusal.startswith("refused: this review's 1 tool rounds are used up")
    assert [f["title"] for f in result["findings"]] == ["Waits forever"]
