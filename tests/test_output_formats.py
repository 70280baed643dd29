"""Every `--format`: the publisher registry and its one contract; `--format sarif` and `--format github` on `reviewer local` too."""

from __future__ import annotations

import json

import click
import pytest

from reviewer import publishers
from reviewer.cli import run
from reviewer.filters import Skipped
from reviewer.findings import Finding
from reviewer.placement import PlacedFinding, Placement
from reviewer.publishers import ALL_FORMATS
from reviewer.review import Answered, Review
from reviewer.summary import FileNote, Summary
from reviewer.vocabulary import SEVERITIES, Usage
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
    from reviewer.publishers import sarif

    def placed(path: str, side: str, placement: Placement = Placement.LINE) -> PlacedFinding:
        return PlacedFinding(Finding(path, 7, side, "major", "bug", "t", "b"), placement, "0" * 16)  # type: ignore[arg-type]

    review = Review((placed("docs/my file#1.md", "RIGHT"), placed("gone.py", "LEFT"), placed("other.py", "RIGHT", Placement.OUTSIDE)), None, Usage(), 0.0, (), ())
    [run_] = sarif.to_dict(review)["runs"]
    [right] = run_["results"]  # no alert on line 1 of a file that may no longer exist
    assert right["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docs/my%20file%231.md"
    assert right["locations"][0]["physicalLocation"]["region"] == {"startLine": 7, "endLine": 7}
    [notice] = run_["invocations"][0]["toolExecutionNotifications"]
    assert notice["message"]["text"].startswith("2 findings on removed lines or outside the change's files are not results")


def _sample_review() -> Review:
    """One finding at each severity, plus every other part a review can have."""
    findings = tuple(
        PlacedFinding(Finding("src/app.py", n, "RIGHT", severity, "bug", f"finding-{severity}", "why it matters"), Placement.LINE, f"{n:016x}")
        for n, severity in enumerate(SEVERITIES, 1)
    )
    summary = Summary("Adds a parser", (FileNote("src/app.py", "parses input"),), ("untested path",))
    answered = (Answered("review", "deepseek", "m", ("src/app.py",), Usage(1, 100, 0, 10, 0), 0.001),)
    return Review(findings, summary, Usage(1, 100, 0, 10, 0), 0.001, (Skipped("big.lock", "generated"),), ("one error",), answered, ("a note",))


@pytest.mark.parametrize("output_format", ALL_FORMATS)
def test_every_registered_format_renders_a_review_through_the_one_contract(output_format: str) -> None:
    review = _sample_review()
    plain = publishers.render(review, output_format)
    for severity in SEVERITIES:
        assert f"finding-{severity}" in plain
    assert "\x1b[" not in plain
    coloured = publishers.render(review, output_format, colour=True)
    if output_format == "text":
        assert "\x1b[" in coloured  # colour is a render option the terminal honours...
    else:
        assert coloured == plain  # ...and every other format ignores: no escape sequence in JSON, SARIF or a comment


def test_formats_are_the_registry_and_the_cli_choices() -> None:
    from reviewer.commands.local import local
    from reviewer.commands.pr import pr
    from reviewer.commands.summarize import summarize

    assert ALL_FORMATS == tuple(publishers.FORMATS) == ("text", "json", "markdown", "sarif", "github")
    for command in (local, pr, summarize):
        [option] = [p for p in command.params if p.name == "output_format"]
        assert isinstance(option.type, click.Choice)
        assert tuple(option.type.choices) == ALL_FORMATS, command.name

