"""The loopback GitHub validates review comments as GitHub does (through the real PyGithub client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import github
import pytest

from tests.conftest import GitRepo
from tests.github_fixtures import app_with, make_pull
from tests.github_server import TOKEN, GitHubServer


@pytest.fixture
def pull(repo: GitRepo, gh: GitHubServer) -> Iterator[Any]:
    def second_hunk(r: GitRepo) -> None:
        lines = app_with("        return eval(fh.read())").splitlines()
        lines[39] = "    return 999"
        r.write("src/app.py", "\n".join(lines) + "\n")

    make_pull(repo, gh, edit=second_hunk)  # src/app.py: hunks around lines 6 and 40
    client = github.Github(base_url=gh.api, auth=github.Auth.Token(TOKEN), retry=None, seconds_between_requests=0, seconds_between_writes=0)
    pr = client.get_repo(gh.repo).get_pull(1)
    yield pr, client.get_repo(gh.repo).get_commit(gh.pulls[1].head_sha)
    client.close()


GOOD = {"path": "src/app.py", "line": 6, "side": "RIGHT", "body": "ok"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"path": "src/app.py", "line": 30, "side": "RIGHT"}, "line must be part of the diff"),
        ({"path": "src/app.py", "line": 40, "side": "RIGHT", "start_line": 6, "start_side": "RIGHT"}, "same hunk"),
        ({"path": "src/new.py", "line": 3, "side": "RIGHT", "start_line": 3}, "must precede the end line"),
        ({"path": "nowhere.py", "line": 1, "side": "RIGHT"}, "path is invalid"),
    ],
)
def test_one_invalid_comment_rejects_the_whole_review(pull: Any, gh: GitHubServer, bad: dict[str, Any], message: str) -> None:
    pr, commit = pull
    with pytest.raises(github.GithubException) as caught:
        pr.create_review(commit=commit, body="b", event="COMMENT", comments=[GOOD, {**bad, "body": "x"}])
    assert caught.value.status == 422 and message in str(caught.value.data["errors"])
    assert gh.reviews == [] and gh.review_comments == []


def test_valid_comments_including_a_range_and_the_old_side_are_accepted(pull: Any, gh: GitHubServer) -> None:
    pr, commit = pull
    comments = [
        GOOD,
        {"path": "src/new.py", "line": 3, "start_line": 1, "side": "RIGHT", "body": "range"},
        {"path": "src/app.py", "line": 6, "side": "LEFT", "body": "old side"},
        {"path": "src/app.py", "line": 6, "side": "LEFT", "start_line": 5, "start_side": "RIGHT", "body": "across sides, one hunk"},
    ]
    review = pr.create_review(commit=commit, body="b", event="COMMENT", comments=comments)
    assert review.state == "COMMENTED" and len(gh.visible_comments()) == 4


def test_lists_paginate_and_read_only_refuses_writes(pull: Any, gh: GitHubServer) -> None:
    pr, _ = pull
    for i in range(5):
        pr.create_issue_comment(f"c{i}")
    assert [c.body for c in pr.get_issue_comments()] == [f"c{i}" for i in range(5)]
    gh.read_only = True
    with pytest.raises(github.GithubException) as caught:
        pr.create_issue_comment("no")
    assert caught.value.status == 403
