"""GitHub at production grade (issue 9): each defect reproduced against the loopback GitHub, and shown gone.

No lost runs, no duplicates, no hour-long stalls: a lost answer to a write is
looked for before the write is sent again, rate limits are waited out within a
cap (fractions of a second here), every body fits GitHub's limit.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from reviewer.cli import run
from reviewer.github.comments import SUMMARY_MARKER, fingerprint_of
from reviewer.github.converge import decode
from reviewer.github.event import decide
from reviewer.github.limits import RateLimited, WaitBudget, rate_limit_wait
from reviewer.github.saved import load
from tests.github_fixtures import Scenario, app_with, finding, make_pull
from tests.github_server import TOKEN, Fault, GitHubServer, rate_limited
from tests.test_github_pr import FINDINGS, pr_args, publish_args

ROOT = Path(__file__).resolve().parents[1]
FAST = "[github]\nseconds_between_writes = 0.0\nsecondary_rate_wait = 0.05\nmax_rate_limit_wait = 0.5\n"
REVIEWS = r"/repos/acme/app/pulls/1/reviews"
SUMMARIES = r"/repos/acme/app/issues/1/comments"


@pytest.fixture
def env(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Scenario:
    monkeypatch.setenv("GITHUB_API_URL", scenario.gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", scenario.gh.repo)
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    scenario.config.write_text(FAST, encoding="utf-8")
    scenario.findings = list(FINDINGS)
    return scenario


def posts(gh: GitHubServer, path: str) -> list[Any]:
    return [r for r in gh.requests if r.method == "POST" and re.fullmatch(path, r.path)]


def summaries(gh: GitHubServer) -> list[dict[str, Any]]:
    return [c for c in gh.issue_comments if str(c["body"]).startswith(SUMMARY_MARKER)]


# 1. A plain comment cancelled a running review: the concurrency group was the workflow's.


def test_a_comment_cannot_cancel_a_review_concurrency_is_per_job_and_event() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/review.yml").read_text(encoding="utf-8"))
    assert "concurrency" not in workflow  # claimed before any job's `if`: a plain comment would join it
    concurrency = workflow["jobs"]["review"]["concurrency"]
    assert concurrency["group"] == "review-${{ github.event_name }}-${{ github.event.pull_request.number || github.event.issue.number }}"
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"  # a push cancels only the previous push
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "    concurrency:\n      group: review-${{ github.event_name }}-" in readme  # the copy users take says the same


# 2. Writes were retried blindly (PyGithub: POST on 5xx and timeouts, up to 10 times).


def test_a_502_after_the_review_was_made_yields_one_review(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    gh.faults.append(Fault("POST", REVIEWS, 502))  # GitHub made the review, then answered 502
    assert run(pr_args(env)) == 0
    assert len(posts(gh, REVIEWS)) == 1  # looked for it (this run's marker) instead of sending it again
    [review] = gh.submitted_reviews()
    assert len(gh.visible_comments()) == 2
    assert review["html_url"] in summaries(gh)[0]["body"]
    assert "answer to the review was lost" in capsys.readouterr().err


def test_a_write_that_was_not_made_is_sent_once_more(env: Scenario, gh: GitHubServer) -> None:
    make_pull(env.repo, gh)
    gh.faults.append(Fault("POST", REVIEWS, 502, after=False))  # refused before anything was made
    gh.faults.append(Fault("GET", r"/repos/acme/app/pulls/1/files", 502, after=False))  # a read is simply retried
    assert run(pr_args(env)) == 0
    assert len(posts(gh, REVIEWS)) == 2 and len(gh.submitted_reviews()) == 1


def test_a_dropped_connection_or_a_timeout_after_a_write_is_not_a_second_comment(env: Scenario, gh: GitHubServer) -> None:
    make_pull(env.repo, gh)
    env.config.write_text(FAST + "request_timeout = 1\n", encoding="utf-8")
    env.findings = [*FINDINGS, finding("src/app.py", 30, "minor", "maintainability", "helper is unused")]  # a file-level comment
    gh.faults.append(Fault("POST", SUMMARIES, drop=True))  # made, then the connection closed without an answer
    gh.faults.append(Fault("POST", r"/repos/acme/app/pulls/1/comments", status=None, delay=1.3))  # made, answered after the client gave up
    assert run(pr_args(env)) == 0
    assert len(summaries(gh)) == 1 and len(posts(gh, SUMMARIES)) == 1
    assert len([c for c in gh.visible_comments() if c["subject_type"] == "file"]) == 1


# 3. A spent primary limit stalled the job for an hour; a 429 without retry-after was not retried.


def test_an_exhausted_primary_limit_ends_within_the_cap_with_the_review_saved(
    env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pull(env.repo, gh)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    gh.faults.append(rate_limited("POST", REVIEWS, 403, reset_in=3600, times=-1))  # the reset is an hour away
    started = time.monotonic()
    assert run(pr_args(env)) == 3
    assert time.monotonic() - started < 10
    assert len(posts(gh, REVIEWS)) == 1  # no wait begun that the cap could not hold
    assert len(env.review_requests()) == 1  # the model was paid once
    [line] = capsys.readouterr().err.strip().splitlines()[-1:]
    saved_at = tmp_path / f"reviewer-review-1-{gh.pulls[1].head_sha[:7]}.json"
    assert "rerun after" in line and "60 minutes" in line and str(saved_at) in line and "job summary" in line
    assert [p.finding.title for p in load(saved_at).review.findings] == [f["title"] for f in FINDINGS]
    assert "eval on file content" in (tmp_path / "step-summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("status", "retry_after", "secondary"),
    [(429, None, False), (403, None, True), (403, "0", True)],
    ids=["429 without retry-after", "403 secondary limit named only in the body", "403 with retry-after"],
)
def test_a_secondary_limit_is_waited_out_and_retried(env: Scenario, gh: GitHubServer, status: int, retry_after: str | None, secondary: bool) -> None:
    make_pull(env.repo, gh)
    gh.faults.append(rate_limited("POST", REVIEWS, status, retry_after=retry_after, secondary=secondary))
    assert run(pr_args(env)) == 0
    assert len(posts(gh, REVIEWS)) == 2 and len(gh.submitted_reviews()) == 1


def test_githubs_documented_waits_and_one_cap_for_the_run() -> None:
    now = 1_000_000.0
    assert rate_limit_wait(403, {"Retry-After": "30"}, None, 0, now, 60) == 30
    assert rate_limit_wait(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 100)}, None, 0, now, 60) == 101
    assert rate_limit_wait(429, {}, None, 2, now, 60) == 240  # secondary: a minute, doubled per retry
    assert rate_limit_wait(403, {}, "You have exceeded a secondary rate limit.", 0, now, 60) == 60
    assert rate_limit_wait(403, {}, "Resource not accessible by integration", 0, now, 60) is None  # a refusal, not a limit
    budget = WaitBudget(100)
    budget.take(60, now)
    with pytest.raises(RateLimited, match="rerun after") as caught:
        budget.take(60, now)
    assert caught.value.resume_at == now + 60 and budget.spent == 60


# 5. The publish example lacked `contents: read`; publish downloaded the whole head commit for its SHA.
# Issue 4. The fork example read `vars.*`, which a fork's run does not get.


def _steps(path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "${{ vars." not in path.read_text(encoding="utf-8")  # no configuration variable reaches a fork's run
    [job] = workflow["jobs"].values()
    return job["permissions"], job["steps"]


def _run_reviewer(steps: list[dict[str, Any]], context: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The workflow's own `exec reviewer …` command, its env from the step, `${{ }}` from the event."""
    [step] = [s for s in steps if str(s.get("run", "")).startswith("exec reviewer ")]
    for key, value in step["env"].items():
        monkeypatch.setenv(key, re.sub(r"\$\{\{ (.+?) \}\}", lambda m: context[m.group(1)], str(value)))
    env = dict(os.environ)  # the step's, and the runner's (GITHUB_REPOSITORY...)
    argv = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word) for word in shlex.split(step["run"])]
    return run(argv[2:])


def test_the_fork_examples_run_as_written_with_only_the_permissions_they_declare(
    scenario: Scenario, gh: GitHubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The endpoint comes from the base branch's settings: no secret, no variable needed in the fork's run.
    scenario.repo.write(
        ".reviewer.toml",
        f'[routes]\nreview = "box"\nsummarize = "box"\n\n[backends.box]\nbase_url = "{scenario.model.openai_url}"\nmodel = "m"\n\n'
        "[github]\nseconds_between_writes = 0.0\n",
    )
    _, head = make_pull(scenario.repo, gh, fork=True, head_repo="contributor/app")
    scenario.findings = list(FINDINGS)
    for key, value in {"GITHUB_API_URL": gh.api, "GITHUB_REPOSITORY": gh.repo}.items():
        monkeypatch.setenv(key, value)
    job = tmp_path / "job"  # neither job checks anything out
    job.mkdir()
    monkeypatch.chdir(job)

    permissions, steps = _steps(ROOT / ".github/examples/review-fork-analyze.yml")
    assert permissions == {"contents": "read", "pull-requests": "read"}
    gh.permissions_granted = permissions
    assert _run_reviewer(steps, {"github.token": TOKEN, "github.event.pull_request.number": "1"}, monkeypatch) == 0
    assert gh.writes() == [] and (job / "review.json").exists()
    assert [r for r in gh.requests if r.status == 403] == []

    permissions, steps = _steps(ROOT / ".github/examples/review-fork-publish.yml")
    assert permissions == {"actions": "read", "contents": "read", "pull-requests": "write"}
    gh.permissions_granted = permissions
    event = {
        "github.token": TOKEN,
        "github.event.workflow_run.head_sha": head,
        "github.event.workflow_run.head_repository.full_name": "contributor/app",
        "github.event.workflow_run.head_branch": "feature",
    }
    model_calls = len(scenario.model.posts())
    assert _run_reviewer(steps, event, monkeypatch) == 0
    assert [r for r in gh.requests if r.status == 403] == []  # nothing needed a permission the workflows do not declare
    assert len(gh.submitted_reviews()) == 1 and len(summaries(gh)) == 1
    assert not [r for r in gh.requests if "/commits/" in r.path]  # the review's commit is named by its SHA, not downloaded
    assert len(scenario.model.posts()) == model_calls
    # The analyze run made again (a re-run, a head reviewed already) saves nothing, and says so; the publish
    # job then finds no artifact and posts nothing, green.
    again = tmp_path / "again"
    again.mkdir()
    (again / "review.json").write_text("{}", encoding="utf-8")  # an earlier run's, on a runner that keeps its workspace
    monkeypatch.chdir(again)
    permissions, steps = _steps(ROOT / ".github/examples/review-fork-analyze.yml")
    assert _run_reviewer(steps, {"github.token": TOKEN, "github.event.pull_request.number": "1"}, monkeypatch) == 0
    assert (again / "review.json").read_text(encoding="utf-8") == "{}"  # kept: it may be counted; publish refuses it
    assert "nothing saved to review.json: there is no review to post (the file there is an earlier run's)" in capsys.readouterr().err
    [upload] = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["with"]["if-no-files-found"] == "ignore"
    _, steps = _steps(ROOT / ".github/examples/review-fork-publish.yml")
    [download] = [s for s in steps if str(s.get("uses", "")).startswith("actions/download-artifact@")]
    assert download["continue-on-error"] is True
    assert all(s["if"] == f"steps.{download['id']}.outcome == 'success'" for s in steps if s is not download)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for example in ("review-fork-analyze.yml", "review-fork-publish.yml"):  # the README shows the files as they are
        assert (ROOT / ".github/examples" / example).read_text(encoding="utf-8") in readme


# 7. Bodies over 65,536 characters; a 422 "Body is too long" was bisected with pending reviews.


def test_a_maximal_finding_walkthrough_and_description_post_without_a_422(
    env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    make_pull(env.repo, gh)
    gh.pulls[1].body = "The author's description. " * 2000  # 52,000 characters of the author's
    env.config.write_text(FAST + "update_description = true\n", encoding="utf-8")
    huge = {"title": "<@x " * 5000, "body": "<!-- <@x> ![i](u) " * 20000}  # prose: every character escaped, most of them grow
    env.findings = [
        finding("src/app.py", 6, "critical", "security", suggestion="x" * 19_990, **huge),
        finding("src/app.py", 30, "major", "bug", **huge),  # file-level
        finding("docs/none.md", 1, "major", "bug", **huge),  # summary only
    ]
    env.summary = {"title": "<" * 5000, "walkthrough": [{"path": "<" * 3000, "summary": "<@x " * 3000}], "risks": ["<" * 3000]}
    assert run(pr_args(env)) == 0
    assert run(["summarize", f"{gh.url}/acme/app/pull/1", "--base-url", env.model.openai_url, "--model", "m", "--config", str(env.config)]) == 0
    assert [r for r in gh.requests if r.status == 422] == []
    bodies = [c["body"] for c in gh.visible_comments()] + [c["body"] for c in gh.issue_comments] + [gh.pulls[1].body]
    assert len(bodies) == 4 and [len(b) < 65536 for b in bodies] == [True] * 4
    assert ["cut to fit GitHub's comment size limit" in b for b in bodies[:2]] == [True, True]
    assert gh.pulls[1].body.startswith(("The author's description. " * 2000).rstrip())  # what the author wrote is kept whole


def test_a_422_that_is_not_about_lines_is_not_bisected_with_pending_reviews(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    gh.comment_body_limit = 100  # GitHub counting a body differently from us
    assert run(pr_args(env)) == 0
    assert len(posts(gh, REVIEWS)) == 1  # no probe: trying subsets cannot find what a body length refuses
    body = summaries(gh)[0]["body"]
    assert "eval on file content" in body and "Body is too long" in body


# 8. An empty suggestion replaced the lines with a blank line.


def test_an_empty_suggestion_deletes_the_lines(env: Scenario, gh: GitHubServer) -> None:
    make_pull(env.repo, gh)
    env.findings = [finding("src/app.py", 6, "major", "bug", "drop this line", suggestion="")]
    assert run(pr_args(env)) == 0
    [comment] = gh.visible_comments()
    assert comment["body"].endswith("```suggestion\n```")


# 9. GHE.com; a PR URL and GITHUB_API_URL that disagree; publish and the host.


def test_publish_posts_only_to_the_api_the_review_was_read_from(env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, head = make_pull(env.repo, gh)
    saved = tmp_path / "review.json"
    assert run(pr_args(env, "--no-post", "--output", str(saved))) == 0
    assert json.loads(saved.read_text())["api_url"] == gh.api
    monkeypatch.setenv("GITHUB_API_URL", "https://api.octo.ghe.com")
    requests = len(gh.requests)
    assert run(publish_args(env, saved, head)) == 2
    assert f"read from {gh.api}, but this run posts to https://api.octo.ghe.com" in capsys.readouterr().err
    assert len(gh.requests) == requests


# 10. Who we are: a 404 on a write, and what a fork PR is.


def test_a_404_on_a_write_falls_back_like_a_403(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_pull(env.repo, gh)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    gh.faults.append(Fault("POST", REVIEWS, 404, {"message": "Not Found"}, after=False, times=-1))
    assert run(pr_args(env)) == 0
    out = capsys.readouterr()
    assert "cannot write to this pull request" in out.err and "::error file=src/app.py" in out.out
    assert "eval on file content" in (tmp_path / "step-summary.md").read_text(encoding="utf-8")


def test_a_fork_pr_is_one_whose_head_repository_is_another() -> None:
    def event(head: dict[str, Any] | None) -> dict[str, Any]:
        return {"action": "opened", "pull_request": {"number": 1, "head": {"repo": head}, "base": {"repo": {"full_name": "acme/app"}}}}

    assert not decide("pull_request", event({"full_name": "acme/app", "fork": True})).fork  # a fork repository's own branches
    assert decide("pull_request", event({"full_name": "someone/app", "fork": True})).fork
    assert decide("pull_request", event(None)).fork  # the fork was deleted


# 11. Outputs and headers.


def test_every_request_names_the_api_version_and_pr_prints_the_url_and_cost(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    assert run(pr_args(env)) == 0
    assert gh.requests and all(r.headers.get("x-github-api-version") == "2022-11-28" for r in gh.requests)
    [review] = gh.submitted_reviews()
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"reviewer: {review['html_url']}: 2 findings · 1 request · ") and "cost $0.0000" in last


def test_review_url_is_empty_when_nothing_new_was_posted(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh)
    gh.permissions["maintainer"] = "write"
    scenario.findings = list(FINDINGS)
    first = scenario.action("pull_request", scenario.pull_event(1), capsys)
    assert first.outputs["review-url"] == gh.submitted_reviews()[0]["html_url"]
    again = scenario.action("issue_comment", scenario.comment_event(1, "/review"), capsys)  # the same findings: nothing new
    assert again.code == 0 and again.outputs["review-url"] == ""


def test_the_annotation_overflow_note_points_at_what_exists(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh, fork=True)
    gh.read_only = True
    scenario.findings = [finding("src/new.py", 1 + i % 5, "critical", "bug", f"problem {i}") for i in range(12)]
    result = scenario.action("pull_request", scenario.pull_event(1), capsys)
    [overflow] = [line for line in result.stdout.splitlines() if "more findings are not shown" in line]
    assert overflow.endswith("see the job summary") and "problem 11" in result.step_summary
    pr = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*pr, "--no-post", "--format", "github"]) == 0
    [overflow] = [line for line in capsys.readouterr().out.splitlines() if "more findings are not shown" in line]
    assert "job summary" not in overflow and "--format text" in overflow  # no job summary is written there


# Re-reviews that converge.


@pytest.mark.parametrize("resolver_named", [True, False], ids=["resolvedBy names us", "resolvedBy is null for a bot"])
def test_three_pushes_the_fixed_thread_is_resolved_and_nothing_is_repeated(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], resolver_named: bool
) -> None:
    _, first = make_pull(scenario.repo, gh)
    if not resolver_named:
        gh.unnamed_resolvers = {"github-actions"}
    eval_issue = finding("src/app.py", 6, "critical", "security", "eval on file content")
    loop_issue = finding("src/new.py", 3, "major", "bug", "loop starts wrong")
    naming = finding("src/app.py", 6, "nit", "style", "name the variable")  # below the inline threshold: in the summary
    scenario.findings = [eval_issue, loop_issue, naming]
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code == 0
    eval_thread = next(c for c in gh.visible_comments() if c["path"] == "src/app.py")
    assert "name the variable" in summaries(gh)[0]["body"]

    # Push 2 fixes line 6; the incremental review of it raises nothing there.
    scenario.repo.write("src/app.py", app_with("        return fh.read()"))
    gh.pulls[1].head_sha = second = scenario.repo.commit("use read, not eval")
    scenario.findings = []
    assert scenario.action("pull_request", scenario.pull_event(1, "synchronize"), capsys).code == 0
    assert eval_thread["resolved"] and eval_thread["resolved_by"] == "github-actions"  # by us, through GraphQL

    # Push 3 adds code elsewhere; the model repeats the loop finding and adds a new one.
    scenario.repo.write("src/new.py", scenario.repo.root.joinpath("src/new.py").read_text() + "\n\ndef mean(items):\n    return total(items) / len(items)\n")
    gh.pulls[1].head_sha = scenario.repo.commit("mean")
    scenario.findings = [loop_issue, finding("src/new.py", 9, "major", "bug", "division by zero")]
    assert scenario.action("pull_request", scenario.pull_event(1, "synchronize"), capsys).code == 0

    assert eval_thread["resolved"]
    [summary] = summaries(gh)
    assert "name the variable" not in summary["body"] and "eval on file content" not in summary["body"]
    memory = decode(summary["body"])  # the thread we resolved is not mistaken for one a person declined
    assert memory.dismissed == frozenset() and memory.fixed == {fingerprint_of(eval_thread["body"])}
    roots = [c for c in gh.visible_comments() if c.get("in_reply_to_id") is None]
    assert sorted((c["path"], c["line"]) for c in roots) == [("src/app.py", 6), ("src/new.py", 3), ("src/new.py", 9)]  # none twice
    assert sum(1 for r in gh.requests if r.path == "/graphql" and "resolveReviewThread" in r.body["query"]) == 1
    assert f"changes since `{second[:7]}`" in summary["body"] and first != second


def test_a_thread_a_person_answered_is_left_alone_and_won_t_fix_is_remembered(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh)
    gh.permissions["maintainer"] = "write"
    scenario.findings = [finding("src/app.py", 6, "critical", "security", "eval on file content"), finding("src/new.py", 3, "major", "bug", "loop starts wrong")]
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code == 0
    eval_thread, loop_thread = sorted((c for c in gh.visible_comments()), key=lambda c: c["path"])
    gh.human_reply(eval_thread["id"], "Good catch, working on it.")
    gh.human_reply(loop_thread["id"], "Won't fix: the first item is a header.")

    scenario.repo.write("src/app.py", app_with("        return fh.read()"))
    gh.pulls[1].head_sha = scenario.repo.commit("fix eval")
    scenario.findings = []
    assert scenario.action("pull_request", scenario.pull_event(1, "synchronize"), capsys).code == 0
    assert not eval_thread["resolved"]  # a person answered it: theirs to close (resolve_fixed = "unanswered")

    # A full `/review` raises the declined finding again: it is neither posted nor listed.
    scenario.findings = [finding("src/new.py", 3, "major", "bug", "loop starts wrong, really")]
    assert scenario.action("issue_comment", scenario.comment_event(1, "/review"), capsys).code == 0
    [summary] = summaries(gh)
    assert "1 declined earlier (not raised again)" in summary["body"] and "loop starts wrong" not in summary["body"]
    assert len([c for c in gh.visible_comments() if c["path"] == "src/new.py" and c.get("in_reply_to_id") is None]) == 1


def test_a_token_that_cannot_resolve_says_addressed_once(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(scenario.repo, gh)
    gh.can_resolve = False
    scenario.findings = [finding("src/app.py", 6, "critical", "security", "eval on file content")]
    assert scenario.action("pull_request", scenario.pull_event(1), capsys).code == 0
    [thread] = gh.visible_comments()
    scenario.findings = []
    for message in ("fix eval", "more"):
        scenario.repo.write("src/app.py", app_with("        return fh.read()", extra=f"# {message}\n"))
        gh.pulls[1].head_sha = head = scenario.repo.commit(message)
        assert scenario.action("pull_request", scenario.pull_event(1, "synchronize"), capsys).code == 0
    replies = [c for c in gh.visible_comments() if c.get("in_reply_to_id") == thread["id"]]
    assert len(replies) == 1 and replies[0]["body"].endswith("the lines changed, and the new review does not raise this again.")
    assert not thread["resolved"] and head


# Found in review: a paid review must not be lost, and the --fail-on gate must hold.


def test_a_review_github_keeps_refusing_is_saved_and_still_fails_the_gate(
    env: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pull(env.repo, gh)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    gh.faults.append(Fault("POST", REVIEWS, 502, after=False, times=-1))  # refused every time, before anything was made
    assert run(pr_args(env, "--fail-on", "critical")) == 1  # the critical finding is certain, posted or not
    err = capsys.readouterr().err
    saved_at = tmp_path / f"reviewer-review-1-{gh.pulls[1].head_sha[:7]}.json"
    assert [p.finding.title for p in load(saved_at).review.findings] == [f["title"] for f in FINDINGS]
    head = gh.pulls[1].head_sha
    assert f"reviewer publish {saved_at} --head-sha {head} --head-repo acme/app --head-branch feature" in err
    assert "eval on file content" in (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    gh.faults.clear()
    assert run(publish_args(env, saved_at, head)) == 0  # the command the error line gives posts it
    assert len([r for r in gh.reviews if r["state"] != "PENDING"]) == 1


def test_a_rerun_or_a_push_elsewhere_keeps_the_gate_failing(env: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_pull(env.repo, gh)
    assert run(pr_args(env, "--fail-on", "critical")) == 1
    assert run(pr_args(env, "--fail-on", "critical")) == 1  # "Re-run jobs": nothing new, the critical comment stands
    env.findings = []
    env.repo.write("README.md", "# app\n\nMore words.\n")  # a push that does not touch the flagged file
    gh.pulls[1].head_sha = env.repo.commit("docs")
    assert run(pr_args(env, "--fail-on", "critical")) == 1
    assert run(pr_args(env, "--fail-on", "critical", "--full")) == 0  # looked at again in full: nothing stands
