"""Re-reviews that converge: what earlier runs left on a pull request, and what becomes of it now. Pure, no I/O.

- A thread one of our comments started is resolved when GitHub marks it
  outdated (a later push changed its lines) and this run raises nothing like
  it again: not its fingerprint, nor the same category in the same file.
  Nobody else's thread is touched; ours is left alone once a person replied,
  unless `[github] resolve_fixed = "always"`.
- Findings listed in the summary are the current state: on a push, an entry
  whose lines the push changed is dropped unless this run raises it again;
  the others are carried, their line numbers moved with the push.
- A finding a person declined (resolved our thread, replied "won't fix",
  or reacted 👎 to it), or that our own answer in its thread conceded, is
  remembered by fingerprint in the summary's hidden state and never raised
  again.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from reviewer.config import GitHubSettings
from reviewer.diff import Diff, FileDiff
from reviewer.placement import PlacedFinding
from reviewer.safe_text import MARKER_PREFIX, inline_code

STATE = re.compile(re.escape(MARKER_PREFIX) + r"state=([A-Za-z0-9_=-]+) -->")
ITEM = re.compile(re.escape(MARKER_PREFIX) + r"item=([0-9a-f]{16}) -->")
ADDRESSED_MARKER = f"{MARKER_PREFIX}addressed -->"
# How people decline a finding in a reply; matched on our own thread only.
_DECLINED = re.compile(
    r"\b(?:won'?t|will not|wont|not going to) fix\b|\bwontfix\b|\bby design\b|\bas intended\b|\bintentional(?:ly)?\b",
    re.IGNORECASE,
)
# ...and say it is wrong: a subset of declining, told apart for `reviewer learn`.
_WRONG = re.compile(r"\bfalse (?:positive|alarm)\b|\bnot (?:a bug|an issue|a problem)\b", re.IGNORECASE)


@dataclass(frozen=True)
class OurComment:
    """One of our inline or file-level comments: the first of its thread."""

    id: int
    fingerprint: str
    path: str
    category: str | None  # from its heading; None for a comment of an older format
    severity: str | None = None  # likewise
    answered: bool = False  # someone else replied in its thread
    declined: bool = False  # a reply says it will not be fixed (or that it is wrong)
    acknowledged: bool = False  # we replied already that it was addressed
    wrong: bool = False  # a reply says it is a false positive
    replied: bool = False  # we answered a question in its thread
    conceded: bool = False  # our answer there withdrew it
    not_useful: bool = False  # someone reacted 👎 to it
    # Said by the team (an owner, member or collaborator), not by anyone who may comment: only this is evidence
    # for `reviewer learn`, whose learnings reach every later review.
    team_declined: bool = False
    team_wrong: bool = False
    team_replied: bool = False
    title: str = ""  # from its heading, as posted (made safe then)
    url: str = ""

    @property
    def dismissed(self) -> bool:
        """Whether people (or our own answer) said it is not worth raising again."""
        return self.declined or self.conceded or self.not_useful


@dataclass(frozen=True)
class Feedback:
    """What people said to our comments on one pull request, for its summary."""

    answered: int = 0  # threads where we answered a question
    conceded: int = 0
    not_useful: int = 0  # 👎, or a reply declining it

    def __bool__(self) -> bool:
        return bool(self.answered or self.conceded or self.not_useful)


def feedback(comments: Iterable[OurComment]) -> Feedback:
    comments = list(comments)
    return Feedback(
        sum(c.replied for c in comments), sum(c.conceded for c in comments), sum(c.not_useful or c.declined for c in comments)
    )


@dataclass(frozen=True)
class Thread:
    """A review thread as GitHub's GraphQL API reports it, with our comment that started it."""

    id: str
    root: OurComment
    resolved: bool
    resolved_by_us: bool
    outdated: bool  # the lines it was on changed since it was posted
    can_resolve: bool


@dataclass(frozen=True)
class Listed:
    """A finding listed in the summary, where it sits at the head the summary records."""

    fingerprint: str
    path: str
    side: str
    start: int | None
    line: int
    in_change: bool = True  # in a file of the pull request (not a finding about some other file)

    @property
    def span(self) -> str:
        return f"{self.start}-{self.line}" if self.start else str(self.line)


@dataclass(frozen=True)
class Memory:
    """The summary comment's hidden state: what it lists, and what people declined."""

    listed: tuple[Listed, ...] = ()
    dismissed: frozenset[str] = field(default_factory=frozenset)
    fixed: frozenset[str] = field(default_factory=frozenset)  # threads we resolved ourselves: GraphQL may not name a bot as resolvedBy


@dataclass(frozen=True)
class Entry:
    """One line of the summary's findings list, with where its finding sits."""

    listed: Listed
    text: str


@dataclass(frozen=True)
class ThreadPlan:
    resolve: tuple[Thread, ...]  # fixed: resolve them, or say so where the token cannot
    dismissed: frozenset[str]  # fingerprints people declined, now or earlier


def plan_threads(threads: Iterable[Thread], findings: Sequence[PlacedFinding], settings: GitHubSettings, memory: Memory) -> ThreadPlan:
    raised = {p.fingerprint for p in findings}
    raised_kinds = {(p.path, p.finding.category) for p in findings}
    resolve: list[Thread] = []
    dismissed = set(memory.dismissed)
    for t in threads:
        ours = t.resolved_by_us or t.root.fingerprint in memory.fixed
        if t.root.dismissed or (t.resolved and not ours):
            dismissed.add(t.root.fingerprint)
            continue
        if t.resolved or not t.outdated or settings.resolve_fixed == "never":
            continue
        if t.root.answered and settings.resolve_fixed != "always":
            continue
        if t.root.fingerprint in raised or (t.root.path, t.root.category) in raised_kinds:
            continue
        resolve.append(t)
    return ThreadPlan(tuple(resolve), frozenset(dismissed))


def declines(body: str) -> bool:
    return bool(_DECLINED.search(body or "")) or calls_wrong(body)


def calls_wrong(body: str) -> bool:
    return bool(_WRONG.search(body or ""))


def carried(
    earlier: Memory, texts: Mapping[str, str], since: Diff | None, findings: Sequence[PlacedFinding], dismissed: frozenset[str], pr_paths: frozenset[str]
) -> list[Entry]:
    """The earlier summary's entries that still hold after this run (none after a review of the whole PR).

    An entry this run raises again is replaced by what it says now; one whose lines
    the push changed, or whose file the pull request no longer changes, is gone (fixed,
    or the model would have raised it); the others stay, their line numbers moved with
    the push. `pr_paths` are the files the pull request changes now. Both name files as the summary lists
    them, a secret in a name redacted.
    """
    if since is None:
        return []
    from reviewer.redact import redact_each

    pushed = dict(zip(redact_each([f.path for f in since.files]), since.files, strict=True))
    raised = {p.fingerprint for p in findings}
    kept: list[Entry] = []
    for item in earlier.listed:
        text = texts.get(item.fingerprint)
        if text is None or item.fingerprint in raised or item.fingerprint in dismissed:
            continue
        if item.in_change and item.path not in pr_paths:
            continue
        moved = carry(item, pushed.get(item.path))
        if moved is not None:
            kept.append(Entry(moved, text.replace(inline_code(f"{item.path}:{item.span}"), inline_code(f"{moved.path}:{moved.span}"), 1)))
    return kept


def carry(item: Listed, file: FileDiff | None) -> Listed | None:
    """Where a listed finding sits after a push whose diff of its file is `file`; None when the push changed its lines.

    A finding on the old side (a removed line of the base) and one in a file the push left alone do not move.
    """
    if file is None or item.side == "LEFT":
        return item
    first = item.start or item.line
    moved = [_new_number(file, n) for n in range(first, item.line + 1)]
    if any(n is None for n in moved):
        return None
    return Listed(item.fingerprint, item.path, item.side, moved[0] if item.start else None, moved[-1], item.in_change)  # type: ignore[arg-type]


def _new_number(file: FileDiff, old: int) -> int | None:
    """Line `old` of the file before the push, numbered after it; None when the push removed or changed it."""
    delta = 0
    for hunk in file.hunks:
        for line in hunk.lines:
            if line.old_no == old:
                return line.new_no
        # A hunk of no old lines (an insertion) sits after line old_start; one of no new lines, likewise.
        end, new_end = hunk.old_start + (hunk.old_len or 1), hunk.new_start + (hunk.new_len or 1)
        if old >= end:
            delta = new_end - end
    return old + delta


def encode(memory: Memory) -> str:
    """The hidden marker: base64 of JSON, so no path (PR content) can end the HTML comment it sits in."""
    document = {
        "v": 1,
        "listed": [[i.fingerprint, i.path, i.side, i.start, i.line, i.in_change] for i in memory.listed],
        "dismissed": sorted(memory.dismissed),
        "fixed": sorted(memory.fixed),
    }
    data = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    return f"{MARKER_PREFIX}state={data} -->"


def decode(body: str) -> Memory:
    """The hidden state of one of our summary comments; an absent or unreadable one is empty."""
    match = STATE.search(body or "")
    if not match:
        return Memory()
    try:
        document = json.loads(base64.urlsafe_b64decode(match.group(1)))
        listed = tuple(
            Listed(str(fp), str(path), str(side), int(start) if start else None, int(line), bool(in_change))
            for fp, path, side, start, line, in_change in document["listed"]
        )
        return Memory(listed, frozenset(str(fp) for fp in document["dismissed"]), frozenset(str(fp) for fp in document.get("fixed", [])))
    except (ValueError, TypeError, KeyError, RecursionError):
        return Memory()


def entry_texts(block: str) -> dict[str, str]:
    """The entries of a summary's findings list by fingerprint: each starts with "- " and keeps its indented lines."""
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith("- ") or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    found = ((ITEM.search(e), e) for e in entries)
    return {m.group(1): e for m, e in found if m}
