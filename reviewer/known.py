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
        self._order = {value: number for number, value in enumerate(self.values)}  # of equal lengths, the first given first
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
        """`text` with each value replaced by what it stands for, the longest first. The automaton says which values
        are there; `str.replace` replaces them. Not pyahocorasick's `iter_long`: it misses matches (its issues #133,
        #185), and a value would be left bare."""
        for value in sorted(self._present(text), key=lambda value: (-len(value), self._order[value])):
            text = text.replace(value, self.values[value])
        return text

    def _present(self, text: str) -> set[str]:
        present: set[str] = set()
        for _, value in self._automaton.iter(text) if self._automaton is not None else ():
            present.add(value)
            if len(present) == len(self.values):
                break
        return present
