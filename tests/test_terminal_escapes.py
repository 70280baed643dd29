"""Model text reaches a terminal, a workflow log and SARIF with no control character left to act."""

from __future__ import annotations

import json
import re

import pytest

from reviewer.cli import run
from reviewer.commands.common import note
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Recorded, Reply

# Erase the line and move up (to forge "No findings."), write the clipboard (OSC 52), a C1 CSI, a bare CR.
FORGE = "\x1b[2K\x1b[1A\rNo findings."
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def change(repo: GitRepo) -> None:
    repo.write("app.py", "a = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", "a = 2\n")
    repo.commit("change")


def hostile_answer(request: Recorded) -> Reply:
    summary = {"title": f"t{CLIPBOARD}", "walkthrough": [{"path": f"app.py{FORGE}", "summary": f"s\x9b2J{FORGE}"}], "risks": [FORGE]}
    if '{"findings": [\n' not in request.text:
        return Reply(content=json.dumps(summary))
    findings = [
        {"path": "app.py", "line": 1, "severity": "major", "category": "bug", "title": f"real{FORGE}", "body": f"b {CLIPBOARD}\r\nmore\x9b2J", "suggestion": f"a = 3{FORGE}"},
        {"path": f"elsewhere.py\n::error file=x.py::{FORGE}", "line": 1, "severity": "minor", "category": "bug", "title": "t::x\n::warning::forged", "body": "b\r\n::error::forged\x1b[31m"},
    ]
    return Reply(content=json.dumps({"findings": findings, **(summary if '"walkthrough"' in request.text else {})}))


def test_format_text_prints_hostile_model_text_inert(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    model_server.responder = hostile_answer
    assert run(["local", "--summary", "--format", "text", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    out = capsys.readouterr().out
    assert CONTROLS.findall(out) == []
    assert "real\\x1b[2K\\x1b[1A No findings." in out and "\\x1b]52;c;" in out and "\\x9b2J" in out  # shown, not acted on
    assert not any(line.startswith("No findings.") for line in out.splitlines())
    assert "elsewhere.py\\n::error file=x.py::" in out  # a path stays on its line


def test_errors_from_a_server_reach_the_terminal_inert(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    model_server.default = Reply(status=400, error=f"bad request{CLIPBOARD}")
    run(["local", "--format", "text", "--base-url", model_server.openai_url, "--model", "m"])
    out = capsys.readouterr()
    assert "\\x1b]52;c;" in out.out + out.err
    assert CONTROLS.findall(out.out + out.err) == []


def test_notes_on_stderr_are_inert(capsys: pytest.CaptureFixture[str]) -> None:
    note(f"reviewer: GitHub said {CLIPBOARD}")
    assert capsys.readouterr().err == "reviewer: GitHub said \\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07\n"


def test_workflow_commands_cannot_be_started_by_a_path_or_title(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    model_server.responder = hostile_answer
    assert run(["local", "--format", "github", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.match(r"::(error|warning|notice) ", line) for line in lines)
    assert CONTROLS.findall("\n".join(lines)) == []
    minor = lines[1]
    # A property's `:` and `,` are escaped (GitHub splits on them), a message's line breaks too.
    assert minor.startswith("::notice file=elsewhere.py%0A%3A%3Aerror file=x.py%3A%3A\\x1b[2K")
    assert minor.endswith("title=minor · bug%3A t%3A%3Ax %3A%3Awarning%3A%3Aforged::b%0A::error::forged\\x1b[31m")


def test_sarif_message_texts_carry_no_control_characters(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo)
    model_server.responder = hostile_answer
    assert run(["local", "--format", "sarif", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    out = capsys.readouterr().out
    texts = [r["message"]["text"] for r in json.loads(out)["runs"][0]["results"]]  # the finding outside the change is no result
    assert len(texts) == 1 and CONTROLS.findall(out) == []
    assert "\\x1b]52;c;" in texts[0]
