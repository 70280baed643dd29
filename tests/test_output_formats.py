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


def test_sarif_locations_for_odd_paths_and_removed_lines() -> None:
    from reviewer.backends.base import Usage
    from reviewer.findings import Finding
    from reviewer.placement import PlacedFinding, Placement
    from reviewer.publishers import sarif
    from reviewer.review import Review

    def placed(path: str, side: str, placement: Placement = Placement.LINE) -> PlacedFinding:
        return PlacedFinding(Finding(path, 7, side, "major", "bug", "t", "b"), placement, "0" * 16)  # type: ignore[arg-type]

    review = Review((placed("docs/my file#1.md", "RIGHT"), placed("gone.py", "LEFT"), placed("other.py", "RIGHT", Placement.OUTSIDE)), None, Usage(), 0.0, (), ())
    [run_] = sarif.to_dict(review)["runs"]
    [right] = run_["results"]  # no alert on line 1 of a file that may no longer exist
    assert right["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docs/my%20file%231.md"
    assert right["locations"][0]["physicalLocation"]["region"] == {"startLine": 7, "endLine": 7}
    [notice] = run_["invocations"][0]["toolExecutionNotifications"]
    assert notice["message"]["text"].startswith("2 findings on removed lines or outside the change's files are not results")
