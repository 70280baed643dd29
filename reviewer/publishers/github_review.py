"""The GitHub publisher: one review with inline comments per run, one summary comment per PR.

Where each finding goes is decided here, against the PR's parsed diff, before
anything is posted (`plan_post`): a finding on a diff line is an inline
comment, one in a changed file but off the diff a file-level comment, and
anything else (or over the limits, or below the threshold) is listed in the
summary. GitHub's 422 is survived, not relied on: the comments it refuses are
found by probing with pending reviews, moved into the summary, and the rest
are posted.

Every comment starts with a hidden fingerprint marker, and the summary with
its own marker and ends with the last reviewed head SHA, so later runs post
nothing twice and review incrementally. Only comments posted by our own
account count (the token's login, or `[github] bot_login` for a token that
cannot ask who it is), and only with the marker at the very start: anyone
else can copy our markers, so what they post never steers a run. Nothing
posted earlier is ever edited, resolved or deleted, except our own summary
comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer.config import GitHubSettings
from reviewer.diff import Diff, parse_diff
from reviewer.errors import PublishError
from reviewer.findings import at_or_above, severity_rank
from reviewer.placement import PlacedFinding, Placement, fingerprint, place_one
from reviewer.publishers.terminal import usage_line
from reviewer.safe_text import MARKER_PREFIX, fence_for, inline_code, neutralise, one_line
from reviewer.saved_review import SavedReview
from reviewer.sources.github import PullRef, describe, open_pull

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest, ReviewComment

SUMMARY_MARKER = f"{MARKER_PREFIX}summary -->"
WALKTHROUGH_START = f"{MARKER_PREFIX}walkthrough -->"
WALKTHROUGH_END = f"{MARKER_PREFIX}walkthrough-end -->"
FINDINGS_START = f"{MARKER_PREFIX}findings -->"
FINDINGS_END = f"{MARKER_PREFIX}findings-end -->"
DESCRIPTION_START = f"{MARKER_PREFIX}description -->"
DESCRIPTION_END = f"{MARKER_PREFIX}description-end -->"
PROBE_MARKER = f"{MARKER_PREFIX}probe -->"  # on the pending reviews that find the comments a 422 refers to
_FINGERPRINT = re.escape(MARKER_PREFIX) + r"fp=([0-9a-f]{16}) -->"
# New comments start with their fingerprint; comments of earlier versions end with it.
_LEADING_FINGERPRINT = re.compile(r"\A" + _FINGERPRINT)
_TRAILING_FINGERPRINT = re.compile(_FINGERPRINT + r"\s*\Z")
_HEAD = re.compile(re.escape(MARKER_PREFIX) + r"head=([0-9a-f]{7,64}) -->")

BODY_LIMIT = 60000  # GitHub refuses bodies over 65,536 characters; leave room for our own framing
# Model text is cut *before* it is made safe (cutting after could split a code fence);
# making it safe at most quadruples it (`<` → `&lt;`), which keeps a comment under BODY_LIMIT.
TITLE_CHARS = 300
BODY_CHARS = 12000
SUGGESTION_CHARS = 20000
LISTED_BODY_CHARS = 2000  # a finding's body in the summary list
WALKTHROUGH_CHARS = 8000
MAX_FILE_COMMENTS = 10  # each is its own content-creating request (GitHub allows ~80 a minute)
MAX_PROBES = 24  # pending reviews tried while looking for the comments a 422 refers to
ICONS = {"critical": "🔴", "major": "🟠", "minor": "🟡", "nit": "⚪"}

Note = Callable[[str], None]
T = TypeVar("T")


class ReadOnly(PublishError):
    """GitHub answered 403 to a write: the token can read but not post (a fork PR, or missing permissions)."""


@dataclass(frozen=True)
class Demoted:
    """A finding listed in the summary instead of posted as a comment, and why."""

    placed: PlacedFinding
    reason: str


@dataclass(frozen=True)
class PostPlan:
    inline: tuple[PlacedFinding, ...]
    file_level: tuple[PlacedFinding, ...]
    demoted: tuple[Demoted, ...]
    already_posted: tuple[PlacedFinding, ...]


@dataclass(frozen=True)
class Published:
    review_url: str | None
    summary_url: str | None
    inline: int  # inline and file-level comments posted
    demoted: int
    already_posted: int


@dataclass(frozen=True)
class PostedState:
    """What earlier runs left on the PR."""

    summary_comment: Any | None  # our IssueComment, edited in place
    last_head: str | None
    fingerprints: frozenset[str]


# Pure: where findings go, what bodies say.


def plan_post(
    findings: Iterable[PlacedFinding],
    diff: Diff,
    posted: frozenset[str],
    settings: GitHubSettings,
    *,
    incremental: bool,
) -> PostPlan:
    """Inline, file-level, summary or already posted, for every finding; most severe first."""
    ordered = sorted(
        (recheck(p, diff, incremental=incremental) for p in findings),
        key=lambda p: (severity_rank(p.finding.severity), p.finding.path, p.finding.line),
    )
    inline: list[PlacedFinding] = []
    file_level: list[PlacedFinding] = []
    demoted: list[Demoted] = []
    already: list[PlacedFinding] = []
    for p in ordered:
        # Only earlier runs count: two different findings on the same code in this run are both posted.
        if p.fingerprint in posted:
            already.append(p)
            continue
        reason = _summary_reason(p, settings, len(inline) + len(file_level), len(inline), len(file_level))
        if reason:
            demoted.append(Demoted(p, reason))
        elif p.placement is Placement.LINE:
            inline.append(p)
        else:
            file_level.append(p)
    return PostPlan(tuple(inline), tuple(file_level), tuple(demoted), tuple(already))


def recheck(placed: PlacedFinding, diff: Diff, *, incremental: bool) -> PlacedFinding:
    """Placement against the PR's whole diff (GitHub's view), whatever diff the review saw.

    In an incremental review a LEFT line number counts in the previously
    reviewed version, not the PR's base, so it cannot be trusted for an inline comment.
    """
    again = place_one(placed.finding, diff)
    if incremental and again.placement is Placement.LINE and again.finding.side == "LEFT":
        file = diff.file(again.finding.path)
        return PlacedFinding(again.finding, Placement.FILE, fingerprint(again.finding, file))
    return again


def _summary_reason(p: PlacedFinding, settings: GitHubSettings, comments: int, inline: int, files: int) -> str | None:
    if p.placement is Placement.OUTSIDE:
        return "not in a file of this pull request's diff"
    if not at_or_above(p.finding.severity, settings.inline_min_severity):
        return f"below the inline threshold ({settings.inline_min_severity})"
    if comments >= settings.max_inline_comments:
        return f"over the cap of {settings.max_inline_comments} comments per run"
    if p.placement is Placement.LINE and inline >= settings.comments_per_request:
        return f"over the limit of {settings.comments_per_request} comments per review"
    if p.placement is Placement.FILE and files >= MAX_FILE_COMMENTS:
        return f"over the limit of {MAX_FILE_COMMENTS} file-level comments per run"
    return None


def fingerprint_marker(value: str) -> str:
    return f"{MARKER_PREFIX}fp={value} -->"


def comment_body(p: PlacedFinding) -> str:
    f = p.finding
    parts = [f"**{ICONS[f.severity]} {f.severity} · {f.category}**: {one_line(_cut(f.title, TITLE_CHARS))}"]
    if p.placement is Placement.FILE:
        parts[0] += f" (line {f.line}{' of the old file' if f.side == 'LEFT' else ''})"
    if f.body:
        parts.append(neutralise(_cut(f.body, BODY_CHARS)))
    # GitHub cannot apply a suggestion to deleted lines, nor to a file-level comment.
    if f.suggestion is not None and p.placement is Placement.LINE and f.side == "RIGHT":
        if len(f.suggestion) <= SUGGESTION_CHARS:
            parts.append(fence_for(f.suggestion, "suggestion"))
        else:
            parts.append("_(The suggested change is too long for a comment.)_")
    return f"{fingerprint_marker(p.fingerprint)}\n" + "\n\n".join(parts)


def comment_payload(p: PlacedFinding) -> ReviewComment:
    """One `comments[]` entry of a review; `start_line` only when strictly before `line` (else GitHub 422s)."""
    f = p.finding
    payload: ReviewComment = {"path": f.path, "body": comment_body(p), "line": f.line, "side": f.side}
    if f.start_line is not None and f.start_line < f.line:
        payload["start_line"] = f.start_line
        payload["start_side"] = f.side
    return payload


def find_rejected(items: Sequence[T], accepts: Callable[[list[T]], bool], max_probes: int = MAX_PROBES) -> frozenset[int]:
    """Which items make `accepts` fail, by bisection; items left unprobed when the budget runs out count as rejected.

    Called when the whole list was already refused, so the first probe is of each half.
    """
    probes = 0
    rejected: set[int] = set()

    def search(indices: list[int], known_bad: bool) -> bool:
        """True when every item of `indices` is accepted."""
        nonlocal probes
        if not known_bad:
            if probes >= max_probes:
                rejected.update(indices)
                return False
            probes += 1
            if accepts([items[i] for i in indices]):
                return True
        if len(indices) == 1:
            rejected.update(indices)
            return False
        middle = len(indices) // 2
        # The whole was refused: when the left half passes, the right half is known bad without a probe.
        left_ok = search(indices[:middle], False)
        search(indices[middle:], left_ok)
        return False

    search(list(range(len(items))), True)
    return frozenset(rejected)


def summary_body(
    saved: SavedReview,
    demoted: Sequence[Demoted],
    *,
    posted: int,
    already_posted: int,
    review_url: str | None,
    heading_note: str = "",
    earlier: str = "",
    reviewed_head: str | None = None,
) -> str:
    """The one summary comment: walkthrough, what is not inline, what was not reviewed, the run's cost and head SHA.

    `earlier` is the findings list of the summary this one replaces: an
    incremental run keeps it, so a finding listed on an earlier push is not lost.
    `reviewed_head` is recorded for the next run to review from; None records
    nothing, so the next run reviews the whole PR.
    """
    out = [SUMMARY_MARKER, "## reviewer", ""]
    if heading_note:
        out += [heading_note, ""]
    if saved.not_reviewed_reason:
        out += [f"**Not reviewed:** {one_line(saved.not_reviewed_reason)}", ""]
    out += [WALKTHROUGH_START, walkthrough(saved), WALKTHROUGH_END, ""]
    if not saved.not_reviewed_reason:
        scope = f"the changes since {inline_code(saved.since_sha[:7])}" if saved.since_sha else "the whole pull request"
        line = f"Reviewed {scope} at {inline_code(saved.head_sha[:7])}: {posted} new comment{'s' if posted != 1 else ''}"
        if review_url:
            line += f" in [this review]({review_url})"
        if already_posted:
            line += f", {already_posted} already posted earlier (not repeated)"
        out += [line + ".", ""]
    tail = _tail(saved)
    current = _demoted_entries(demoted)
    kept = [entry for entry in _entries(earlier) if entry not in current and not entry.startswith(_MORE)]
    listed = _fit(current + kept, BODY_LIMIT - len("\n".join(out + tail)) - 200)
    if listed:
        out += ["### Findings not posted as comments", "", FINDINGS_START, *listed, FINDINGS_END, ""]
    body = _truncate("\n".join(out + tail), BODY_LIMIT) + "\n"
    return body + (f"{MARKER_PREFIX}head={reviewed_head} -->\n" if reviewed_head else "")


def findings_block(body: str) -> str:
    """The findings list of an earlier summary comment (our own text, already made safe)."""
    _, found, rest = body.partition(FINDINGS_START)
    return rest.partition(FINDINGS_END)[0].strip("\n") if found and FINDINGS_END in rest else ""


def walkthrough(saved: SavedReview) -> str:
    summary = saved.review.summary
    if summary is None:
        return "_No walkthrough in this run._"
    # Summary.markdown() is safe as a whole; cut, it could end inside a fence, which neutralise closes.
    return neutralise(_cut(summary.markdown(), WALKTHROUGH_CHARS)).rstrip()


def _demoted_entries(demoted: Sequence[Demoted]) -> list[str]:
    lines: list[str] = []
    for d in demoted:
        f = d.placed.finding
        span = f"{f.start_line}-{f.line}" if f.start_line else str(f.line)
        side = " (old file)" if f.side == "LEFT" else ""
        title = one_line(_cut(f.title, TITLE_CHARS))
        entry = f"- {ICONS[f.severity]} **{f.severity}** {inline_code(f'{f.path}:{span}')}{side}: {title} _({one_line(d.reason)})_"
        if f.body:
            body = neutralise(_cut(f.body, LISTED_BODY_CHARS)).replace("\n", "\n  ")
            entry += f"\n  <details><summary>details</summary>\n\n  {body}\n\n  </details>"
        lines.append(entry)
    return lines


def _entries(block: str) -> list[str]:
    """The list entries of a findings block: each starts with "- " and keeps its indented lines."""
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith("- ") or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return [e for e in entries if e.strip()]


_MORE = "- … "


def _fit(lines: list[str], budget: int) -> list[str]:
    """As many entries as fit in `budget` characters, and one saying how many did not."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > budget:
            return kept + [f"{_MORE}{len(lines) - len(kept)} more findings not shown (GitHub's comment size limit)"]
        kept.append(line)
        size += len(line) + 1
    return kept


def _tail(saved: SavedReview) -> list[str]:
    review = saved.review
    out: list[str] = []
    if review.skipped:
        out += ["### Not reviewed", ""] + [f"- {inline_code(s.path)}: {one_line(s.reason)}" for s in review.skipped] + [""]
    if review.errors:
        out += ["### Errors", ""] + [f"- {one_line(e)}" for e in review.errors] + [""]
    if review.notes:
        out += ["### Notes", ""] + [f"- {one_line(n)}" for n in review.notes] + [""]
    out.append(f"<sub>{usage_line(review.usage)} · cost ${review.cost_usd:.4f}</sub>")
    return out


def replace_between(text: str, start: str, end: str, new: str) -> str:
    """`new` between the markers, keeping everything else; appended with its markers when absent."""
    block = f"{start}\n{new}\n{end}"
    head, found, rest = text.partition(start)
    if found and end in rest:
        return head + block + rest.partition(end)[2]
    return f"{text.rstrip()}\n\n{block}\n" if text.strip() else f"{block}\n"


def fingerprints_in(bodies: Iterable[str]) -> frozenset[str]:
    """The fingerprint of each of our comments: its marker at the very start, or at the very end (older comments)."""
    found = (_LEADING_FINGERPRINT.match(body or "") or _TRAILING_FINGERPRINT.search(body or "") for body in bodies)
    return frozenset(m.group(1) for m in found if m)


def last_head_in(body: str) -> str | None:
    match = _HEAD.search(body or "")
    return match.group(1) if match else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 40].rstrip() + "\n\n… (cut at GitHub's size limit)"


# I/O: PyGithub at the edge.


def read_state(gh: Github, pr: PullRequest, settings: GitHubSettings) -> PostedState:
    """Our summary comment, the head SHA it records, and the fingerprints of our comments: nobody else's."""
    from github import GithubException

    me = _viewer(gh, settings.bot_login)
    try:
        summaries = [c for c in pr.get_issue_comments() if _ours(c.user, me) and (c.body or "").startswith(SUMMARY_MARKER)]
        bodies = [c.body for c in pr.get_review_comments() if _ours(c.user, me)]
    except GithubException as exc:
        raise PublishError(f"cannot read the comments of pull request #{pr.number}: {describe(exc)}") from None
    summary = summaries[-1] if summaries else None
    return PostedState(summary, last_head_in(summary.body) if summary else None, fingerprints_in(bodies))


def publish(gh: Github, saved: SavedReview, settings: GitHubSettings, note: Note) -> Published:
    """Post the saved review: one review, file-level comments, and the summary comment (edited in place)."""
    repo, pr = open_pull(gh, PullRef(saved.repo, saved.number))
    state = read_state(gh, pr, settings)
    plan = plan_post(saved.review.findings, parse_diff(saved.diff), state.fingerprints, settings, incremental=saved.since_sha is not None)
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
        saved, demoted, posted=posted, already_posted=len(plan.already_posted), review_url=review_url, earlier=earlier, reviewed_head=reviewed
    )
    summary_url = _upsert_summary(pr, state, body)
    return Published(review_url, summary_url, posted, len(demoted), len(plan.already_posted))


def publish_not_reviewed(gh: Github, saved: SavedReview, settings: GitHubSettings) -> str | None:
    """A PR skipped as a whole (too large): the summary says so, not silence."""
    _, pr = open_pull(gh, PullRef(saved.repo, saved.number))
    state = read_state(gh, pr, settings)
    return _upsert_summary(pr, state, summary_body(saved, (), posted=0, already_posted=0, review_url=None))


def refresh_walkthrough(gh: Github, saved: SavedReview, settings: GitHubSettings) -> str | None:
    """`reviewer summarize` on a PR: the walkthrough section of the summary (and the description) alone."""
    from github import GithubException

    _, pr = open_pull(gh, PullRef(saved.repo, saved.number))
    state = read_state(gh, pr, settings)
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


def _post_review(pr: PullRequest, commit: Any, inline: list[PlacedFinding], saved: SavedReview, note: Note) -> tuple[str | None, list[Demoted]]:
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


def _viewer(gh: Github, bot_login: str) -> str:
    """The login this token posts as: its user's for a personal token, else the configured bot's.

    Never "any bot": every workflow and App can post as some bot, and could
    then copy our markers to make a run skip its review.
    """
    from github import GithubException

    # `ghs_` tokens (GITHUB_TOKEN, GitHub Apps) are refused GET /user: spare the request and its 403 in the log.
    if str(getattr(gh.requester.auth, "token", "")).startswith("ghs_"):
        return bot_login
    try:
        return str(gh.get_user().login)
    except GithubException:
        return bot_login


def _ours(user: Any, me: str) -> bool:
    """Posted by our login (GitHub logins ignore case)."""
    return user is not None and str(user.login).lower() == me.lower()
