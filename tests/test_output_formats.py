"""`--format sarif` and `--format github` on `reviewer local` too."""

from __future__ import annotations

import json

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply


def test_local_review_as_sarif_and_annotations(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("app.py", "a = 1\n")
    repo.commit("base")
    repo.write("app.py", "a = 1\nb = eval(input())\n")
    answer = {"findings": [{"path": "app.py", "line": 2, "severity": "critical", "category": "security", "title": "eval of input", "body": "Runs user input."}]}
    model_server.responder = lambda r: Reply(content=json.dumps(answer))
    args = ["local", "--base", "HEAD", "--base-url", model_server.openai_url, "--model", "m"]

    assert run([*args, "--format", "sarif"]) == 0
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "app.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 2, "endLine": 2}}
    assert result["level"] == "error" and result["message"]["text"].startswith("eval of input")

    assert run([*args, "--format", "github"]) == 0
    assert capsys.readouterr().out == "::error file=app.py,line=2,endLine=2,title=critical · security%3A eval of input::Runs user input.\n"
