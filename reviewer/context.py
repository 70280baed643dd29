"""Code around each hunk, so a finding is one the model could check: what a request shows besides the diff.

In order, while the request's token budget lasts:

1. for each changed file, the whole file when it is small or mostly changed,
   else the enclosing function (or class, or indented block) of every hunk;
2. the definitions, elsewhere in the repository, of functions the change
   newly calls;
3. a bounded number of call sites of the functions the change modifies.

Line numbers are the files' own: for a changed file, its new-file numbers, so
a finding on a context line is placed (in the file, or the summary) like any
other. Lines the diff already shows are left out. A changed file whose text
on disk does not match the diff (a `--staged` review with unstaged edits, a
`--range` that is not checked out) gives no context: its numbers would lie.
Everything is redacted as the diff is; the template fences it as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from reviewer.budget import estimate_tokens
from reviewer.diff import FileDiff, FileStatus
from reviewer.diff_text import MAX_LINE_CHARS, quoted
from reviewer.source_tree import SourceTree
from reviewer.syntax import Scope, enclosing, scopes

WHOLE_FILE_LINES = 200  # a changed file this short is shown whole
MAX_SCOPE_LINES = 300  # a longer enclosing scope is shown around the hunk only
SCOPE_MARGIN = 80  # lines kept either side of a hunk in a scope too long to show whole
MAX_DEFINITION_LINES = 80
CALL_SITE_MARGIN = 3
FOCUS_MARGIN = 10
MAX_NAMES = 6  # functions looked up per request, each way
# Identifiers followed by "(" that are control flow or too common to look up.
_NOT_CALLS = frozenset(
    "if for while switch catch return sizeof typeof new print len str int float bool dict list set tuple range super "
    "isinstance open format map filter sorted min max sum any all repr type assert elif not and or in is puts require "
    "function func fn def match when case println printf".split()
)
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


@dataclass(frozen=True)
class Excerpt:
    path: str
    start: int
    end: int
    why: str  # "function `load`", "whole file", "definition of `parse`", "call of `load`"
    lines: tuple[str, ...]  # start..end, redacted
    hidden: tuple[tuple[int, int], ...] = ()  # ranges the diff shows, left out


@dataclass(frozen=True)
class CodeContext:
    excerpts: tuple[Excerpt, ...] = ()
    text: str = ""
    tokens: int = 0


def code_context(
    files: Iterable[FileDiff], tree: SourceTree, budget: int, call_sites: int, focus: Iterable[tuple[str, int]] = ()
) -> CodeContext:
    """The context for one request's files, within `budget` estimated tokens (0: none).

    `focus`: (path, line) pairs shown first, a few lines either side (the lines findings point at, for the verifier).
    """
    focus = list(focus)
    files = [f for f in files if f.status not in (FileStatus.DELETED, FileStatus.ADDED) and not f.binary and f.hunks]
    if budget <= 0 or not (files or focus):
        return CodeContext()
    chosen: list[Excerpt] = []
    used = 0

    def offer(excerpt: Excerpt) -> bool:
        nonlocal used
        if any(e.path == excerpt.path and e.start <= excerpt.start and excerpt.end <= e.end for e in chosen):
            return True  # already shown
        cost = estimate_tokens(render_excerpt(excerpt))
        if used + cost > budget:
            return False
        chosen.append(excerpt)
        used += cost
        return True

    texts = {f.path: lines for f in files if (lines := tree.lines(f.path)) is not None and _matches(f, lines)}
    shown = {f.path: f for f in files}
    for path, line in focus:
        lines = texts.get(path) if path in shown else tree.lines(path)
        if lines is not None and 1 <= line <= len(lines):
            hidden = _hunk_spans(shown[path]) if path in shown else ()
            offer(_excerpt(path, lines, max(1, line - FOCUS_MARGIN), line + FOCUS_MARGIN, "around a finding", hidden))
    changed: list[str] = []
    defined: set[str] = set()
    for file in files:
        lines = texts.get(file.path)
        if lines is None:
            continue
        for excerpt in _around_hunks(file, lines):
            offer(excerpt)
        changed += [s.name for s in _scopes_of(file, lines) if s is not None and s.kind == "function" and s.name]
        defined |= {s.name for s in scopes(file.path, "\n".join(lines)) or () if s.name}
    for name in sorted(_newly_called(files) - defined)[:MAX_NAMES]:
        for excerpt in _definitions(tree, name, skip=set(texts)):
            offer(excerpt)
    if call_sites:
        for name in list(dict.fromkeys(changed))[:MAX_NAMES]:
            for excerpt in _call_sites(tree, name, call_sites, files):
                offer(excerpt)
    ordered = tuple(sorted(chosen, key=lambda e: (e.path, e.start)))
    text = "\n".join(render_excerpt(e) for e in ordered)
    return CodeContext(ordered, text, estimate_tokens(text))


def render_excerpt(excerpt: Excerpt) -> str:
    """`--- path: why (lines a-b)`, then each line as `  NNNN | text`; a range the diff shows as one `⋮` line."""
    out = [f"--- {quoted(excerpt.path)}: {excerpt.why} (lines {excerpt.start}-{excerpt.end})"]
    number = excerpt.start
    spans = sorted(excerpt.hidden)
    while number <= excerpt.end:
        span = next((s for s in spans if s[0] <= number <= s[1]), None)
        if span is not None:
            last = min(span[1], excerpt.end)
            out.append(f"{'':>6} ⋮ lines {span[0]}-{span[1]} are in the diff")
            number = last + 1
            continue
        out.append(f"{number:>6} | {_clip(excerpt.lines[number - excerpt.start])}")
        number += 1
    return "\n".join(out) + "\n"


def _around_hunks(file: FileDiff, lines: list[str]) -> list[Excerpt]:
    hidden = _hunk_spans(file)
    changed = sum(1 for h in file.hunks for line in h.lines if line.kind == "+")
    if len(lines) <= WHOLE_FILE_LINES or changed * 2 >= len(lines):
        return [_excerpt(file.path, lines, 1, len(lines), "whole file", hidden)]
    out: list[Excerpt] = []
    for (first, last), scope in zip(_changed_spans(file), _scopes_of(file, lines), strict=True):
        if scope is None:
            continue
        start, end = scope.start, scope.end
        if end - start + 1 > MAX_SCOPE_LINES:
            start, end = max(start, first - SCOPE_MARGIN), min(end, last + SCOPE_MARGIN)
            why = f"part of {scope.label}, which spans lines {scope.start}-{scope.end}"
        else:
            why = f"enclosing {scope.label}"
        out.append(_excerpt(file.path, lines, start, end, why, hidden))
    return out


def _scopes_of(file: FileDiff, lines: list[str]) -> list[Scope | None]:
    text = "\n".join(lines)
    return [enclosing(file.path, text, first, last) for first, last in _changed_spans(file)]


def _changed_spans(file: FileDiff) -> list[tuple[int, int]]:
    """Per hunk, the new-file lines it changes (for a hunk that only removes, the line where it removed)."""
    spans = []
    for hunk in file.hunks:
        added = [line.new_no for line in hunk.lines if line.kind == "+" and line.new_no is not None]
        if added:
            spans.append((min(added), max(added)))
            continue
        at = hunk.new_start
        for line in hunk.lines:
            if line.kind == "-":
                break
            if line.new_no is not None:
                at = line.new_no + 1
        spans.append((max(at, 1), max(at, 1)))
    return spans


def _hunk_spans(file: FileDiff) -> tuple[tuple[int, int], ...]:
    return tuple((h.new_start, h.new_start + h.new_len - 1) for h in file.hunks if h.new_len > 0)


def _matches(file: FileDiff, lines: list[str]) -> bool:
    """Whether the text on disk is the diff's new side: every added and context line where the diff says."""
    return _same(file, lines) or _same(file, list(_redacted(tuple(lines))))  # the diff may be redacted already


def _same(file: FileDiff, lines: list[str]) -> bool:
    return all(
        line.new_no is not None and line.new_no <= len(lines) and lines[line.new_no - 1] == line.text
        for hunk in file.hunks
        for line in hunk.lines
        if line.kind != "-"
    )


def _newly_called(files: Iterable[FileDiff]) -> set[str]:
    added: set[str] = set()
    removed: set[str] = set()
    for file in files:
        for hunk in file.hunks:
            for line in hunk.lines:
                names = {m.group(1) for m in _CALL.finditer(line.text)}
                (added if line.kind == "+" else removed if line.kind == "-" else set()).update(names)
    return {n for n in added - removed if n not in _NOT_CALLS and len(n) > 2}


def _definitions(tree: SourceTree, name: str, skip: set[str]) -> list[Excerpt]:
    pattern = (
        rf"(def|function|func|fn|class|struct|interface|trait|module|sub)[[:space:]]+(\([^)]*\)[[:space:]]*)?{name}([^A-Za-z0-9_]|$)"
        rf"|^[[:space:]]*[A-Za-z_][A-Za-z0-9_<>,:*&[:space:]]*[[:space:]*&:]{name}[[:space:]]*\([^;]*$"
        rf"|(const|let|var)[[:space:]]+{name}[[:space:]]*=[[:space:]]*(async[[:space:]]*)?(function|\()"
    )
    hits = tree.grep(pattern, limit=20)
    if isinstance(hits, str):
        return []
    out: list[Excerpt] = []
    for hit in hits:
        if hit.path in skip or len(out) >= 2:
            continue
        lines = tree.lines(hit.path)
        if lines is None:
            continue
        parsed = scopes(hit.path, "\n".join(lines))
        found = [s for s in parsed or () if s.name == name and s.start <= hit.line <= s.start + 2]
        scope = min(found, key=lambda s: s.end - s.start, default=None)
        if parsed is not None and scope is None:
            continue  # a parsed file tells a definition from a call: this is not one
        start = scope.start if scope else hit.line
        end = min(scope.end if scope else hit.line + 20, start + MAX_DEFINITION_LINES - 1)
        out.append(_excerpt(hit.path, lines, start, end, f"definition of `{name}`", ()))
    return out


def _call_sites(tree: SourceTree, name: str, limit: int, files: list[FileDiff]) -> list[Excerpt]:
    called = re.split(r"::|\.", name)[-1]  # `Calc::run` and `self.run` are called as run(...)
    hits = tree.grep(rf"(^|[^A-Za-z0-9_]){re.escape(called)}[[:space:]]*\(", limit=limit * 5)
    if isinstance(hits, str):
        return []
    changed = {f.path: f for f in files}
    out: list[Excerpt] = []
    for hit in hits:
        file = changed.get(hit.path)
        if file is not None and file.hunk_index("RIGHT", hit.line) is not None:
            continue  # the diff shows it
        lines = tree.lines(hit.path)
        if lines is None or re.search(rf"(def|function|func|fn)\s+{re.escape(called)}\b", hit.text):
            continue
        caller = enclosing(hit.path, "\n".join(lines), hit.line, hit.line)
        where = f" in {caller.label}" if caller and caller.name != name else ""
        start, end = max(1, hit.line - CALL_SITE_MARGIN), min(len(lines), hit.line + CALL_SITE_MARGIN)
        out.append(_excerpt(hit.path, lines, start, end, f"call of `{name}`{where}", _hunk_spans(file) if file else ()))
        if len(out) >= limit:
            break
    return out


def _excerpt(path: str, lines: list[str], start: int, end: int, why: str, hidden: tuple[tuple[int, int], ...]) -> Excerpt:
    end = min(end, len(lines))
    shown = _redacted(tuple(lines))[start - 1 : end]
    inside = tuple((max(a, start), min(b, end)) for a, b in hidden if a <= end and b >= start)
    return Excerpt(path, start, end, why, tuple(shown), inside)


@lru_cache(maxsize=16)
def _redacted(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The file redacted as a whole (a key block is seen whole), line for line."""
    from reviewer.redact import redact_lines

    return tuple(redact_lines(list(lines))[0])


def _clip(text: str) -> str:
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text if len(text) <= MAX_LINE_CHARS else f"{text[:MAX_LINE_CHARS]} … [clipped]"
