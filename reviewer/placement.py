"""Where each finding can go, decided against the parsed diff before anything is posted.

LINE: on a line of the diff, so an inline comment can sit there.
FILE: in a changed file but off the diff (a file-level comment, or the summary).
OUTSIDE: in no changed file (the summary only).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from enum import Enum

from reviewer.diff import Diff, FileDiff
from reviewer.findings import Finding


class Placement(str, Enum):
    LINE = "line"
    FILE = "file"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class PlacedFinding:
    finding: Finding  # in a changed file, its path is the file's name as shown: a secret in it redacted
    placement: Placement
    fingerprint: str  # stable across rewordings: path, the code pointed at, category
    # The changed file's path in the repository, when the finding is in one. It differs from `finding.path` only
    # when the name holds a secret: for GitHub's API, routing and the tree, never printed, saved or posted.
    real_path: str | None = field(default=None, compare=False)

    @property
    def anchored(self) -> bool:
        return self.placement is Placement.LINE

    @property
    def path(self) -> str:
        """The file the finding is in, as the repository names it (what GitHub's API, routing and the tree take)."""
        return self.real_path or self.finding.path


def place(findings: tuple[Finding, ...] | list[Finding], diff: Diff, *, incremental: bool = False) -> tuple[PlacedFinding, ...]:
    return tuple(place_one(f, diff, incremental=incremental) for f in findings)


def place_one(finding: Finding, diff: Diff, *, incremental: bool = False) -> PlacedFinding:
    """Where `finding` sits in `diff` (a pull request's whole diff, as GitHub sees it, redacted: its files' names as
    the prompts showed them, which the model cites).

    `incremental`: the model saw only the changes since an earlier reviewed commit, so an
    old-file (LEFT) line number counts in that commit, not in `diff`'s base: never a line there.
    """
    file = _resolve_file(finding.path, diff)
    if file is None:
        return PlacedFinding(finding, Placement.OUTSIDE, fingerprint(finding, None))
    finding = dataclasses.replace(finding, path=file.name)
    hunk = None if incremental and finding.side == "LEFT" else file.hunk_index(finding.side, finding.line)
    if hunk is None:
        return PlacedFinding(finding, Placement.FILE, fingerprint(finding, file), file.path)
    start = _start_in_hunk(finding, file, hunk)
    if finding.start_line not in (None, finding.line) and start != finding.start_line:
        # A suggestion replaces start_line..line: applied to a narrower range it would corrupt the file.
        finding = dataclasses.replace(finding, start_line=start, suggestion=None)
    elif finding.start_line is not None and start is None:
        finding = dataclasses.replace(finding, start_line=None)  # start_line == line: a one-line range
    return PlacedFinding(finding, Placement.LINE, fingerprint(finding, file), file.path)


def fingerprint(finding: Finding, file: FileDiff | None) -> str:
    """A short hash that survives the model rewording the same finding.

    Built from the path, the code the finding points at (whitespace folded)
    and its category: never from the title or body.
    """
    code = ""
    if file is not None:
        first = finding.start_line or finding.line
        texts = (file.text_at(finding.side, n) for n in range(first, finding.line + 1))
        code = "\n".join(" ".join(t.split()) for t in texts if t is not None)
    anchor = code if code.strip() else f"line {finding.line}"
    digest = hashlib.sha256("\0".join((finding.path, finding.category, anchor)).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def _resolve_file(path: str, diff: Diff) -> FileDiff | None:
    """The diff file a model meant: exact, without a/ b/ prefixes, or a unique path suffix; by its path, or by
    its name as the prompt showed it (a secret in it redacted)."""
    candidates = [path]
    if path.startswith(("a/", "b/")):
        candidates.append(path[2:])
    for candidate in candidates:
        found = diff.file(candidate) or next((f for f in diff.files if f.name == candidate), None)
        if found is not None:
            return found
    tail = "/" + path.lstrip("/")
    matches = [f for f in diff.files if f.path.endswith(tail) or f.name.endswith(tail)]
    return matches[0] if len(matches) == 1 else None


def _start_in_hunk(finding: Finding, file: FileDiff, hunk: int) -> int | None:
    """A start line GitHub accepts: in the same hunk and before `line`, else the hunk's first line."""
    start = finding.start_line
    if start is None:
        return None
    numbers = file.hunks[hunk].numbers(finding.side)
    if start not in numbers:
        earlier = [n for n in numbers if start <= n < finding.line]
        start = min(earlier) if earlier else None
    return start if start is not None and start < finding.line else None
