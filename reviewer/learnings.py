"""Learnings: what the team told the reviewer in its threads, kept in the repository as `.reviewer/learnings.md`. Pure.

`reviewer learn` gathers evidence from our threads on recent pull requests
(reviewer.github.feedback): findings a person called wrong or our own answer
conceded (false positives), findings declined as won't fix, and findings
marked 👎 or resolved without a change (not useful). Evidence is grouped by
kind, category and path pattern; a group with enough threads becomes a
proposed entry, with its count and links to the threads.

The file is the team's: it changes through ordinary pull requests, and every
review reads it from the base branch like the guidelines. `--write` keeps
every entry a person edited exactly as they left it (each entry's marker
holds a digest of the text we wrote), refreshes the ones nobody touched, and
appends new ones. HTML comments and `Evidence:` lines are for people; the
model gets the rest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from reviewer.safe_text import MARKER_PREFIX, inline_code, one_line

LEARNINGS_FILE = ".reviewer/learnings.md"
KINDS = ("false-positive", "wont-fix", "not-useful")  # strongest first: a thread counts once, as its strongest
MAX_EXAMPLES = 3
MAX_LINKS = 10
_ENTRY = re.compile(r"^" + re.escape(MARKER_PREFIX) + r"learning id=([0-9a-f]{12}) hash=([0-9a-f]{12}) -->[ \t]*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
HEADER = """# Learnings

<!-- What the team told the reviewer on earlier pull requests, proposed by `reviewer learn` and kept
through ordinary pull requests. Every review reads this file from the base branch, so an entry
takes effect once it is merged. Edit an entry, or empty it to switch it off: `reviewer learn --write`
keeps an entry a person changed exactly as it is. HTML comments and `Evidence:` lines are for
people; the model gets the rest. Each entry starts with a hidden marker line: keep it with its entry. -->
"""


@dataclass(frozen=True)
class Evidence:
    """One of our findings that people (or our own answer) said was not worth it."""

    repo: str
    number: int
    url: str  # the thread
    path: str
    category: str
    title: str  # as posted (made safe then)
    kind: str  # one of KINDS
    why: str  # what was said: "a reply called it a false positive", "👎", ...


@dataclass(frozen=True)
class Proposal:
    kind: str
    category: str
    pattern: str
    evidence: tuple[Evidence, ...]

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.category}\0{self.pattern}".encode()).hexdigest()[:12]

    def markdown(self) -> str:
        """The entry as written to the file, without its marker."""
        n, category, where = len(self.evidence), inline_code(self.category), inline_code(self.pattern)
        heading, rule = {
            "false-positive": (
                f"{category} findings on {where} were often wrong",
                f"{n} of them were false positives (people showed it, or the reviewer conceded). "
                "Raise such a finding there only when the code shown proves it.",
            ),
            "wont-fix": (
                f"The team declines {category} findings on {where}",
                f"{n} were declined as won't fix or by design. Do not raise such findings there unless they are critical.",
            ),
            "not-useful": (
                f"{category} findings on {where} were not useful",
                f"{n} were marked 👎 or resolved without a change. Raise one there only when it clearly matters.",
            ),
        }[self.kind]
        titles = list(dict.fromkeys(e.title for e in self.evidence if e.title))[:MAX_EXAMPLES]
        lines = [f"### {heading}", "", rule]
        if titles:
            lines.append("Examples: " + "; ".join(f"“{one_line(t)}”" for t in titles))
        links = [f"[{e.repo}#{e.number}]({e.url}) ({e.why})" for e in self.evidence[:MAX_LINKS]]
        more = f", and {n - MAX_LINKS} more" if n > MAX_LINKS else ""
        lines.append(f"Evidence: {n} thread{'s' if n != 1 else ''}: {', '.join(links)}{more}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Entry:
    """One entry of the file as it is: its marker's id and digest, and its text."""

    id: str
    digest: str
    text: str

    @property
    def edited(self) -> bool:
        return digest(self.text) != self.digest


def propose(evidence: Iterable[Evidence], min_evidence: int) -> list[Proposal]:
    """Groups of at least `min_evidence` threads, by kind, category and path pattern; the largest first."""
    groups: dict[tuple[str, str, str], list[Evidence]] = {}
    for e in evidence:
        top = e.path.split("/", 1)[0] if "/" in e.path else ""
        groups.setdefault((e.kind, e.category, top), []).append(e)
    from reviewer.redact import redact

    proposals = [  # a pattern can be one file's path, and a name can hold a secret: redacted, as everywhere we write one
        Proposal(kind, category, redact(pattern_of([e.path for e in found])), tuple(sorted(found, key=lambda e: (e.repo, e.number, e.url))))
        for (kind, category, _), found in groups.items()
        if len(found) >= min_evidence
    ]
    return sorted(proposals, key=lambda p: (-len(p.evidence), KINDS.index(p.kind), p.category, p.pattern))


def pattern_of(paths: Sequence[str]) -> str:
    """A gitignore-style pattern for the paths: their common folder (`src/db/**`), one file, or a shared extension."""
    unique = sorted(set(paths))
    if len(unique) == 1:
        return unique[0]
    folders = [PurePosixPath(p).parent.parts for p in unique]
    common: list[str] = []
    for parts in zip(*folders, strict=False):  # folders of different depths: as far as the shortest goes
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if common:
        return "/".join(common) + "/**"
    suffixes = {PurePosixPath(p).suffix for p in unique}
    return f"*{suffixes.pop()}" if len(suffixes) == 1 and "" not in suffixes else "**"


def digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def parse(text: str) -> tuple[str, list[Entry]]:
    """The file's header (everything before the first entry) and its entries."""
    markers = list(_ENTRY.finditer(text))
    if not markers:
        return text, []
    entries = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        entries.append(Entry(marker.group(1), marker.group(2), text[marker.end() : end].strip("\n")))
    return text[: markers[0].start()], entries


def merge(existing: str | None, proposals: Sequence[Proposal]) -> str:
    """The file with `proposals` in: entries a person edited kept as they are, untouched ones refreshed, new ones appended."""
    header, entries = parse(existing) if existing and existing.strip() else (HEADER, [])
    fresh = {p.id: p for p in proposals}
    blocks = []
    for entry in entries:
        proposal = fresh.pop(entry.id, None)
        blocks.append(_block(entry.id, proposal.markdown()) if proposal and not entry.edited else _kept(entry))
    blocks += [_block(p.id, p.markdown()) for p in fresh.values()]
    return header.rstrip("\n") + "\n\n" + "\n\n".join(blocks) + "\n" if blocks else header


def prompt_text(text: str) -> str:
    """What the model gets of the file: no HTML comment (our markers, notes for people), no `Evidence:` line, no top heading."""
    lines = [line for line in _COMMENT.sub("", text).splitlines() if not line.lstrip().startswith("Evidence:")]
    if lines and lines[0].strip().lower() == "# learnings":
        lines = lines[1:]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _block(entry_id: str, markdown: str) -> str:
    return f"{MARKER_PREFIX}learning id={entry_id} hash={digest(markdown)} -->\n{markdown.strip()}"


def _kept(entry: Entry) -> str:
    return f"{MARKER_PREFIX}learning id={entry.id} hash={entry.digest} -->\n{entry.text}"
