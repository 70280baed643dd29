"""What we post on a pull request, decided before anything is posted: pure, no I/O.

Where each finding goes (`plan_post`), from the placement it was given against
the PR's diff: a finding on a diff line is an inline comment, one in a changed
file but off the diff a file-level comment, and anything else (or over the
limits, or below the threshold) is listed in the summary. What each body says,
with every interpolated field escaped for its place. reviewer.github.posting
sends it; GitHub's 422 is survived there, not relied on.

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
from reviewer.errors import PublishError
from reviewer.placement import PlacedFinding, Placement
from reviewer.publishers.terminal import usage_line
from reviewer.safe_text import MARKER_PREFIX, fence_for, inline_code, neutralise, one_line
from reviewer.vocabulary import SEVERITY, at_or_above, severity_rank

if TYPE_CHECKING:
    from github.PullRequest import ReviewComment

    from reviewer.review import Review

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

Note = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class PullReview:
    """A review of one pull request, handed from the run to the poster (in memory, or through a pr_review file)."""

    repo: str  # owner/name
    number: int
    head_sha: str
    base_sha: str
    review: Review
    since_sha: str | None = None  # set when only the changes since this SHA were reviewed
    not_reviewed_reason: str | None = None  # the whole PR was skipped (too large...): say so in the summary


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


def plan_post(findings: Iterable[PlacedFinding], posted: frozenset[str], settings: GitHubSettings) -> PostPlan:
    """Inline, file-level, summary or already posted, for every finding (placed against the PR's diff); most severe first."""
    ordered = sorted(findings, key=lambda p: (severity_rank(p.finding.severity), p.finding.path, p.finding.line))
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
    parts = [f"**{SEVERITY[f.severity].icon} {f.severity} · {f.category}**: {one_line(_cut(f.title, TITLE_CHARS))}"]
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
    pr_review: PullReview,
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
    if pr_review.not_reviewed_reason:
        out += [f"**Not reviewed:** {one_line(pr_review.not_reviewed_reason)}", ""]
    out += [WALKTHROUGH_START, walkthrough(pr_review), WALKTHROUGH_END, ""]
    if not pr_review.not_reviewed_reason:
        scope = f"the changes since {inline_code(pr_review.since_sha[:7])}" if pr_review.since_sha else "the whole pull request"
        line = f"Reviewed {scope} at {inline_code(pr_review.head_sha[:7])}: {posted} new comment{'s' if posted != 1 else ''}"
        if not pr_review.review.findings and not already_posted:
            line = f"Reviewed {scope} at {inline_code(pr_review.head_sha[:7])}: no findings"
        if review_url:
            line += f" in [this review]({review_url})"
        if already_posted:
            line += f", {already_posted} already posted earlier (not repeated)"
        out += [line + ".", ""]
    tail = _tail(pr_review)
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


def walkthrough(pr_review: PullReview) -> str:
    summary = pr_review.review.summary
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
        entry = f"- {SEVERITY[f.severity].icon} **{f.severity}** {inline_code(f'{f.path}:{span}')}{side}: {title} _({one_line(d.reason)})_"
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


def _tail(pr_review: PullReview) -> list[str]:
    from reviewer.publishers.markdown import status_sections

    review = pr_review.review
    out = status_sections(review)
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


