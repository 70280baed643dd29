"""Code around each hunk, so a finding is one the model could check: what a request shows besides the diff.

In order, while the request's token budget lasts:

1. for each changed file, the whole file when it is small or mostly changed,
   else the enclosing function (or class, or indented block) of every hunk,
   or in a parsed file the lines around a hunk that none holds; the smallest
   first (the most hunks for the tokens), until one does not fit;
2. the definitions, elsewhere in the repository, of functions the change
   newly calls;
3. a bounded number of call sites of the functions the change modifies.

The budget is per request, and a change's requests share a bound set by its
diff: together at most the larger of one request's budget and an eighth of
their diff tokens (`DIFF_SHARE`), each its part by the size of its diff; a
request this cuts shows the code around its hunks only (1.). Code context
serves small and medium changes: a change split into requests for speed does
not get it several times, and on a large change the diff is most of what
there is to see.

The work is done once for the whole change: each file is parsed once, and one
`git grep` finds every name all the requests look up.

Line numbers are the files' own: for a changed file, its new-file numbers, so
a finding on a context line is placed (in the file, or the summary) like any
other. Lines the diff already shows are left out. A changed file whose text
on disk does not match the diff (a `--staged` review with unstaged edits, a
`--range` that is not checked out) gives no context: its numbers would lie.
Everything is redacted as the diff is; the template fences it as data.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from reviewer.budget import Chunk
from reviewer.diff import FileDiff, FileStatus
from reviewer.diff_text import MAX_LINE_CHARS, quoted
from reviewer.source_tree import SourceTree
from reviewer.syntax import Outline, Scope, outline
from reviewer.tokens import count as count_tokens

WHOLE_FILE_LINES = 200  # a changed file this short is shown whole
MAX_SCOPE_LINES = 300  # a longer enclosing scope is shown around the hunk only
SCOPE_MARGIN = 80  # lines kept either side of a hunk in a scope too long to show whole
MAX_DEFINITION_LINES = 80
CALL_SITE_MARGIN = 3
FOCUS_MARGIN = 10
MAX_NAMES = 6  # functions looked up per request, each way
DEFINITIONS = 2  # shown per name, of the first DEFINITION_CANDIDATES lines that look like one
DEFINITION_CANDIDATES = 20
CALL_CANDIDATES = 5  # call-like lines looked at per call site shown
# Lines looked at per name, in path order: a name used more often is too common for the first definitions found
# to be the one meant, and each line is read from its file.
PLACES_PER_NAME = 200
# A change's requests together show at most the larger of one request's budget and this fraction of their
# diff tokens (benchmarks/README.md, "Code context", has the figures behind it).
DIFF_SHARE = 1 / 8
FILES_KEPT = 32  # files a run keeps read and parsed: a file split over requests is next to itself in the diff's order
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
    name: str  # as shown: redacted (a name can hold a secret)
    start: int
    end: int
    why: str  # "function `load`", "whole file", "definition of `parse`", "call of `load`"
    lines: tuple[str, ...]  # start..end, redacted
    hidden: tuple[tuple[int, int], ...] = ()  # ranges the diff shows, left out

    def holds(self, other: Excerpt) -> bool:
        return self.path == other.path and self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class CodeContext:
    excerpts: tuple[Excerpt, ...] = ()
    text: str = ""
    tokens: int = 0


def code_contexts(chunks: Sequence[Chunk], tree: SourceTree | None, budget: int, call_sites: int) -> tuple[CodeContext, ...]:
    """The context of each request of a change (one a chunk): `budget` estimated tokens each at most (0: none),
    within the change's bound (`budgets`)."""
    if tree is None or budget <= 0:
        return tuple(CodeContext() for _ in chunks)
    shares = budgets(budget, [c.tokens for c in chunks])
    # A request the bound cuts shows the code around its hunks only: on a change that large, that fills it
    # (definitions and call sites were 2% of the context of the benchmark's large range, and most of its time).
    wanted = [_Wanted(c.files, share, lookups=share >= budget) for c, share in zip(chunks, shares, strict=True)]
    return _Run(tree, [f for c in chunks for f in c.files]).contexts(wanted, call_sites)


def code_context(
    files: Iterable[FileDiff], tree: SourceTree, budget: int, call_sites: int, focus: Iterable[tuple[str, int]] = ()
) -> CodeContext:
    """The context for one request's files, within `budget` estimated tokens (0: none).

    `focus`: (path, line) pairs shown first, a few lines either side (the lines findings point at, for the verifier).
    """
    if budget <= 0:
        return CodeContext()
    files = tuple(files)
    return _Run(tree, files).contexts([_Wanted(files, budget, tuple(focus))], call_sites)[0]


def budgets(budget: int, diff_tokens: Sequence[int]) -> list[int]:
    """Each request's context budget: its part, by its diff tokens, of what the change may show in all (the larger
    of `budget` and DIFF_SHARE of its diff tokens), and at most `budget`. One request alone gets `budget`."""
    total = sum(diff_tokens)
    if total <= 0:
        return [budget for _ in diff_tokens]
    allowed = max(budget, int(total * DIFF_SHARE))
    return [min(budget, allowed * tokens // total) for tokens in diff_tokens]


def render_excerpt(excerpt: Excerpt) -> str:
    """`--- path: why (lines a-b)`, then each line as `  NNNN | text`; a range the diff shows as one `⋮` line."""
    out = [f"--- {quoted(excerpt.name)}: {excerpt.why} (lines {excerpt.start}-{excerpt.end})"]
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


@dataclass(frozen=True)
class _Wanted:
    files: tuple[FileDiff, ...]
    budget: int
    focus: tuple[tuple[str, int], ...] = ()
    lookups: bool = True  # definitions and call sites, when budget is left after the code around the hunks


@dataclass(frozen=True)
class _Span:
    """An excerpt not yet read out (and redacted): most a large change's requests offer are never shown."""

    path: str
    start: int
    end: int
    why: str
    hidden: tuple[tuple[int, int], ...]

    @property
    def shown(self) -> int:
        return self.end - self.start + 1 - sum(max(0, min(b, self.end) - max(a, self.start) + 1) for a, b in self.hidden)


class _Pick:
    """The excerpts chosen for one request, within its budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.chosen: dict[Excerpt, int] = {}  # excerpt -> its tokens

    @property
    def left(self) -> int:
        return self.budget - sum(self.chosen.values())

    def offer(self, excerpt: Excerpt) -> bool:
        """Whether the excerpt is shown (now, or already within another)."""
        if any(e.holds(excerpt) for e in self.chosen):
            return True
        inside = [e for e in self.chosen if excerpt.holds(e)]  # shown again by this one: replaced
        cost = count_tokens(render_excerpt(excerpt))
        if cost - sum(self.chosen[e] for e in inside) > self.left:
            return False
        for e in inside:
            del self.chosen[e]
        self.chosen[excerpt] = cost
        return True

    def context(self) -> CodeContext:
        ordered = tuple(sorted(self.chosen, key=lambda e: (e.path, e.start)))
        text = "\n".join(render_excerpt(e) for e in ordered)
        return CodeContext(ordered, text, count_tokens(text))


@dataclass(frozen=True)
class _Names:
    """What one request looks up elsewhere in the repository."""

    called: tuple[str, ...]  # newly called, defined outside its files: their definitions
    changed: tuple[str, ...]  # functions it modifies: their call sites
    texts: frozenset[str]  # its changed files that give context (their own lines are no definitions to show)
    files: tuple[FileDiff, ...]


class _Run:
    """One change's context: its files read and parsed once, its names looked up in one search."""

    def __init__(self, tree: SourceTree, files: Iterable[FileDiff]) -> None:
        self.tree = tree
        # Excerpts are headed by the name shown: a changed file's from its (redacted) diff, any other's scanned once.
        self.names = {f.path: f.name for f in files}
        self.lines = lru_cache(maxsize=FILES_KEPT)(tree.lines)
        self.outline = lru_cache(maxsize=FILES_KEPT)(self._outline)
        self.redacted = lru_cache(maxsize=FILES_KEPT)(self._redacted)

    def contexts(self, wanted: Sequence[_Wanted], call_sites: int) -> tuple[CodeContext, ...]:
        picks = [_Pick(w.budget) for w in wanted]
        names = [self._around(w, pick) for w, pick in zip(wanted, picks, strict=True)]
        definitions, calls = self._places([n for n in names if n], call_sites)
        for found, pick in zip(names, picks, strict=True):
            if found is None:
                continue
            for name in found.called:
                for excerpt in self._definitions(name, definitions.get(name, []), skip=found.texts):
                    pick.offer(excerpt)
            for name in found.changed:
                for excerpt in self._call_sites(name, calls.get(_called(name), []), call_sites, found.files):
                    pick.offer(excerpt)
        return tuple(pick.context() for pick in picks)

    def _around(self, wanted: _Wanted, pick: _Pick) -> _Names | None:
        """Offers the focus lines and the code around the hunks, the smallest first, until one does not fit; the
        names to look up, when the request may and has budget left."""
        files = [f for f in wanted.files if f.status not in (FileStatus.DELETED, FileStatus.ADDED) and not f.binary and f.hunks]
        if pick.budget <= 0 or not (files or wanted.focus):
            return None
        texts = {f.path: lines for f in files if (lines := self.lines(f.path)) is not None and self._matches(f, lines)}
        shown = {f.path: f for f in files}
        for path, line in wanted.focus:
            lines = texts.get(path) if path in shown else self.lines(path)
            if lines is not None and 1 <= line <= len(lines):
                hidden = _hunk_spans(shown[path]) if path in shown else ()
                pick.offer(self._excerpt(_Span(path, max(1, line - FOCUS_MARGIN), line + FOCUS_MARGIN, "around a finding", hidden)))
        around: list[_Span] = []
        changed: list[str] = []
        defined: set[str] = set()
        for file in files:
            parsed = self.outline(file.path) if file.path in texts else None
            if parsed is None:
                continue
            scopes = _scopes_of(file, parsed)
            around += _around_hunks(file, parsed, scopes)
            changed += [s.name for s in scopes if s is not None and s.kind == "function" and s.name]
            defined |= {s.name for s in parsed.scopes or () if s.name}
        for span in sorted(around, key=lambda s: s.shown):
            if not pick.offer(self._excerpt(span)):
                break  # the rest are larger
        if not wanted.lookups or pick.left <= 0:
            return None
        called = tuple(sorted(_newly_called(files) - defined)[:MAX_NAMES])
        return _Names(called, tuple(dict.fromkeys(changed))[:MAX_NAMES], frozenset(texts), tuple(files))

    def _places(self, names: list[_Names], call_sites: int) -> tuple[dict[str, list[tuple[str, int]]], dict[str, list[tuple[str, int]]]]:
        """The lines that look like a definition of each name to define, and like a call of each function changed:
        one search for all, each file read once, the first few of each name kept."""
        wanted_definitions = {n for found in names for n in found.called}
        wanted_calls = {_called(n) for found in names for n in found.changed} if call_sites else set()
        definitions: dict[str, list[tuple[str, int]]] = defaultdict(list)
        calls: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for path, line, word in self.tree.find_words(wanted_definitions | wanted_calls, PLACES_PER_NAME):
            if word not in wanted_definitions and word not in wanted_calls:
                continue  # it has its share already
            text = self._line(path, line)
            if word in wanted_definitions and _definition(word).search(text):
                definitions[word].append((path, line))
                if len(definitions[word]) >= DEFINITION_CANDIDATES:
                    wanted_definitions.discard(word)
            if word in wanted_calls and _call(word)[0].search(text):
                calls[word].append((path, line))
                if len(calls[word]) >= call_sites * CALL_CANDIDATES:
                    wanted_calls.discard(word)
            if not (wanted_definitions or wanted_calls):
                break
        return definitions, calls

    def _definitions(self, name: str, places: list[tuple[str, int]], skip: frozenset[str]) -> list[Excerpt]:
        out: list[Excerpt] = []
        for path, line in places:
            parsed = self.outline(path)
            if path in skip or parsed is None:
                continue
            found = [s for s in parsed.scopes or () if s.name == name and s.start <= line <= s.start + 2]
            scope = min(found, key=lambda s: s.end - s.start, default=None)
            if parsed.scopes is not None and scope is None:
                continue  # a parsed file tells a definition from a call: this is not one
            start = scope.start if scope else line
            end = min(scope.end if scope else line + 20, start + MAX_DEFINITION_LINES - 1)
            out.append(self._excerpt(_Span(path, start, end, f"definition of `{name}`", ())))
            if len(out) >= DEFINITIONS:
                break
        return out

    def _call_sites(self, name: str, places: list[tuple[str, int]], limit: int, files: tuple[FileDiff, ...]) -> list[Excerpt]:
        definition = _call(_called(name))[1]
        changed = {f.path: f for f in files}
        out: list[Excerpt] = []
        for path, line in places:
            file = changed.get(path)
            if file is not None and file.hunk_index("RIGHT", line) is not None:
                continue  # the diff shows it
            parsed = self.outline(path)
            if parsed is None or definition.search(self._line(path, line)):
                continue
            caller = parsed.enclosing(line, line)
            where = f" in {caller.label}" if caller and caller.name != name else ""
            start, end = max(1, line - CALL_SITE_MARGIN), line + CALL_SITE_MARGIN
            out.append(self._excerpt(_Span(path, start, end, f"call of `{name}`{where}", _hunk_spans(file) if file else ())))
            if len(out) >= limit:
                break
        return out

    def _line(self, path: str, line: int) -> str:
        """The line as the file has it now (through `lines`, which checks the path), clipped for our patterns."""
        lines = self.lines(path)
        return lines[line - 1][:MAX_LINE_CHARS] if lines is not None and 1 <= line <= len(lines) else ""

    def _outline(self, path: str) -> Outline | None:
        lines = self.lines(path)
        return None if lines is None else outline(path, lines)

    def _redacted(self, path: str) -> tuple[str, ...]:
        """The file redacted as a whole (a key block is seen whole), line for line."""
        from reviewer.redact import redact_lines

        return tuple(redact_lines(list(self.lines(path) or ()))[0])

    def _matches(self, file: FileDiff, lines: list[str]) -> bool:
        """Whether the text on disk is the diff's new side: every added and context line where the diff says."""
        return _same(file, lines) or _same(file, self.redacted(file.path))  # the diff may be redacted already

    def _excerpt(self, span: _Span) -> Excerpt:
        text = self.redacted(span.path)
        start, end = span.start, min(span.end, len(text))
        inside = tuple((max(a, start), min(b, end)) for a, b in span.hidden if a <= end and b >= start)
        return Excerpt(span.path, self._name(span.path), start, end, span.why, text[start - 1 : end], inside)

    def _name(self, path: str) -> str:
        if path not in self.names:
            from reviewer.redact import redact

            self.names[path] = redact(path)
        return self.names[path]


def _around_hunks(file: FileDiff, parsed: Outline, scopes: list[Scope | None]) -> list[_Span]:
    hidden = _hunk_spans(file)
    size = len(parsed.lines)
    changed = sum(1 for h in file.hunks for line in h.lines if line.kind == "+")
    if size <= WHOLE_FILE_LINES or changed * 2 >= size:
        return [_Span(file.path, 1, size, "whole file", hidden)]
    out: list[_Span] = []
    for (first, last), scope in zip(_changed_spans(file), scopes, strict=True):
        if scope is None:
            if parsed.scopes is not None:  # parsed, so top-level code (or a hunk across several scopes): its neighbours
                out.append(_Span(file.path, max(1, first - SCOPE_MARGIN), last + SCOPE_MARGIN, "around code outside any function or class", hidden))
            continue
        start, end = scope.start, scope.end
        if end - start + 1 > MAX_SCOPE_LINES:
            start, end = max(start, first - SCOPE_MARGIN), min(end, last + SCOPE_MARGIN)
            why = f"part of {scope.label}, which spans lines {scope.start}-{scope.end}"
        else:
            why = f"enclosing {scope.label}"
        out.append(_Span(file.path, start, end, why, hidden))
    return out


def _called(name: str) -> str:
    """The name a function is called by: `Calc::run` and `self.run` as run(...)."""
    return re.split(r"::|\.", name)[-1]


def _scopes_of(file: FileDiff, parsed: Outline) -> list[Scope | None]:
    return [parsed.enclosing(first, last) for first, last in _changed_spans(file)]


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


def _same(file: FileDiff, lines: Sequence[str]) -> bool:
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


@lru_cache(maxsize=256)
def _definition(name: str) -> re.Pattern[str]:
    """A line that defines `name` (an identifier: escaped all the same), in the languages we know and C-like ones."""
    n = re.escape(name)
    return re.compile(
        rf"(?:def|function|func|fn|class|struct|interface|trait|module|sub)\s+(?:\([^)]*\)\s*)?{n}(?![A-Za-z0-9_])"
        rf"|^\s*[A-Za-z_][A-Za-z0-9_<>,:*&\s]*[\s*&:]{n}\s*\([^;]*$"
        rf"|(?:const|let|var)\s+{n}\s*=\s*(?:async\s*)?(?:function|\()",
        re.ASCII,
    )


@lru_cache(maxsize=256)
def _call(name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A line that calls `name`, and one that defines it (not a call to show)."""
    n = re.escape(name)
    return re.compile(rf"(?<![A-Za-z0-9_]){n}\s*\(", re.ASCII), re.compile(rf"(?:def|function|func|fn)\s+{n}\b", re.ASCII)


def _clip(text: str) -> str:
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text if len(text) <= MAX_LINE_CHARS else f"{text[:MAX_LINE_CHARS]} … [clipped]"
