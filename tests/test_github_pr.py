"""`reviewer pr` and `reviewer publish` against the loopback GitHub: formats, the two-step save and post, pagination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.cli import run
from reviewer.errors import ConfigError
from reviewer.github.comments import SUMMARY_MARKER
from tests.github_fixtures import Scenario, app_with, finding, make_pull
from tests.github_server import PAT, TOKEN, Fault, GitHubServer

FINDINGS = [
    finding("src/app.py", 6, "critical", "security", "eval on file content", suggestion="        return fh.read()"),
    finding("src/new.py", 3, "minor", "bug", "loop starts wrong", start_line=2),
]


def publish_args(scenario: Scenario, saved: Path, head: str, repo: str = "acme/app", branch: str = "feature") -> list[str]:
    """`reviewer publish` as the example workflow runs it, with what the workflow_run analyzed."""
    return ["publish", str(saved), "--head-sha", head, "--head-repo", repo, "--head-branch", branch, "--config", str(scenario.config)]


def pr_args(scenario: Scenario, *extra: str, number: int = 1) -> list[str]:
    return ["pr", "--repo", scenario.gh.repo, "--number", str(number), "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config), *extra]


@pytest.fixture
def env(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("GITHUB_API_URL", scenario.gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scenario.findings = FINDINGS
    return scenario


def test_no_post_prints_sarif_that_code_scanning_reads(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    env.findings = [*FINDINGS, finding("src/app.py", 6, "major", "bug", "the removed line", side="LEFT")]
    assert run(pr_args(env, "--no-post", "--format", "sarif")) == 0
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    [run_] = sarif["runs"]
    assert run_["automationDetails"] == {"id": "reviewer/"}
    rules = run_["tool"]["driver"]["rules"]
    results = run_["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("reviewer/security/critical", "error"), ("reviewer/bug/minor", "warning")]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    # What code scanning reads from the rule: its security severity (security rules), description and help.
    security = rules[results[0]["ruleIndex"]]
    assert security["properties"]["security-severity"] == "9.0" and "security" in security["properties"]["tags"]
    assert all(r["fullDescription"]["text"] and r["help"]["text"] and r["help"]["markdown"] for r in rules)
    assert all("security-severity" not in r["properties"] for r in results)
    region = results[1]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "endLine": 3}
    assert results[0]["partialFingerprints"]["primaryLocationLineHash"]
    # The removed line has no place in the file as it is now: not a result on line 1, a notification.
    [notice] = run_["invocations"][0]["toolExecutionNotifications"]
    assert notice["message"]["text"].startswith("1 findings on removed lines")
    assert gh.writes() == []


def test_sarif_keeps_within_code_scannings_result_limit() -> None:
    from reviewer.findings import Finding
    from reviewer.placement import PlacedFinding, Placement
    from reviewer.publishers import sarif
    from reviewer.review import Review
    from reviewer.vocabulary import Usage

    many = [PlacedFinding(Finding("a.py", i + 1, "RIGHT", "nit", "style", "t", ""), Placement.LINE, f"{i:016x}") for i in range(sarif.MAX_RESULTS)]
    worst = PlacedFinding(Finding("a.py", 1, "RIGHT", "critical", "bug", "the worst", ""), Placement.LINE, "f" * 16)
    [run_] = sarif.to_dict(Review((*many, worst), None, Usage(), 0.0, (), ()))["runs"]
    assert len(run_["results"]) == sarif.MAX_RESULTS and run_["results"][0]["message"]["text"] == "the worst"  # most severe first
    [notice] = run_["invocations"][0]["toolExecutionNotifications"]
    assert notice["message"]["text"].startswith("1 less severe findings are left out")


def test_no_post_prints_workflow_command_annotations(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    assert run(pr_args(env, "--no-post", "--format", "github")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("::error file=src/app.py,line=6,endLine=6,title=")
    assert lines[1].startswith("::notice file=src/new.py,line=2,endLine=3,title=")
    assert gh.writes() == []


def test_review_in_one_job_and_publish_in_another(env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = make_pull(env.repo, gh)
    saved = tmp_path / "review.json"
    gh.read_only = True  # the reviewing job's token cannot write, and does not need to
    assert run(pr_args(env, "--no-post", "--output", str(saved))) == 0
    document = json.loads(saved.read_text())
    assert document["head_sha"] == head and document["number"] == 1
    # The review in the very shape `--format json` prints; no diff: publish fetches it.
    assert {f["placement"] for f in document["review"]["findings"]} == {"line"}
    assert document["review"]["summary_parts"]["title"] and "usage" in document["review"] and "diff" not in document
    assert gh.writes() == [] and gh.reviews == []

    gh.read_only = False
    monkeypatch.setenv("GITHUB_REPOSITORY", gh.repo)
    model_calls = len(env.model.posts())
    assert run(publish_args(env, saved, "0" * 40)) == 2
    assert "not posting it" in capsys.readouterr().err and gh.writes() == []

    assert run(publish_args(env, saved, head)) == 0
    [review] = gh.submitted_reviews()
    assert review["commit_id"] == head
    assert sorted(c["line"] for c in gh.visible_comments()) == [3, 6]
    assert len([c for c in gh.issue_comments if SUMMARY_MARKER in c["body"]]) == 1
    assert len(env.model.posts()) == model_calls  # posting sends nothing to the model


def test_publish_refuses_a_review_of_another_repository(env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = make_pull(env.repo, gh)
    saved = tmp_path / "review.json"
    assert run(pr_args(env, "--no-post", "--output", str(saved))) == 0
    monkeypatch.setenv("GITHUB_REPOSITORY", "someone/else")
    assert run(publish_args(env, saved, head)) == 2
    assert "runs in someone/else" in capsys.readouterr().err and gh.writes() == []


def pending_review(gh: GitHubServer, body: str) -> dict[str, object]:
    review: dict[str, object] = {
        "id": 9000 + len(gh.reviews), "pull": 1, "user": gh.actor, "body": body, "state": "PENDING", "commit_id": "",
        "html_url": "https://github.example/pending", "pull_request_url": f"{gh.api}/repos/{gh.repo}/pulls/1",
    }
    review["url"] = f"{gh.api}/repos/{gh.repo}/pulls/1/reviews/{review['id']}"
    gh.reviews.append(review)
    return review


def test_a_pending_probe_left_by_a_crashed_run_is_cleared(env: Scenario, gh: GitHubServer) -> None:
    make_pull(env.repo, gh)
    leftover = pending_review(gh, "<!-- reviewer:probe -->")
    assert run(pr_args(env)) == 0
    assert leftover not in gh.reviews
    assert len(gh.submitted_reviews()) == 1 and gh.visible_comments()


def test_a_persons_pending_draft_is_never_deleted(env: Scenario, gh: GitHubServer) -> None:
    """With a personal token, a pending review may be the maintainer's own unfinished draft."""
    make_pull(env.repo, gh)
    draft = pending_review(gh, "half-written thoughts")
    assert run(pr_args(env)) == 0
    assert draft in gh.reviews
    assert gh.submitted_reviews() == []
    [summary] = [c["body"] for c in gh.issue_comments if SUMMARY_MARKER in c["body"]]
    assert "eval on file content" in summary and "pending review drafted" in summary


def test_publish_refuses_a_tampered_review(env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, head = make_pull(env.repo, gh)
    saved = tmp_path / "review.json"
    assert run(pr_args(env, "--no-post", "--output", str(saved))) == 0
    assert json.loads(saved.read_text())["review"]["findings"], "the scenario must produce findings to tamper with"
    tampered = [
        ("severity", lambda d: d["review"]["findings"][0].update(severity="urgent"), "invalid severity"),
        ("head", lambda d: d.update(head_sha=d["head_sha"] + " --> @octocat <!-- x"), "head_sha is not a commit SHA"),
        ("usage", lambda d: d["review"]["usage"].update(prompt_tokens="many"), "usage counts must be whole numbers"),
        ("finding", lambda d: d["review"]["findings"].__setitem__(0, 1), "AttributeError"),
    ]
    original = saved.read_text()
    for _, change, message in tampered:
        document = json.loads(original)
        change(document)
        saved.write_text(json.dumps(document))
        assert run(publish_args(env, saved, head)) == 2
        err = capsys.readouterr().err
        assert "damaged saved review" in err and message in err and "Traceback" not in err
    assert gh.writes() == []


def test_a_merge_from_the_base_is_not_reviewed_as_the_prs_change(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    env.findings = [finding("src/app.py", 6, "critical", "security", "eval")]
    assert run(pr_args(env)) == 0
    env.repo.git("checkout", "-q", "main")  # main moves on, in a line of the PR's file far from its change
    env.repo.write("src/app.py", app_with("        return fh.read()").replace("return 9", "return 99"))
    main2 = env.repo.commit("main work")
    env.repo.git("checkout", "-q", "feature")
    env.repo.write("src/new.py", "def g():\n    return 2\n")
    env.repo.commit("more PR work")
    env.repo.git("merge", "-q", "--no-edit", "main")
    gh.pulls[1].head_sha = env.repo.git("rev-parse", "HEAD").strip()
    gh.pulls[1].base_sha = main2
    before = len(env.model.posts())
    env.findings = []
    assert run(pr_args(env)) == 0
    sent = "\n".join(r.text for r in env.model.posts()[before:] if "walkthrough" not in r.body["messages"][0]["content"])
    assert "def g():" in sent  # the PR's new work is reviewed
    assert "return 99" not in sent  # the base's own change is not


def test_files_are_read_across_pages(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    def many(repo: object) -> None:
        for i in range(105):
            env.repo.write(f"pkg/m{i:03}.py", f"VALUE = {i}\n")

    make_pull(env.repo, gh, edit=many)
    env.findings = []
    assert run(pr_args(env, "--no-post", "--format", "json")) == 0
    pages = [r.query.get("page", ["1"])[0] for r in gh.requests if r.path.endswith("/pulls/1/files")]
    assert pages == ["1", "2"]
    sent = "\n".join(r.text for r in env.review_requests())
    assert "pkg/m000.py" in sent and "pkg/m104.py" in sent


def test_pr_url_argument_and_missing_token(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    make_pull(env.repo, gh)
    url = f"{gh.url}/acme/app/pull/1"  # the loopback's own host: its API is {host}/api/v3, as GITHUB_API_URL says
    assert run(["pr", "https://github.example/acme/app/issues/1"]) == 2
    assert "is not a pull request URL" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_TOKEN")
    assert run(["pr", url, "--no-post"]) == 2
    assert "set GITHUB_TOKEN or pass --token" in capsys.readouterr().err
    args = ["pr", url, "--token", TOKEN, "--no-post", "--format", "json"]
    args += ["--base-url", env.model.openai_url, "--model", "m", "--config", str(env.config)]
    assert run(args) == 0
    assert [f["title"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["eval on file content", "loop starts wrong"]


def test_a_pr_url_and_github_api_url_that_disagree_are_an_error(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    assert run(["pr", "https://octo.ghe.com/acme/app/pull/1", "--no-post"]) == 2
    err = capsys.readouterr().err
    assert "the pull request is on octo.ghe.com (API https://api.octo.ghe.com)" in err and f"GITHUB_API_URL is {gh.api}" in err
    assert gh.requests == []  # the token went nowhere


def test_summarize_works_on_the_local_change_and_on_a_pr(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    model = ["--base-url", env.model.openai_url, "--model", "m", "--config", str(env.config), "--format", "json"]
    assert run(["summarize", "--base", "main", *model]) == 0
    assert json.loads(capsys.readouterr().out)["summary"].startswith("### Load files with eval")
    assert gh.requests == []  # the local mode never talks to GitHub

    assert run(["summarize", f"{gh.url}/acme/app/pull/1", "--no-post", *model]) == 0
    assert "Load files with eval" in json.loads(capsys.readouterr().out)["summary"]
    assert gh.writes() == [] and env.review_requests() == []  # summarize only: no review request


def test_placement_is_checked_before_posting_so_github_refuses_nothing(env: Scenario, gh: GitHubServer) -> None:
    def second_hunk(r: object) -> None:
        lines = app_with("        return eval(fh.read())").splitlines()
        lines[39] = "    return 999"
        env.repo.write("src/app.py", "\n".join(lines) + "\n")

    make_pull(env.repo, gh, edit=second_hunk)  # src/app.py: hunks around lines 6 and 40
    env.findings = [
        finding("src/app.py", 40, start_line=6, title="range across hunks"),  # start snapped into line 40's hunk
        finding("src/app.py", 6, side="LEFT", title="the removed line"),  # old-file line of a deletion
        finding("src/app.py", 25, title="between the hunks"),  # off the diff: a file-level comment
        finding("./src/new.py", 4, start_line=4, title="start equals line"),  # normalised path, no start_line
    ]
    assert run(pr_args(env)) == 0
    assert [r for r in gh.requests if r.status == 422] == []
    placed = {(c["path"], c["line"], c["side"], c["start_line"], c["subject_type"]) for c in gh.visible_comments()}
    assert placed == {
        ("src/app.py", 6, "LEFT", None, "line"),
        ("src/app.py", 40, "RIGHT", 37, "line"),
        ("src/app.py", None, None, None, "file"),
        ("src/new.py", 4, "RIGHT", None, "line"),
    }


def test_the_api_base_comes_from_github_api_url_else_the_pr_url() -> None:
    from reviewer.github.api import api_url, parse_ref

    ghes = parse_ref("https://git.corp.example/team/app/pull/7", None, None)
    assert (ghes.repo, ghes.number) == ("team/app", 7)
    assert api_url({}, ghes) == "https://git.corp.example/api/v3"
    assert api_url({}, parse_ref("https://github.com/o/r/pull/1", None, None)) == "https://api.github.com"
    assert api_url({}, parse_ref("https://Octo.GHE.com/o/r/pull/1", None, None)) == "https://api.octo.ghe.com"  # GHE.com data residency
    assert api_url({"GITHUB_API_URL": "https://git.corp.example/api/v3/"}, ghes) == "https://git.corp.example/api/v3"
    assert api_url({"GITHUB_API_URL": "https://api.octo.ghe.com"}, None) == "https://api.octo.ghe.com"
    with pytest.raises(ConfigError, match="GITHUB_API_URL is https://api.github.com"):
        api_url({"GITHUB_API_URL": "https://api.github.com"}, ghes)


def test_a_github_failure_is_one_line_and_exit_3(env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, head = make_pull(env.repo, gh)
    saved = tmp_path / "review.json"
    assert run(pr_args(env, "--no-post", "--output", str(saved))) == 0
    gh.faults.append(Fault("POST", r"/repos/acme/app/issues/1/comments", 500, after=False, times=-1))  # GitHub is down for comments
    capsys.readouterr()
    assert run(publish_args(env, saved, head)) == 3
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("reviewer: error: could not post the summary comment: 500") and "Traceback" not in err
    assert len([r for r in gh.requests if r.method == "POST" and r.path.endswith("/issues/1/comments")]) == 2  # looked, sent once more, gave up


def test_with_a_personal_token_our_comments_are_found_by_login(env: Scenario, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    make_pull(env.repo, gh)
    monkeypatch.setenv("GITHUB_TOKEN", PAT)
    gh.issue_comments.append(  # a bot's comment that carries our marker is not ours when we know our login
        {"id": 1, "issue_number": 1, "user": {"login": "other[bot]", "type": "Bot", "id": 8}, "body": f"{SUMMARY_MARKER} forged",
         "url": f"{gh.api}/repos/{gh.repo}/issues/comments/1", "html_url": "https://github.example/c/1"}
    )
    assert run(pr_args(env)) == 0
    assert {c["user"]["login"] for c in gh.visible_comments()} == {"maintainer"}
    assert run(pr_args(env, "--full")) == 0  # everything again: our comments are recognised by our login
    assert len(gh.visible_comments()) == 2 and len(gh.submitted_reviews()) == 1
    assert gh.issue_comments[0]["body"] == f"{SUMMARY_MARKER} forged"
    assert [c["user"]["login"] for c in gh.issue_comments] == ["other[bot]", "maintainer"]
