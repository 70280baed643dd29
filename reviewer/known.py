"""Values known to be secrets, found wherever else they show, all of them in one pass over a text.

A value found once (a password only its assignment marks) is a secret wherever else it shows: in another hunk,
the pull request's body, a file read for context, any file of the tree an agent reads. Looking for each value in
each text costs values × texts, which a pull request can inflate on purpose: a fixture of a few thousand fake
keys in a tree of thousands of files took minutes. An Aho-Corasick automaton (pyahocorasick, in C) finds every
value in one pass over each text: 20,000 values over 1 MB in 0.05 s, where `value in text` for each took 1.8 s
and a regular expression of them all 33 s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

MIN_KNOWN = 6  # characters; shorter values would mask ordinary words


class Known:
    """Values (of at least MIN_KNOWN characters) and what each stands for: its placeholder, or its kind."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = {value: shown for value, shown in values.items() if len(value) >= MIN_KNOWN}
        self._longest = max(map(len, self.values), default=0)
        self._automaton: Any = None
        if self.values:
            import ahocorasick

            self._automaton = ahocorasick.Automaton()
            for value in self.values:
                self._automaton.add_word(value, value)
            self._automaton.make_automaton()

    @classmethod
    def of(cls, values: Mapping[str, str] | Known | None) -> Known:
        """`values` as a Known, made once: a caller masks many texts with the same values."""
        return values if isinstance(values, Known) else cls(values or {})

    def __bool__(self) -> bool:
        return bool(self.values)

    def shows(self, text: str) -> bool:
        """Whether any value is in `text`."""
        return self._automaton is not None and next(self._automaton.iter(text), None) is not None

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Each place in `text` that shows a value: start, end and the value. One value's places never overlap (as
        `str.find` steps through them): else a value of a repeated pattern, over a text of it, would have one place
        per character, and a pull request could make millions of them."""
        free: dict[str, int] = {}  # where the next place of each value may start
        for last, value in self._automaton.iter(text) if self._automaton is not None else ():
            start = last + 1 - len(value)
            if start >= free.get(value, 0):
                free[value] = last + 1
                yield start, last + 1, value

    def masked(self, text: str) -> str:
        """`text` with each value replaced by what it stands for: leftmost first, the longest of those that start at
        one place. (Where two values overlap, the rest of the later one shows.) Not pyahocorasick's `iter_long`,
        which means to do this but misses matches (its issues #133, #185): a value was left bare."""
        present = self._present(text)
        if len(present) <= _REPLACED:
            # `str.replace` in C, longest first: a text dense with a few values (a pattern repeated) yields millions
            # of matches to the pass below. Where values overlap, the longest is masked first.
            for value in sorted(present, key=lambda value: (-len(value), value)):
                text = text.replace(value, self.values[value])
            return text
        return self._masked_in_one_pass(text)

    def _present(self, text: str) -> set[str]:
        """The values in `text`: once all are seen, the pass stops."""
        present: set[str] = set()
        for _, value in self._automaton.iter(text) if self._automaton is not None else ():
            present.add(value)
            if len(present) == len(self.values):
                break
        return present

    def _masked_in_one_pass(self, text: str) -> str:
        """Many values in one text (a fixture of keys): one pass, leftmost-longest. Matches come from `iter` by where
        they end; a start is decided once no match still to come can start before it, so only the candidates of the
        last `longest` characters are held."""
        out: list[str] = []
        at = 0  # the text before it is written out
        candidates: dict[int, str] = {}  # undecided starts, and the longest value found to start there

        def decide(before: int) -> None:
            nonlocal at
            for start in sorted(s for s in candidates if s < before):
                value = candidates.pop(start)
                if start >= at:
                    out.extend((text[at:start], self.values[value]))
                    at = start + len(value)

        ended = -1
        for last, value in self._automaton.iter(text):
            if last != ended:  # every match still to come ends after `ended`, so starts at `ended + 2 - longest` or later
                decide(ended + 2 - self._longest)
                ended = last
            start = last + 1 - len(value)
            if start >= at and len(value) > len(candidates.get(start, "")):
                candidates[start] = value
        decide(len(text))
        out.append(text[at:])
        return "".join(out)


_REPLACED = 256  # values present in one text, up to which each is replaced in C (present × length characters read)
