"""Posting one review on a pull request through PyGithub: the writes, and surviving what GitHub refuses.

The plan (what goes inline, what into the summary) is made in reviewer.github.comments;
the pull request and our earlier comments were read once, in reviewer.github.pull.
Nothing posted earlier is ever edited, resolved or deleted, except our own summary comment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reviewer.config import GitHubSettings
from reviewer.errors import PublishError
from reviewer.github.api import describe
from reviewer.github.comments import (
    DESCRIPTION_END,
    DESCRIPTION_START,
    PROBE_MARKER,
    SUMMARY_MARKER,
    WALKTHROUGH_END,
    WALKTHROUGH_START,
    Demoted,
    PostedState,
    Published,
    PullReview,
    ReadOnly,
    comment_body,
    comment_payload,
    find_rejected,
    findings_block,
    plan_post,
    replace_between,
    summary_body,
    walkthrough,
)
from reviewer.placement import PlacedFinding
from reviewer.safe_text import MARKER_PREFIX

if TYPE_CHECKING:
    from github.PullRequest import PullRequest, ReviewComment

    from reviewer.github.pull import GitHubPull

Note = Callable[[str], None]


def publish(pull: GitHubPull, saved: PullReview, settings: GitHubSettings, note: Note) -> Published:
    """Post the review: one review, file-level comments, and the summary comment (edited in place)."""
    repo, pr = pull.repo, pull.pull
    state = pull.state(settings.bot_login)
    plan = plan_post(saved.review.findings, state.fingerprints, settings)
    demoted = list(plan.demoted)
    review_url = None
    posted = 0
    if plan.inline and _clear_pending(pr, note):
        review_url, refused = _post_review(pr, repo.get_commit(saved.head_sha), list(plan.inline), saved, note)
        demoted += refused
        posted += len(plan.inline) - len(refused)
    elif plan.inline:
        demoted += [Demoted(p, "a pending review drafted with this token's account blocks posting") for p in plan.inline]
    for p in plan.file_level:
        problem = _post_file_comment(pr, saved.head_sha, p)
        if problem:
            demoted.append(Demoted(p, problem))
        else:
            posted += 1
    earlier = findings_block(state.summary_comment.body) if state.summary_comment is not None and saved.since_sha else ""
    # An incomplete run (a backend failed) keeps the head it started from, so the next push reviews what it missed.
    reviewed = state.last_head if saved.review.incomplete else saved.head_sha
    body = summary_body(
        saved, demoted, posted=posted, already_posted=len(plan.already_posted), review_url=review_url, earlier=earlier, reviewed_head=reviewed,
        compare=settings.compare_models,
    )
    summary_url = _upsert_summary(pr, state, body)
    return Published(review_url, summary_url, posted, len(demoted), len(plan.already_posted))


def publish_not_reviewed(pull: GitHubPull, saved: PullReview, settings: GitHubSettings) -> str | None:
    """A PR skipped as a whole (too large): the summary says so, not silence."""
    state = pull.state(settings.bot_login)
    return _upsert_summary(pull.pull, state, summary_body(saved, (), posted=0, already_posted=0, review_url=None))


def refresh_walkthrough(pull: GitHubPull, saved: PullReview, settings: GitHubSettings) -> str | None:
    """`reviewer summarize` on a PR: the walkthrough section of the summary (and the description) alone."""
    from github import GithubException

    pr = pull.pull
    state = pull.state(settings.bot_login)
    text = walkthrough(saved)
    if state.summary_comment is not None:
        body = replace_between(state.summary_comment.body, WALKTHROUGH_START, WALKTHROUGH_END, text)
    else:
        body = f"{SUMMARY_MARKER}\n## reviewer\n\n{WALKTHROUGH_START}\n{text}\n{WALKTHROUGH_END}\n"
    url = _upsert_summary(pr, state, body)
    if settings.update_description:
        try:
            pr.edit(body=replace_between(pr.body or "", DESCRIPTION_START, DESCRIPTION_END, text))
        except GithubException as exc:
            raise _write_error(exc, "update the pull request description") from None
    return url


def _post_review(pr: PullRequest, commit: Any, inline: list[PlacedFinding], saved: PullReview, note: Note) -> tuple[str | None, list[Demoted]]:
    """One review; on a 422, the refused comments go to the summary and the rest is posted."""
    from github import GithubException

    payloads = [comment_payload(p) for p in inline]
    body = (
        f"reviewer: {len(inline)} comment{'s' if len(inline) != 1 else ''} on `{saved.head_sha[:7]}`. "
        "The summary comment has the walkthrough and everything not posted inline."
    )
    try:
        return pr.create_review(commit=commit, body=body, event="COMMENT", comments=payloads).html_url, []
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post the review") from None
        note(f"reviewer: GitHub refused the review ({describe(exc)}); finding the comments it refuses")

    def accepts(subset: list[ReviewComment]) -> bool:
        # A pending review (no event) is invisible to others and deleted at once: a probe, not a post.
        try:
            pending = pr.create_review(commit=commit, body=PROBE_MARKER, comments=subset)
        except GithubException as exc:
            if exc.status != 422:
                raise _write_error(exc, "probe the review comments") from None
            return False
        pending.delete()
        return True

    bad = find_rejected(payloads, accepts)
    refused = [Demoted(inline[i], "GitHub refused this line for an inline comment") for i in sorted(bad)]
    good = [payloads[i] for i in range(len(payloads)) if i not in bad]
    if not good:
        return None, refused
    try:
        return pr.create_review(commit=commit, body=body, event="COMMENT", comments=good).html_url, refused
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post the review") from None
        note(f"reviewer: GitHub refused the review again ({describe(exc)}); every finding goes into the summary")
        return None, [Demoted(p, "GitHub refused the review") for p in inline]


def _post_file_comment(pr: PullRequest, head_sha: str, p: PlacedFinding) -> str | None:
    from github import GithubException

    try:
        pr.create_review_comment(body=comment_body(p), commit=head_sha, path=p.finding.path, subject_type="file")
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post a file comment") from None
        return f"GitHub refused a file comment: {describe(exc)}"
    return None


def _clear_pending(pr: PullRequest, note: Note) -> bool:
    """Whether a review can be posted: a PENDING review of the token's account blocks it.

    One left by a crashed run of ours (it carries our marker) is deleted. One a
    person is drafting (with a personal token, it is theirs) is never touched:
    the findings then go into the summary.
    """
    clear = True
    for review in pr.get_reviews():
        if review.state != "PENDING":
            continue
        if MARKER_PREFIX in (review.body or ""):
            note(f"reviewer: deleting a pending review left by an earlier run ({review.id})")
            review.delete()
        else:
            note(f"reviewer: pending review {review.id} is someone's draft; findings go into the summary instead")
            clear = False
    return clear


def _upsert_summary(pr: PullRequest, state: PostedState, body: str) -> str | None:
    from github import GithubException

    try:
        if state.summary_comment is not None:
            state.summary_comment.edit(body)
            return str(state.summary_comment.html_url)
        return str(pr.create_issue_comment(body).html_url)
    except GithubException as exc:
        raise _write_error(exc, "post the summary comment") from None


def _write_error(exc: Any, what: str) -> PublishError:
    if exc.status == 403:
        return ReadOnly(
            f"GitHub refused to {what} ({describe(exc)}): the token cannot write to this pull request "
            "(a fork's read-only token, or the workflow lacks `pull-requests: write`)"
        )
    return PublishError(f"could not {what}: {describe(exc)}")
