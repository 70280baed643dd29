"""`reviewer eval import`: a Martian code-review benchmark folder becomes a suite, diffs fetched from the loopback GitHub."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reviewer.cli import run
from reviewer.evaluation import load_suite
from tests.conftest import GitRepo
from tests.github_fixtures import make_pull
from tests.github_server import TOKEN, GitHubServer


def benchmark_folder(tmp_path: Path, url: str) -> Path:
    """The layout of withmartian/code-review-benchmark: golden_comments/REPO.json, a list of PRs."""
    folder = tmp_path / "benchmark"
    (folder / "golden_comments").mkdir(parents=True)
    pulls = [{
        "pr_title": "Load files with eval",
        "url": url,
        "comments": [
            {"comment": "eval() runs whatever the file holds: arbitrary code execution.", "severity": "Critical"},
            {"comment": "The new total() is never called.", "severity": "Low"},
        ],
    }]
    (folder / "golden_comments" / "app.json").write_text(json.dumps(pulls))
    return folder


def test_import_fetches_each_diff_and_writes_golden_comments(
    repo: GitRepo, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pull(repo, gh)
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    folder = benchmark_folder(tmp_path, f"{gh.url}/{gh.repo}/pull/1")  # the loopback's own host, whose API GITHUB_API_URL names
    suite = tmp_path / "suite"

    assert run(["eval", "import", str(folder), str(suite)]) == 0
    assert "1 case(s) made" in capsys.readouterr().err
    [case] = load_suite(suite)
    assert case.name == "app-1"
    assert {f.path for f in case.diff.files} == {"src/app.py", "src/new.py"}
    assert [(g.severity, g.comment[:6]) for g in case.expected.golden] == [("critical", "eval()"), ("low", "The ne")]
    assert all(r.method == "GET" for r in gh.requests)  # reads only

    # Run again: the case is kept, nothing is fetched.
    fetched = len(gh.requests)
    assert run(["eval", "import", str(folder), str(suite)]) == 0
    assert "0 case(s) made" in capsys.readouterr().err and len(gh.requests) == fetched


def test_import_refuses_a_folder_without_golden_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert run(["eval", "import", str(tmp_path / "empty"), str(tmp_path / "suite")]) == 2
    assert "no golden comment files" in capsys.readouterr().err


def test_import_refuses_an_unknown_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = benchmark_folder(tmp_path, "https://github.com/acme/app/pull/1")
    data = json.loads((folder / "golden_comments" / "app.json").read_text())
    data[0]["comments"][0]["severity"] = "Blocker"
    (folder / "golden_comments" / "app.json").write_text(json.dumps(data))
    assert run(["eval", "import", str(folder), str(tmp_path / "suite")]) == 2
    assert "comments[0] needs a comment and a severity (low, medium, high, critical)" in capsys.readouterr().err


def test_eval_help_lists_import_and_explains_every_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["eval", "--help"]) == 0
    text = capsys.readouterr().out
    assert "reviewer eval import" in text
    from reviewer.publishers.evaluation import COLUMNS

    for column in COLUMNS:
        assert re.search(rf"\n +{re.escape(column)}  ", text), column
    assert max(len(line) for line in text.splitlines()) <= 100  # the CLI's help width
