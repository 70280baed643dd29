"""Which lines of a text a regular expression could match in, read from the expression itself.

Python's `re` tries a pattern that starts with a character class at almost every position of a text:
2.6 MB of diff took ~15 ms a pattern, and the secret scan runs ~30 of them. Most lines of code cannot
hold a secret, and what rules a line out can be read from the pattern: every match holds one of a few
literal strings (`xox`, `-----BEGIN `, or `key`/`token`/... in any case), or a run of many key-like
characters in a row (`[A-Za-z0-9+/=_-]`: `AKIA[A-Z0-9]{16}` needs 20). `read()` derives that *need*
from the standard library's own parse of the pattern; `Lines` finds the lines holding it in a pass
over the text (~1 ms for 2.6 MB) for each run length and each first character of the literals, and
joins them into a `Part` the pattern then runs on: 2.6 MB of diff is scanned in ~0.06 s, not ~0.4.

That is only the same as running the pattern on the whole text when the pattern is *line-local*: it
cannot match a line break, and does not look at the start or end of the whole text (`^` and `$` only
in MULTILINE mode, `\\A` and `\\Z` never). `read()` says so; a pattern that is not line-local must run
on whole texts. A line with any character outside ASCII always passes: in case-insensitive mode `ſ`
matches `s` and `K` (the Kelvin sign) `k`, and `\\d` or `\\w` match far beyond ASCII, so the need is
read for ASCII text only. Where unsure, the reading is weaker, never wrong; an expression it cannot
read has no need (every line passes) and is not line-local.
"""

from __future__ import annotations

import bisect
import itertools
import re
import string
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as sre
    from re import _parser as sre_parse
else:  # pragma: no cover - the same module under its old name
    import sre_constants as sre
    import sre_parse

# Characters of keys and tokens (base64, base64url, hex): a long run of them is what most secrets look like.
RUN_CHARS = frozenset(string.ascii_letters + string.digits + "+/=_-")
_OUTSIDE_RUN = [chr(c) for c in range(128) if chr(c) not in RUN_CHARS]
_RUN_LEVELS = (8, 12, 16, 20, 24, 32, 40)  # a run is looked for at these lengths (rounded down): one pass each
_STRONG = 18  # a need this rare (a run of 18, a literal such as `sk-`, or `token`) rules out most lines
_RARE = 32  # rarer than this makes no difference (~2% of lines of code have a run of 32)
_FEWEST = 8  # an exact set of more strings than this is not kept (each costs a pass)


@dataclass(frozen=True)
class Need:
    """What every match holds, on an ASCII line: a run of `run` RUN_CHARS in a row (0: not asked for),
    or one of `words` as written, or one of `folded` once the line's ASCII letters are lowered."""

    run: int = 0
    words: frozenset[str] = frozenset()
    folded: frozenset[str] = frozenset()

    def _rarity(self) -> int:
        """How rare a line holding it is, as the length of a run as rare, judged by its commonest part."""
        return min([self.run] * bool(self.run) + [_rarity(word) for word in self.words | self.folded])

    def _rank(self) -> tuple[int, int, int]:
        """Rare enough first (past that, a regex on a few lines costs next to nothing), then the fewest
        literals (each a pass over the text; a run's pass is shared), then the rarest."""
        return (min(self._rarity(), _RARE), -len(self.words | self.folded), self._rarity())


def _rarity(word: str) -> int:
    """A literal with a character other than a lowercase letter (`sk-`, `AKIA`, `://`) is rarer in code than a run
    ten times its length (on the pytest 8.2 diff: `://` on 0.8% of lines, a run of 20 on 8.6%, of 32 on 1.7%);
    one of lowercase letters only may be a word of code (`key` on 1.1%, `test` on 19%) and counts far less."""
    return (4 if word.isalpha() and word.islower() else 10) * len(word)


@dataclass(frozen=True)
class Reading:
    need: Need | None  # None: no line can be ruled out
    line_local: bool  # every match lies within one line and reads nothing beyond it but whether a line break is there


def read(patterns: Iterable[re.Pattern[str]]) -> Reading:
    """What any match of any of `patterns` needs, and whether they all are line-local."""
    readings = [_read_one(pattern) for pattern in patterns]
    needs = [r.need for r in readings]
    need = None if not needs or None in needs else _either([n for n in needs if n is not None])
    return Reading(need, all(r.line_local for r in readings))


@lru_cache(maxsize=256)
def _read_one(pattern: re.Pattern[str]) -> Reading:
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
        shape = _sequence(parsed.data, parsed.state.flags)
    except Exception:  # noqa: BLE001  # _Unreadable, or a Python whose private parser changed: the plain scan
        return Reading(None, line_local=False)
    return Reading(_best(shape.needs), line_local=not shape.spans_lines)


class _Unreadable(Exception):
    """A construct the reading does not know: the pattern gets no need."""


_NOTHING = frozenset({""})  # literals that tell nothing: the empty string is in every line


@dataclass(frozen=True)
class _Shape:
    """What a piece of a pattern matches, as far as the need goes (on an ASCII line)."""

    pure: bool  # every string it matches is RUN_CHARS only
    head: int  # every match starts with at least this many RUN_CHARS (pure: its shortest length)
    tail: int  # every match ends with at least this many
    exact: frozenset[str] | None  # every string it can match, when few
    starts: frozenset[str] = _NOTHING  # when not exact: every match starts with one of these
    folded: bool = False  # `exact` and `starts` have their ASCII letters lowered (a case-insensitive piece)
    needs: tuple[Need, ...] = ()  # each holds for every match
    spans_lines: bool = False  # may match a line break, or looks at the start or end of the whole text

    @property
    def lead(self) -> frozenset[str]:
        """Every match starts with one of these."""
        return self.exact if self.exact is not None else self.starts


_EMPTY = _Shape(pure=True, head=0, tail=0, exact=frozenset({""}))
_UNKNOWN = _Shape(pure=False, head=0, tail=0, exact=None)
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
_CATEGORIES = {
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
}  # fmt: skip


def _node(op: Any, av: Any, flags: int) -> _Shape:
    folding = bool(flags & re.IGNORECASE)
    if op is sre.LITERAL:
        char = chr(av)
        exact = frozenset({char.lower() if folding else char}) if av < 128 else None  # a non-ASCII line always passes
        pure = char in RUN_CHARS or av >= 128
        return _Shape(pure, int(pure), int(pure), exact, folded=folding and char.isalpha(), spans_lines=av == 10)
    if op is sre.NOT_LITERAL:
        return _Shape(False, 0, 0, None, spans_lines=av != 10)
    if op is sre.ANY:
        return _Shape(False, 0, 0, None, spans_lines=bool(flags & re.DOTALL))
    if op is sre.IN:
        return _class(av, flags)
    if op is sre.SUBPATTERN:
        _group, add, remove, pattern = av
        return _sequence(pattern.data, (flags | add) & ~remove)
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _sequence(av.data, flags)
    if op is sre.BRANCH:
        return _either_shape([_sequence(p.data, flags) for p in av[1]])
    if op is sre.GROUPREF_EXISTS:
        _group, yes, no = av
        return _either_shape([_sequence(yes.data, flags), _sequence(no.data, flags) if no else _EMPTY])
    if op in _REPEATS:
        low, high, pattern = av
        return _repeat(_sequence(pattern.data, flags), low, high)
    if op in (sre.ASSERT, sre.ASSERT_NOT):  # consumes nothing; what it looks at must stay within the line
        return replace(_EMPTY, spans_lines=_sequence(av[1].data, flags).spans_lines)
    if op is sre.AT:
        if av in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):  # a line break is a non-word character, as the text's edge is
            return _EMPTY
        if av in (sre.AT_BEGINNING, sre.AT_END):  # `^` and `$` look at line breaks only in MULTILINE mode
            return replace(_EMPTY, spans_lines=not flags & re.MULTILINE)
        return replace(_EMPTY, spans_lines=True)
    if op is sre.GROUPREF:  # the same text as its group, whose reading already counted
        return _UNKNOWN
    raise _Unreadable(op)


def _class(items: list[tuple[Any, Any]], flags: int) -> _Shape:
    """`[...]`, `\\d`, `\\s`...: judged on the ASCII characters outside RUN_CHARS (no letter, so case does not matter)."""
    pure = not any(_in_class(items, char, flags) for char in _OUTSIDE_RUN)
    literals = [av for op, av in items if op is sre.LITERAL]
    exact = None
    if len(literals) == len(items) <= _FEWEST and all(c < 128 for c in literals):
        exact = frozenset(chr(c).lower() if flags & re.IGNORECASE else chr(c) for c in literals)
    folded = bool(flags & re.IGNORECASE) and any(chr(c).isalpha() for c in literals)
    return _Shape(pure, int(pure), int(pure), exact, folded=folded, spans_lines=_in_class(items, "\n", flags))


def _in_class(items: list[tuple[Any, Any]], char: str, flags: int) -> bool:
    hit, negate = False, False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            hit = hit or ord(char) == av
        elif op is sre.RANGE:
            hit = hit or av[0] <= ord(char) <= av[1]
        elif op is sre.CATEGORY and av in _CATEGORIES:
            hit = hit or _category(av, flags & re.ASCII).fullmatch(char) is not None
        else:
            raise _Unreadable(op)
    return hit != negate


@lru_cache(maxsize=32)
def _category(category: Any, ascii_only: int) -> re.Pattern[str]:
    return re.compile(_CATEGORIES[category], ascii_only)


def _sequence(items: list[tuple[Any, Any]], flags: int) -> _Shape:
    shapes = [_node(op, av, flags) for op, av in items]
    needs: list[Need] = [need for shape in shapes for need in shape.needs]
    # Runs: consecutive pure pieces add up; an impure one ends a run with its head and starts one with its tail.
    pure, head, tail, runs = True, 0, 0, []
    for shape in shapes:
        if shape.pure:
            head, tail = (head + shape.head, tail + shape.head) if pure else (head, tail + shape.head)
        else:
            runs.append(tail + shape.head)
            head, tail, pure = (head + shape.head if pure else head), shape.tail, False
    runs.append(tail)
    needs += [Need(run=n) for n in runs if n]
    # Literals: adjacent exact pieces multiply into the strings they spell, and run on into what the next piece
    # starts with; each string so far is a need of its own. (Python's parser turns `AKIA|ASIA` into `A(?:KIA|SIA)`.)
    folded = any(shape.folded for shape in shapes)
    chain, lead, whole = _NOTHING, None, True
    for shape in shapes:
        grown = _times(chain, _folded(shape.lead, folded))
        if grown is not None and grown != chain:
            needs += _spelled(chain, folded)
        if shape.exact is not None and grown is not None:
            chain = grown
            continue
        needs += _spelled(grown or chain, folded)
        lead = (grown or chain) if lead is None else lead
        chain, whole = (_folded(shape.exact, folded) if shape.exact is not None else _NOTHING), False
    needs += _spelled(chain, folded)
    exact = chain if whole else None
    spans_lines = any(shape.spans_lines for shape in shapes)
    return _Shape(pure, head, tail, exact, lead or _NOTHING, folded, tuple(needs), spans_lines)


def _times(first: frozenset[str], then: frozenset[str]) -> frozenset[str] | None:
    """Each string of `first` followed by each of `then`; None when too many."""
    grown = frozenset(a + b for a in first for b in then)
    return grown if len(grown) <= _FEWEST else None


def _folded(words: frozenset[str], folded: bool) -> frozenset[str]:
    return frozenset(w.lower() for w in words) if folded else words


def _spelled(chain: frozenset[str], folded: bool) -> list[Need]:
    if "" in chain:
        return []
    words = frozenset(_fewest(chain))
    return [Need(folded=words) if folded else Need(words=words)]


def _fewest(words: Iterable[str]) -> set[str]:
    """The same condition with fewer words: a line holding a word holds every word inside it."""
    found = set(words)
    return {w for w in found if not any(other != w and other in w for other in found)}


def _repeat(child: _Shape, low: int, high: int) -> _Shape:
    if low == 0:  # may match nothing: needs nothing, starts with nothing known
        exact = child.exact | _NOTHING if child.exact is not None and high == 1 else None
        return _Shape(child.pure, 0, 0, exact, folded=child.folded, spans_lines=child.spans_lines)
    exact = child.exact if low == high == 1 else None
    head = child.head * low if child.pure else child.head
    tail = child.tail * low if child.pure else child.tail
    return _Shape(child.pure, head, tail, exact, child.lead, child.folded, child.needs, child.spans_lines)


def _either_shape(alternatives: list[_Shape]) -> _Shape:
    folded = any(a.folded for a in alternatives)
    exact = None
    if all(a.exact is not None for a in alternatives):
        exact = _at_most(frozenset(w for a in alternatives for w in _folded(a.exact or _NOTHING, folded)))
    starts = _at_most(frozenset(w for a in alternatives for w in _folded(a.lead, folded))) or _NOTHING
    bests = [_best(a.needs) for a in alternatives]
    needs = (_either([b for b in bests if b is not None]),) if None not in bests else ()
    return _Shape(
        all(a.pure for a in alternatives), min(a.head for a in alternatives), min(a.tail for a in alternatives),
        exact, starts, folded, needs, any(a.spans_lines for a in alternatives),
    )  # fmt: skip


def _at_most(words: frozenset[str]) -> frozenset[str] | None:
    return words if len(words) <= _FEWEST else None


def _either(needs: list[Need]) -> Need:
    """A line holding any of `needs`."""
    runs = [n.run for n in needs if n.run]
    return Need(
        min(runs, default=0),
        frozenset(_fewest(w for n in needs for w in n.words)),
        frozenset(_fewest(w for n in needs for w in n.folded)),
    )


def _best(needs: Iterable[Need]) -> Need | None:
    """The need to look for: the best of the strong ones, else the rarest of the others, if any is rare at all."""
    usable = [need for need in needs if need._rarity() >= _RUN_LEVELS[0]]
    strong = [need for need in usable if need._rarity() >= _STRONG]
    return max(strong, key=Need._rank) if strong else max(usable, key=Need._rarity, default=None)


# --- finding the lines -------------------------------------------------------------------------

_RUN_TABLE = bytes(ord("x") if chr(b) in RUN_CHARS else b if b == 10 else ord(" ") for b in range(256))


@dataclass(frozen=True)
class Part:
    """Some lines of a text, joined by line breaks, and where each began in the text."""

    text: str
    starts: tuple[int, ...]  # of each line, in `text`
    origins: tuple[int, ...]  # of each line, in the whole text

    def origin(self, offset: int) -> int:
        """Where an offset of `text` lies in the whole text."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return self.origins[line] + offset - self.starts[line]


class Lines:
    """Texts, as if joined by line breaks, and the lines of them that hold a need: each need looked for once.

    Lines with a character outside ASCII (which pass every need) are kept apart, in `wide`: one such
    character makes a Python string four bytes a character, and a regex on it slower, so the parts of
    ASCII lines stay one byte a character. The texts are never joined as a string for the same reason.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts
        self._starts = list(itertools.accumulate((len(text) + 1 for text in texts[:-1]), initial=0))
        self._holding: dict[tuple[str, str | int], dict[int, int]] = {}  # (how, what) → the lines holding it
        self._parts: dict[Need | None, Part] = {}

    def starts(self, need: Need | None) -> list[int]:
        """Where each line that could hold a match begins: those holding `need`, and those with a character outside ASCII."""
        return sorted({*self.part(need).origins, *self.wide.origins})

    def part(self, need: Need | None) -> Part:
        """The ASCII lines holding `need` (all of them for None), as one text."""
        if need not in self._parts:
            found = self._all() if need is None else self._holding_need(need)
            self._parts[need] = self._join(sorted(item for item in found.items() if item[0] not in self._wide))
        return self._parts[need]

    @cached_property
    def wide(self) -> Part:
        """The lines with a character outside ASCII, as one text: scanned for every need."""
        bounds = sorted(self._wide.items())
        return Part("\n".join(self._slice(start, end) for start, end in bounds), _offsets(bounds), tuple(s for s, _ in bounds))

    def _holding_need(self, need: Need) -> dict[int, int]:
        found: dict[int, int] = {}
        if need.run:
            found.update(self._with_run(max(level for level in _RUN_LEVELS if level <= need.run)))
        for form, words in (("ascii", need.words), ("folded", need.folded)):
            self._look_for(form, words)
            for word in words:
                found.update(self._holding[form, word])
        return found

    def _with_run(self, length: int) -> dict[int, int]:
        if ("run", length) not in self._holding:
            needle = b"x" * length  # bytes.find does this best (a regex would try every x)
            self._holding["run", length] = dict(_lines_where(self._runs, lambda at: self._runs.find(needle, at)))
        return self._holding["run", length]

    def _look_for(self, form: str, words: Iterable[str]) -> None:
        """The lines holding each of `words` not looked for yet: one pass of a regex for those that begin with the
        same character (Python's regex engine runs to that character as fast as bytes.find to a word, and for
        each of 48 words it would take ~50 ms), then each line it stops on searched for each of them."""
        haystack = self._folded if form == "folded" else self._ascii
        missing = sorted(word for word in set(words) if (form, word) not in self._holding)
        for _, group in itertools.groupby(missing, key=lambda word: word[0]):
            encoded = {word: word.encode("ascii") for word in group}
            for word in encoded:
                self._holding[form, word] = {}
            pattern = re.compile(b"|".join(map(re.escape, encoded.values())))
            for start, end in _lines_where(haystack, _finder(pattern, haystack)):
                line = haystack[start:end]
                for word, raw in encoded.items():
                    if raw in line:
                        self._holding[form, word][start] = end

    def _all(self) -> dict[int, int]:
        found, start = {}, 0
        for line in self._ascii.split(b"\n"):
            found[start] = start + len(line)
            start += len(line) + 1
        return found

    def _join(self, bounds: list[tuple[int, int]]) -> Part:
        """ASCII lines are the same in `_ascii`, where slicing and joining them is cheapest."""
        text = b"\n".join(self._ascii[start:end] for start, end in bounds).decode("ascii")
        return Part(text, _offsets(bounds), tuple(start for start, _ in bounds))

    def _slice(self, start: int, end: int) -> str:
        index = bisect.bisect_right(self._starts, start) - 1
        return self._texts[index][start - self._starts[index] : end - self._starts[index]]

    @cached_property
    def _ascii(self) -> bytes:
        """The texts as bytes, one a character so offsets agree; a character outside ASCII becomes `?`."""
        return b"\n".join(text.encode("ascii", "replace") for text in self._texts)

    @cached_property
    def _folded(self) -> bytes:
        return self._ascii.lower()

    @cached_property
    def _runs(self) -> bytes:
        """x for each character of RUN_CHARS: a run of n of them is where `x` * n is found."""
        return self._ascii.translate(_RUN_TABLE)

    @cached_property
    def _wide(self) -> dict[int, int]:
        """Each line with a character outside ASCII: among those with a `?` in `_ascii`."""
        if all(text.isascii() for text in self._texts):
            return {}
        marked = _lines_where(self._ascii, lambda at: self._ascii.find(b"?", at))
        return {start: end for start, end in marked if not self._slice(start, end).isascii()}


def _offsets(bounds: list[tuple[int, int]]) -> tuple[int, ...]:
    """Where each line begins once they are joined by line breaks."""
    return tuple(itertools.accumulate((end - start + 1 for start, end in bounds[:-1]), initial=0)) if bounds else ()


def _lines_where(haystack: bytes, find: Callable[[int], int]) -> Iterator[tuple[int, int]]:
    """Where each line begins and ends that `find` (the next place from an offset, or -1) finds something in."""
    at = find(0)
    while at != -1:
        end = haystack.find(b"\n", at)
        yield haystack.rfind(b"\n", 0, at) + 1, len(haystack) if end == -1 else end
        at = find(end) if end != -1 else -1


def _finder(pattern: re.Pattern[bytes], haystack: bytes) -> Callable[[int], int]:
    def find(at: int) -> int:
        match = pattern.search(haystack, at)
        return match.start() if match else -1

    return find
