"""What we post on a pull request, decided before anything is posted: pure, no I/O.

Where each finding goes (`plan_post`), from the placement it was given against
the PR's diff: a finding on a diff line is an inline comment, one in a changed
file but off the diff a file-level comment, and anything else (or over the
limits, or below the threshold) is listed in the summary. What each body says,
with every interpolated field escaped for its place. reviewer.github.posting
sends it; GitHub's 422 is survived there, not relied on.

Every comment starts with a hidden fingerprint marker, and the summary with
its own marker and ends with its hidden state (reviewer.github.converge) and
the last reviewed head SHA, so later runs post nothing twice, review
incrementally and keep the summary current. Only comments posted by our own
account count (the token's login, or `[github] bot_login` for a token that
cannot ask who it is), and only with the marker at the very start: anyone
else can copy our markers, so what they post never steers a run.

Every body stays under GitHub's 65,536-character limit however long the
model's title, body and suggestion: what does not fit is cut, and the cut
shows.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer.config import GitHubSettings
from reviewer.errors import PublishError
from reviewer.github.converge import Entry, Feedback, Listed, Memory, OurComment, encode
from reviewer.placement import PlacedFinding, Placement
from reviewer.pricing import audit_line
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
# A review's body carries its run's own marker: after a lost answer, the review found with it is this run's.
_REVIEW = re.escape(MARKER_PREFIX) + r"review=([0-9a-f]{8,32}) -->"
_FINGERPRINT = re.escape(MARKER_PREFIX) + r"fp=([0-9a-f]{16}) -->"
# New comments start with their fingerprint; comments of earlier versions end with it.
_LEADING_FINGERPRINT = re.compile(r"\A" + _FINGERPRINT)
_TRAILING_FINGERPRINT = re.compile(_FINGERPRINT + r"\s*\Z")
_HEAD = re.compile(re.escape(MARKER_PREFIX) + r"head=([0-9a-f]{7,64}) -->")
_HEADING = re.compile(r"\A\*\*\S+ (?P<severity>\w+) · (?P<category>\w+)\*\*(?::[ ]?(?P<title>[^\n]*))?")  # a comment's first line after its marker

GITHUB_LIMIT = 65536  # GitHub refuses a body over 65,536 characters ("Body is too long")
BODY_LIMIT = 60000  # ours: headroom for how GitHub counts
# Model text is cut *before* it is made safe (cutting after could split a code fence or an
# escape); what it then renders to is measured, and cut further until it fits its budget.
TITLE_CHARS = 300
BODY_CHARS = 12000
SUGGESTION_CHARS = 20000
LISTED_BODY_CHARS = 2000  # a finding's body in the summary list
WALKTHROUGH_CHARS = 8000
WALKTHROUGH_BUDGET = 24000  # the walkthrough as posted, in the summary or the description
TAIL_BUDGET = 12000  # the summary's lists of files not reviewed, errors and notes
CUT_NOTE = "_(cut to fit GitHub's comment size limit)_"
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
    api_url: str | None = None  # the GitHub API the PR was read from: a saved review is posted there only


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
    dismissed: tuple[PlacedFinding, ...] = ()  # declined by a person on an earlier push: neither posted nor listed


@dataclass(frozen=True)
class Published:
    review_url: str | None  # the review posted by this run, if it posted one
    summary_url: str | None
    inline: int  # inline and file-level comments posted
    demoted: int
    already_posted: int
    resolved: int = 0  # our threads closed as fixed
    first_comment_url: str | None = None  # a new comment's, when no review was posted


@dataclass(frozen=True)
class PostedState:
    """What earlier runs left on the PR, ours alone."""

    me: str  # the login our comments are posted as
    summary_comment: Any | None  # our IssueComment, edited in place
    last_head: str | None
    comments: tuple[OurComment, ...] = ()  # the first comment of each of our threads
    memory: Memory = Memory()

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(c.fingerprint for c in self.comments)


# Pure: where findings go, what bodies say.


def plan_post(
    findings: Iterable[PlacedFinding], posted: frozenset[str], settings: GitHubSettings, dismissed: frozenset[str] = frozenset()
) -> PostPlan:
    """Inline, file-level, summary, already posted or declined, for every finding (placed against the PR's diff); most severe first."""
    ordered = sorted(findings, key=lambda p: (severity_rank(p.finding.severity), p.finding.path, p.finding.line))
    inline: list[PlacedFinding] = []
    file_level: list[PlacedFinding] = []
    demoted: list[Demoted] = []
    already: list[PlacedFinding] = []
    declined: list[PlacedFinding] = []
    for p in ordered:
        if p.fingerprint in dismissed:
            declined.append(p)
            continue
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
    return PostPlan(tuple(inline), tuple(file_level), tuple(demoted), tuple(already), tuple(declined))


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
    """Marker, heading, the model's explanation and a suggestion block: under BODY_LIMIT whatever the model wrote."""
    f = p.finding
    heading = f"**{SEVERITY[f.severity].icon} {f.severity} · {f.category}**: {one_line(_cut(f.title, TITLE_CHARS))}"
    if p.placement is Placement.FILE:
        heading += f" (line {f.line}{' of the old file' if f.side == 'LEFT' else ''})"
    head = f"{fingerprint_marker(p.fingerprint)}\n{heading}"
    suggestion = ""
    # GitHub cannot apply a suggestion to deleted lines, nor to a file-level comment.
    if f.suggestion is not None and p.placement is Placement.LINE and f.side == "RIGHT":
        suggestion = "\n\n" + (suggestion_block(f.suggestion) if len(f.suggestion) <= SUGGESTION_CHARS else "_(The suggested change is too long for a comment.)_")
    body = ""
    if f.body:
        body = "\n\n" + fit_text(f.body, neutralise, BODY_LIMIT - len(head) - len(suggestion) - 2, BODY_CHARS)
    return head + body + suggestion


def suggestion_block(code: str) -> str:
    """A ```suggestion block; an empty suggestion is an empty block, which deletes the lines (a blank line in it would keep one)."""
    block = fence_for(code, "suggestion")
    if code.strip("\n"):
        return block
    fence = block.split("\n", 1)[0]
    return f"{fence}\n{fence[: -len('suggestion')]}"


def review_body(count: int, head_sha: str, nonce: str) -> str:
    """The review's own body: short, with this run's marker so a lost answer can be told from no review."""
    return (
        f"{MARKER_PREFIX}review={nonce} -->\nreviewer: {count} comment{'s' if count != 1 else ''} on `{head_sha[:7]}`. "
        "The summary comment has the walkthrough and everything not posted inline."
    )


def review_nonce(body: str) -> str | None:
    match = re.search(_REVIEW, body or "")
    return match.group(1) if match else None


def comment_heading(body: str) -> tuple[str | None, str | None]:
    """Severity and category of one of our comments, from its heading (None for an older format)."""
    _, _, rest = (body or "").partition("\n")
    match = _HEADING.match(rest)
    return (match["severity"], match["category"]) if match else (None, None)


def comment_title(body: str) -> str:
    """The title in one of our comments' heading, as posted (already made safe); "" for an older format."""
    _, _, rest = (body or "").partition("\n")
    match = _HEADING.match(rest)
    return (match["title"] or "").strip() if match else ""


def comment_payload(p: PlacedFinding) -> ReviewComment:
    """One `comments[]` entry of a review; `start_line` only when strictly before `line` (else GitHub 422s).

    The file by its real path (`p.path`): an API parameter, which GitHub shows as the file it names anyway.
    """
    f = p.finding
    payload: ReviewComment = {"path": p.path, "body": comment_body(p), "line": f.line, "side": f.side}
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
    carried: Sequence[Entry] = (),
    reviewed_head: str | None = None,
    remembered: Memory | None = None,
    declined: int = 0,
    resolved: int = 0,
    feedback: Feedback | None = None,
    compare: tuple[str, ...] = (),  # models to price the run's tokens on too (github.compare_models)
) -> str:
    """The one summary comment: walkthrough, what is not inline, what was not reviewed, the run's cost, its hidden state.

    `carried` are the entries of the summary this one replaces that still hold
    (reviewer.github.converge.carried): the list is the current state, not a log.
    `reviewed_head` is recorded for the next run to review from; None records
    nothing, so the next run reviews the whole PR. `remembered` is the hidden state
    kept besides the list: the fingerprints declined, and those we resolved.
    `feedback` counts what people said to our comments on this pull request.
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
        if declined:
            line += f", {declined} declined earlier (not raised again)"
        if resolved:
            line += f"; {resolved} earlier thread{'s' if resolved != 1 else ''} resolved as fixed"
        out += [line + ".", ""]
    if feedback:
        out += [_feedback_line(feedback), ""]
    tail = _tail(pr_review, compare)
    current = entries(demoted)
    fresh = {e.listed.fingerprint for e in current}
    remembered = remembered or Memory()
    fixed = len("\n".join(out + tail)) + len(encode(remembered)) + 400
    listed = _fit_entries(current + [e for e in carried if e.listed.fingerprint not in fresh], BODY_LIMIT - fixed)
    if listed:
        out += ["### Findings not posted as comments", "", FINDINGS_START, *(e.text for e in listed), FINDINGS_END, ""]
    state = encode(dataclasses.replace(remembered, listed=tuple(e.listed for e in listed)))
    marks = [state] + ([f"{MARKER_PREFIX}head={reviewed_head} -->"] if reviewed_head else [])
    return _truncate("\n".join(out + tail), BODY_LIMIT - sum(len(m) + 1 for m in marks)) + "\n" + "".join(m + "\n" for m in marks)


def _feedback_line(feedback: Feedback) -> str:
    return (
        f"Our comments on this pull request: {feedback.answered} answered, {feedback.conceded} conceded, "
        f"{feedback.not_useful} marked not useful (👎, or a reply declining it)."
    )


def findings_block(body: str) -> str:
    """The findings list of an earlier summary comment (our own text, already made safe)."""
    _, found, rest = body.partition(FINDINGS_START)
    return rest.partition(FINDINGS_END)[0].strip("\n") if found and FINDINGS_END in rest else ""


def walkthrough(pr_review: PullReview, budget: int = WALKTHROUGH_BUDGET) -> str:
    summary = pr_review.review.summary
    if summary is None:
        return "_No walkthrough in this run._"
    # Summary.markdown() is safe as a whole; cut, it could end inside a fence, which neutralise closes.
    return fit_text(summary.markdown(), lambda text: neutralise(text).rstrip(), budget, WALKTHROUGH_CHARS)


def description_with(body: str, pr_review: PullReview) -> str | None:
    """The PR description with the walkthrough between our markers, what the author wrote kept, all under
    GitHub's limit; None when the author's own text leaves no room for it."""
    room = BODY_LIMIT - len(replace_between(body, DESCRIPTION_START, DESCRIPTION_END, ""))
    if room < 500:
        return None
    return replace_between(body, DESCRIPTION_START, DESCRIPTION_END, walkthrough(pr_review, min(room, WALKTHROUGH_BUDGET)))


def entries(demoted: Sequence[Demoted]) -> list[Entry]:
    """The summary's list entries for findings not posted as comments, each with its hidden fingerprint."""
    out: list[Entry] = []
    for d in demoted:
        f = d.placed.finding
        item = Listed(d.placed.fingerprint, f.path, f.side, f.start_line, f.line, d.placed.placement is not Placement.OUTSIDE)
        side = " (old file)" if f.side == "LEFT" else ""
        title = one_line(_cut(f.title, TITLE_CHARS))
        text = (
            f"- {SEVERITY[f.severity].icon} **{f.severity}** {inline_code(f'{f.path}:{item.span}')}{side}: {title} "
            f"_({one_line(d.reason)})_ {MARKER_PREFIX}item={item.fingerprint} -->"
        )
        if f.body:
            body = neutralise(_cut(f.body, LISTED_BODY_CHARS)).replace("\n", "\n  ")
            text += f"\n  <details><summary>details</summary>\n\n  {body}\n\n  </details>"
        out.append(Entry(item, text))
    return out


_MORE = "- … "


def _fit_entries(items: list[Entry], budget: int) -> list[Entry]:
    """As many entries as fit in `budget` characters, with their share of the hidden state; the last counts the rest."""
    kept: list[Entry] = []
    size = 0
    for e in items:
        cost = len(e.text) + 1 + (len(e.listed.path) + 60) * 4 // 3  # its line, and its place in the base64 state
        if size + cost > budget - 100:
            more = f"\n{_MORE}{len(items) - len(kept)} more findings not shown (GitHub's comment size limit)"
            return kept[:-1] + [Entry(kept[-1].listed, kept[-1].text + more)] if kept else []
        kept.append(e)
        size += cost
    return kept


def _fit_lines(lines: list[str], budget: int) -> list[str]:
    """As many lines as fit in `budget` characters, and one saying how many did not."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > budget:
            return kept + [f"{_MORE}{len(lines) - len(kept)} more not shown (GitHub's comment size limit)"]
        kept.append(line)
        size += len(line) + 1
    return kept


def _tail(pr_review: PullReview, compare: tuple[str, ...]) -> list[str]:
    from reviewer.publishers.markdown import status_sections

    review = pr_review.review
    out = _fit_lines(status_sections(review), TAIL_BUDGET)  # three thousand skipped files must not crowd out the findings
    audit = audit_line(review.usage, review.cost_usd, compare, "github.compare_models")
    out.append(f"<sub>{usage_line(review.usage)} · cost ${review.cost_usd:.4f}{f'. {audit}' if audit else ''}</sub>")
    return out


def replace_between(text: str, start: str, end: str, new: str) -> str:
    """`new` between the markers, keeping everything else; appended with its markers when absent."""
    block = f"{start}\n{new}\n{end}"
    head, found, rest = text.partition(start)
    if found and end in rest:
        return head + block + rest.partition(end)[2]
    return f"{text.rstrip()}\n\n{block}\n" if text.strip() else f"{block}\n"


def fingerprint_of(body: str) -> str | None:
    """One of our comments' fingerprint: its marker at the very start, or at the very end (older comments)."""
    found = _LEADING_FINGERPRINT.match(body or "") or _TRAILING_FINGERPRINT.search(body or "")
    return found.group(1) if found else None


def fingerprints_in(bodies: Iterable[str]) -> frozenset[str]:
    return frozenset(fp for fp in map(fingerprint_of, bodies) if fp)


def last_head_in(body: str) -> str | None:
    match = _HEAD.search(body or "")
    return match.group(1) if match else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def fit_text(raw: str, render: Callable[[str], str], budget: int, limit: int | None = None) -> str:
    """`render(raw)` within `budget` characters (and `raw` within `limit`): `raw` is cut before it is rendered,
    so no escape or fence is split, until what it renders to fits; a cut says so."""
    cut = limit is not None and len(raw) > limit
    size = min(len(raw), limit) if limit is not None else len(raw)
    while True:
        text = render(raw[:size].rstrip() if cut else raw)
        if cut:
            text += "\n\n" + CUT_NOTE
        if len(text) <= budget or size == 0:
            return text if len(text) <= budget else CUT_NOTE
        size = max(0, min(size - 1, int(size * budget / len(text)) - len(CUT_NOTE)))
        cut = True


def _truncate(text: str, limit: int) -> str:
    """The last guard: every part was already fitted, so this never cuts what was measured."""
    return text if len(text) <= limit else text[: limit - 40].rstrip() + "\n\n… (cut at GitHub's size limit)"
