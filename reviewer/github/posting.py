"""Posting one review on a pull request through PyGithub: the writes, and surviving what GitHub refuses or loses.

The plan (what goes inline, what into the summary, which threads are fixed) is
made in reviewer.github.comments and reviewer.github.converge; the pull request
and our earlier comments were read once, in reviewer.github.pull.

A write whose answer is lost (a 5xx, a timeout, a dropped connection) may
have been carried out: it is never sent again before we looked for what it
would have made (our markers, this run's review marker, the fingerprint). Of
what earlier runs posted, only our summary comment is edited, and only our
own threads are resolved (or answered once, where the token cannot resolve).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer.config import GitHubSettings
from reviewer.diff import Diff
from reviewer.errors import PublishError
from reviewer.github.api import describe
from reviewer.github.comments import (
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
    description_with,
    find_rejected,
    findings_block,
    fingerprint_of,
    plan_post,
    replace_between,
    review_body,
    review_nonce,
    summary_body,
    walkthrough,
)
from reviewer.github.converge import ADDRESSED_MARKER, Memory, Thread, carried, entry_texts, feedback, plan_threads
from reviewer.github.pull import ours
from reviewer.placement import PlacedFinding
from reviewer.safe_text import MARKER_PREFIX, inline_code

if TYPE_CHECKING:
    from github.Commit import Commit
    from github.PullRequest import PullRequest, ReviewComment

    from reviewer.github.pull import GitHubPull

Note = Callable[[str], None]
T = TypeVar("T")
# What a 422 says when it is about where a comment sits: only then is it worth finding which one.
_PLACEMENT_ERRORS = ("review thread", "line could not be resolved", "diff hunk", "start_line", "start line")


def publish(pull: GitHubPull, saved: PullReview, settings: GitHubSettings, note: Note) -> Published:
    """Post the review: one review, file-level comments, our fixed threads closed, and the summary comment (edited in place)."""
    from reviewer.redact import redact_each

    pr = pull.pull
    state = pull.state(settings.bot_login)
    findings = saved.review.findings
    complete = not saved.review.incomplete  # a failed backend saw nothing: its silence fixes nothing
    threads = plan_threads(_threads(pull, state, note) if complete else [], findings, settings, state.memory)
    plan = plan_post(findings, state.fingerprints, settings, threads.dismissed)
    demoted = list(plan.demoted)
    review_url = first_url = None
    posted = 0
    if plan.inline and _clear_pending(pr, state, note):
        review_url, refused = _post_review(pull, state, list(plan.inline), saved, note)
        demoted += refused
        posted += len(plan.inline) - len(refused)
    elif plan.inline:
        demoted += [Demoted(p, "a pending review drafted with this token's account blocks posting") for p in plan.inline]
    for p in plan.file_level:
        url, problem = _post_file_comment(pr, state, saved.head_sha, p, note)
        if problem:
            demoted.append(Demoted(p, problem))
        else:
            posted += 1
            first_url = first_url or url
    fixed, resolved = _close_fixed(pr, state, threads.resolve, saved.head_sha, note)
    earlier = state.summary_comment.body if state.summary_comment is not None else ""
    pr_paths = frozenset(redact_each([f.path for f in pull.files]))  # as the summary lists them: a name can hold a secret
    kept = carried(state.memory, entry_texts(findings_block(earlier)), _pushed(pull, saved), findings, threads.dismissed, pr_paths)
    # An incomplete run (a backend failed) keeps the head it started from, so the next push reviews what it missed.
    reviewed = saved.head_sha if complete else state.last_head
    body = summary_body(
        saved, demoted, posted=posted, already_posted=len(plan.already_posted), review_url=review_url, carried=kept,
        reviewed_head=reviewed, remembered=Memory((), threads.dismissed, state.memory.fixed | resolved), declined=len(plan.dismissed), resolved=fixed,
        feedback=feedback(state.comments),
        compare=settings.compare_models,
    )
    summary_url = _upsert_summary(pr, state, body, note)
    return Published(review_url, summary_url, posted, len(demoted), len(plan.already_posted), fixed, first_url)


def publish_not_reviewed(pull: GitHubPull, saved: PullReview, settings: GitHubSettings, note: Note) -> str | None:
    """A PR skipped as a whole (too large): the summary says so, not silence."""
    state = pull.state(settings.bot_login)
    body = summary_body(saved, (), posted=0, already_posted=0, review_url=None, remembered=state.memory)
    return _upsert_summary(pull.pull, state, body, note)


def refresh_walkthrough(pull: GitHubPull, saved: PullReview, settings: GitHubSettings, note: Note) -> str | None:
    """`reviewer summarize` on a PR: the walkthrough section of the summary (and the description) alone."""
    from github import GithubException

    pr = pull.pull
    state = pull.state(settings.bot_login)
    text = walkthrough(saved)
    if state.summary_comment is not None:
        body = replace_between(state.summary_comment.body, WALKTHROUGH_START, WALKTHROUGH_END, text)
    else:
        body = f"{SUMMARY_MARKER}\n## reviewer\n\n{WALKTHROUGH_START}\n{text}\n{WALKTHROUGH_END}\n"
    url = _upsert_summary(pr, state, body, note)
    if settings.update_description:
        description = description_with(pr.body or "", saved)
        if description is None:
            note("reviewer: the pull request's description leaves no room under GitHub's size limit; not adding the walkthrough to it")
            return url
        try:
            _once(lambda: pr.edit(body=description), lambda: _described(pull, description), "the description update", note)
        except GithubException as exc:
            raise _write_error(exc, "update the pull request description") from None
    return url


def post_answer(pull: GitHubPull, me: str, question: int, thread: int | None, body: str, note: Note) -> str:
    """Our one answer to comment `question`: a reply in review thread `thread`, or (None) a comment in the conversation.

    Its URL. A lost answer is looked for (by its marker naming `question`) before it is sent again.
    """
    from github import GithubException

    from reviewer.github import answers

    pr = pull.pull

    def find() -> Any:
        listed = pr.get_review_comments() if thread is not None else pr.get_issue_comments()
        return next((c for c in listed if ours(c.user, me) and answers.answered(c.body) == question), None)

    def send() -> Any:
        return pr.create_review_comment_reply(thread, body) if thread is not None else pr.create_issue_comment(body)

    try:
        return str(_once(send, find, "the answer", note).html_url)
    except GithubException as exc:
        raise _write_error(exc, "post the answer") from None


def _post_review(pull: GitHubPull, state: PostedState, inline: list[PlacedFinding], saved: PullReview, note: Note) -> tuple[str | None, list[Demoted]]:
    """One review; on a 422 about where comments sit, the refused ones go to the summary and the rest is posted."""
    from github import GithubException

    pr, commit = pull.pull, _commit(pull, saved.head_sha)
    payloads = [comment_payload(p) for p in inline]
    nonce = uuid.uuid4().hex[:16]
    body = review_body(len(inline), saved.head_sha, nonce)

    def send(comments: list[ReviewComment]) -> str:
        def find() -> Any:
            return next((r for r in pr.get_reviews() if ours(r.user, state.me) and review_nonce(r.body) == nonce), None)

        return str(_once(lambda: pr.create_review(commit=commit, body=body, event="COMMENT", comments=comments), find, "the review", note).html_url)

    try:
        return send(payloads), []
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post the review") from None
        if not _about_placement(exc):
            # Nothing to find by trying subsets ("Body is too long", a stale commit): say what GitHub said.
            note(f"reviewer: GitHub refused the review ({describe(exc)}); its findings go into the summary")
            return None, [Demoted(p, f"GitHub refused the review: {describe(exc)}") for p in inline]
        note(f"reviewer: GitHub refused the review ({describe(exc)}); finding the comments it refuses")

    def accepts(subset: list[ReviewComment]) -> bool:
        # A pending review (no event) is invisible to others and deleted at once: a probe, not a post.
        def find() -> Any:
            return next((r for r in pr.get_reviews() if r.state == "PENDING" and ours(r.user, state.me) and PROBE_MARKER in (r.body or "")), None)

        try:
            pending = _once(lambda: pr.create_review(commit=commit, body=PROBE_MARKER, comments=subset), find, "a probe review", note)
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
        return send(good), refused
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post the review") from None
        note(f"reviewer: GitHub refused the review again ({describe(exc)}); every finding goes into the summary")
        return None, [Demoted(p, "GitHub refused the review") for p in inline]


def _about_placement(exc: Any) -> bool:
    return any(marker in describe(exc).lower() for marker in _PLACEMENT_ERRORS)


def _commit(pull: GitHubPull, sha: str) -> Commit:
    """The commit a review is pinned to, as PyGithub takes it: only its SHA is sent, so nothing is downloaded."""
    from github.Commit import Commit

    return Commit(pull.gh.requester, {}, {"sha": sha, "url": f"{pull.repo.url}/commits/{sha}"}, completed=True)


def _post_file_comment(pr: PullRequest, state: PostedState, head_sha: str, p: PlacedFinding, note: Note) -> tuple[str | None, str | None]:
    """A file-level comment: its URL, or why GitHub refused it."""
    from github import GithubException

    def find() -> Any:
        return next(
            (c for c in pr.get_review_comments() if ours(c.user, state.me) and c.path == p.path and fingerprint_of(c.body) == p.fingerprint),
            None,
        )

    try:
        made = _once(lambda: pr.create_review_comment(body=comment_body(p), commit=head_sha, path=p.path, subject_type="file"), find, "a file comment", note)
    except GithubException as exc:
        if exc.status != 422:
            raise _write_error(exc, "post a file comment") from None
        return None, f"GitHub refused a file comment: {describe(exc)}"
    return str(made.html_url), None


def _threads(pull: GitHubPull, state: PostedState, note: Note) -> list[Thread]:
    from github import GithubException

    try:
        return pull.threads(state)
    except GithubException as exc:
        note(f"reviewer: cannot read the review threads ({describe(exc)}); no thread is resolved this run")
        return []


def _close_fixed(pr: PullRequest, state: PostedState, threads: tuple[Thread, ...], head_sha: str, note: Note) -> tuple[int, frozenset[str]]:
    """Resolve our threads that this push fixed; where the token cannot, say so once in the thread.

    How many were closed either way, and the fingerprints of those resolved (remembered as ours, not a person's).
    """
    closed = 0
    resolved: set[str] = set()
    for t in threads:
        if t.can_resolve and _resolve(pr, t, note):
            closed += 1
            resolved.add(t.root.fingerprint)
        elif not t.root.acknowledged and _reply_addressed(pr, state, t.root.id, head_sha, note):
            closed += 1
    return closed, frozenset(resolved)


def _reply_addressed(pr: PullRequest, state: PostedState, root: int, head_sha: str, note: Note) -> bool:
    """One reply in our thread saying it was addressed, for a token that may not resolve threads."""
    from github import GithubException

    body = f"{ADDRESSED_MARKER}\nAddressed in {inline_code(head_sha[:7])}: the lines changed, and the new review does not raise this again."

    def find() -> Any:
        return next((c for c in pr.get_review_comments() if c.in_reply_to_id == root and ours(c.user, state.me) and ADDRESSED_MARKER in (c.body or "")), None)

    try:
        _once(lambda: pr.create_review_comment_reply(root, body), find, "a reply", note)
    except GithubException as exc:
        note(f"reviewer: cannot reply to thread {root} ({describe(exc)})")
        return False
    return True


def _resolve(pr: PullRequest, thread: Thread, note: Note) -> bool:
    from github import GithubException

    def send() -> object:
        return pr.requester.graphql_named_mutation("resolveReviewThread", {"threadId": thread.id}, "thread { id isResolved }")

    try:
        _once(send, lambda: None, "resolving a thread", note)  # resolving is idempotent: sending it again is safe
    except GithubException as exc:
        note(f"reviewer: cannot resolve thread {thread.root.id} ({describe(exc)}); replying instead")
        return False
    return True


def _clear_pending(pr: PullRequest, state: PostedState, note: Note) -> bool:
    """Whether a review can be posted: a PENDING review of the token's account blocks it.

    One left by a crashed run of ours (it carries our marker) is deleted. One a
    person is drafting (with a personal token, it is theirs) is never touched:
    the findings then go into the summary.
    """
    clear = True
    for review in pr.get_reviews():
        if review.state != "PENDING" or not ours(review.user, state.me):
            continue
        if MARKER_PREFIX in (review.body or ""):
            note(f"reviewer: deleting a pending review left by an earlier run ({review.id})")
            review.delete()
        else:
            note(f"reviewer: pending review {review.id} is someone's draft; findings go into the summary instead")
            clear = False
    return clear


def _upsert_summary(pr: PullRequest, state: PostedState, body: str, note: Note) -> str | None:
    from github import GithubException

    comment = state.summary_comment
    try:
        if comment is not None:
            _once(lambda: comment.edit(body), lambda: _edited(pr, comment.id, body), "the summary edit", note)
            return str(comment.html_url)

        def find() -> Any:
            return next((c for c in pr.get_issue_comments() if ours(c.user, state.me) and (c.body or "").startswith(SUMMARY_MARKER)), None)

        return str(_once(lambda: pr.create_issue_comment(body), find, "the summary comment", note).html_url)
    except GithubException as exc:
        raise _write_error(exc, "post the summary comment") from None


def _edited(pr: PullRequest, comment_id: int, body: str) -> Any:
    comment = pr.get_issue_comment(comment_id)
    return comment if comment.body == body else None


def _described(pull: GitHubPull, body: str) -> Any:
    fresh = pull.repo.get_pull(pull.ref.number)
    return fresh if fresh.body == body else None


def _once(send: Callable[[], T], find: Callable[[], T | None], what: str, note: Note) -> T:
    """Send a write; when its answer is lost, look for what it made before sending it once more.

    A 5xx, a timeout or a dropped connection does not say whether GitHub carried the
    write out (a 502 after the review was created is the classic duplicate).
    """
    from github import GithubException
    from requests import RequestException

    try:
        return send()
    except (GithubException, RequestException) as exc:
        if isinstance(exc, GithubException) and exc.status < 500:
            raise
        lost = describe(exc) if isinstance(exc, GithubException) else type(exc).__name__
        note(f"reviewer: GitHub's answer to {what} was lost ({lost}); looking for it before sending it again")
    found = find()
    if found is not None:
        return found
    return send()


def _write_error(exc: Any, what: str) -> PublishError:
    # GitHub answers 404 rather than 403 where the token may not even know the repository exists.
    if exc.status in (403, 404):
        return ReadOnly(
            f"GitHub refused to {what} ({describe(exc)}): the token cannot write to this pull request "
            "(a fork's read-only token, or the workflow lacks `pull-requests: write`)"
        )
    return PublishError(f"could not {what}: {describe(exc)}")


def _pushed(pull: GitHubPull, saved: PullReview) -> Diff | None:
    """The push this run reviewed, for carrying the summary's entries; an empty diff keeps them all as they were.

    None (a review of the whole PR) re-lists everything from this run alone.
    """
    if saved.review.incomplete:
        return Diff()
    if saved.since_sha is None:
        return None
    pushed = pull.pushed(saved.since_sha)
    return pushed.diff if pushed is not None else Diff()
