"""The parsed diff: files, hunks and lines with their old and new numbers.

A hunk as git writes it, and what we keep of it::

    @@ -10,3 +10,4 @@ def load(path):      old_start=10 old_len=3 new_start=10 new_len=4
     with open(path) as fh:               Line(" ", old_no=10, new_no=10)
    -    return fh.read()                 Line("-", old_no=11, new_no=None)
    +    data = fh.read()                 Line("+", old_no=None, new_no=11)
    +    return data.strip()              Line("+", old_no=None, new_no=12)
     # end                                Line(" ", old_no=12, new_no=13)

A comment may sit on the RIGHT side on any added or context line (its new
number) and on the LEFT side on any removed or context line (its old number),
which is what GitHub accepts too.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Literal

Side = Literal["RIGHT", "LEFT"]
LineKind = Literal["+", "-", " "]
SIDES: tuple[Side, ...] = ("RIGHT", "LEFT")


class FileStatus(str, Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    MODE_CHANGED = "mode-changed"


@dataclass(frozen=True)
class Line:
    kind: LineKind
    text: str
    old_no: int | None
    new_no: int | None

    def number(self, side: Side) -> int | None:
        return self.new_no if side == "RIGHT" else self.old_no


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str  # the text git prints after the second @@ (often the enclosing function)
    lines: tuple[Line, ...]

    @property
    def header(self) -> str:
        tail = f" {self.section}" if self.section else ""
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@{tail}"

    def numbers(self, side: Side) -> frozenset[int]:
        kinds = "+ " if side == "RIGHT" else "- "
        return frozenset(
            n for line in self.lines if line.kind in kinds and (n := line.number(side)) is not None
        )


@dataclass(frozen=True)
class FileDiff:
    path: str  # the new path; the old one for a deleted file
    old_path: str | None  # set when renamed or copied
    status: FileStatus
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    # A name can hold a secret: reviewer.redact.redact_diff sets the names as prompts and our output show them
    # when one does. `path` and `old_path` stay the file's identity (routing, placement, the tree, GitHub's API).
    shown_path: str | None = field(default=None, compare=False)
    shown_old_path: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The path as prompts and our output show it: any secret in it redacted."""
        return self.shown_path or self.path

    @property
    def old_name(self) -> str | None:
        return self.shown_old_path or self.old_path

    @cached_property
    def _numbers(self) -> dict[Side, tuple[frozenset[int], ...]]:
        return {side: tuple(h.numbers(side) for h in self.hunks) for side in SIDES}

    def commentable(self, side: Side) -> frozenset[int]:
        """Every line number on `side` that an inline comment may sit on."""
        return frozenset().union(*self._numbers[side])

    def hunk_index(self, side: Side, line: int) -> int | None:
        """Which hunk holds `line` on `side`, or None when it is off the diff."""
        for index, numbers in enumerate(self._numbers[side]):
            if line in numbers:
                return index
        return None

    def text_at(self, side: Side, line: int) -> str | None:
        for hunk in self.hunks:
            for diff_line in hunk.lines:
                if diff_line.number(side) == line and diff_line.kind in ("+ " if side == "RIGHT" else "- "):
                    return diff_line.text
        return None

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "-")


@dataclass(frozen=True)
class Diff:
    files: tuple[FileDiff, ...] = field(default_factory=tuple)

    def file(self, path: str) -> FileDiff | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    @property
    def empty(self) -> bool:
        return not self.files


def parse_diff(raw: bytes | str) -> Diff:
    """Parse a unified diff as `git diff` writes it.

    Bytes that are not UTF-8 are kept as surrogate escapes rather than
    failing, so one Latin-1 file cannot stop a review.
    """
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    from reviewer.errors import DiffError

    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    if not text.strip():
        return Diff()
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise DiffError(f"could not parse the diff: {exc}") from exc
    return Diff(tuple(_file_from_patch(p) for p in patch))


def _file_from_patch(patched: object) -> FileDiff:
    from unidiff import PatchedFile

    assert isinstance(patched, PatchedFile)
    info = [str(line).rstrip("\r\n") for line in (patched.patch_info or [])]
    old_mode = _header_value(info, "old mode ") or _header_value(info, "deleted file mode ")
    new_mode = _header_value(info, "new mode ") or _header_value(info, "new file mode ")
    copied = _header_value(info, "copy from ") is not None
    source = _strip_prefix(patched.source_file)
    target = _strip_prefix(patched.target_file)
    if patched.is_added_file:
        status, path, old_path = FileStatus.ADDED, target, None
    elif patched.is_removed_file:
        status, path, old_path = FileStatus.DELETED, source, None
    elif copied:
        status, path, old_path = FileStatus.COPIED, target, source
    elif patched.is_rename:
        status, path, old_path = FileStatus.RENAMED, target, source
    elif not len(patched) and not patched.is_binary_file and old_mode and new_mode:
        status, path, old_path = FileStatus.MODE_CHANGED, target, None
    else:
        status, path, old_path = FileStatus.MODIFIED, target, None
    hunks = tuple(
        Hunk(
            old_start=h.source_start,
            old_len=h.source_length,
            new_start=h.target_start,
            new_len=h.target_length,
            section=h.section_header.strip(),
            lines=tuple(
                Line(
                    kind=typing.cast(LineKind, line.line_type),
                    text=_clean(line.value),
                    old_no=line.source_line_no,
                    new_no=line.target_line_no,
                )
                for line in h
                if line.line_type in ("+", "-", " ")
            ),
        )
        for h in patched
    )
    return FileDiff(
        path=path,
        old_path=old_path,
        status=status,
        hunks=hunks,
        binary=bool(patched.is_binary_file),
        old_mode=old_mode,
        new_mode=new_mode,
    )


def _header_value(info: list[str], prefix: str) -> str | None:
    for line in info:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def _strip_prefix(path: str) -> str:
    path = display_path(_unquote(path.rstrip("\t")))
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


_C_ESCAPES = {"\\": b"\\", '"': b'"', "t": b"\t", "n": b"\n", "r": b"\r", "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v"}


def _unquote(path: str) -> str:
    """A path as git quotes it when it holds `"`, `\\`, a tab or a newline: "a/key\\"s.py" → a/key"s.py."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt, octal = body[i + 1], body[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):  # one byte of a non-ASCII name
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            out += _C_ESCAPES.get(nxt, nxt.encode("utf-8", "surrogateescape"))
            i += 2
            continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def display_path(path: str) -> str:
    """A path that prints and encodes anywhere: bytes that are not UTF-8 become \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _clean(value: str) -> str:
    """A diff line's text without its line ending (LF or CRLF)."""
    if value.endswith("\n"):
        value = value[:-1]
    if value.endswith("\r"):
        value = value[:-1]
    return value


def within(part: Diff, whole: Diff) -> Diff:
    """`part` reduced to the hunks that overlap, in the new file, a hunk of `whole`.

    An incremental review diffs the last reviewed head against the new one;
    when the branch merged its base in between, that diff also holds the
    base's own changes, which are not the pull request's to review. Both
    diffs end at the same head, so their new-file line numbers agree.
    """
    files: list[FileDiff] = []
    for file in part.files:
        owner = whole.file(file.path)
        if owner is None:
            continue
        spans = [(h.new_start, h.new_start + max(h.new_len, 1)) for h in owner.hunks]
        hunks = tuple(
            h for h in file.hunks if any(h.new_start < end and start < h.new_start + max(h.new_len, 1) for start, end in spans)
        )
        if hunks or not file.hunks:
            files.append(replace(file, hunks=hunks))
    return Diff(tuple(files))
