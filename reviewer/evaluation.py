"""Evaluation suites: cases with a known answer, and how a review's findings score against it.

A suite is a folder with one folder per case; a case holds `diff.patch` and
`expected.json`::

    {"must_find": [{"path": "src/db.py", "lines": [24, 26], "category": "security"}],
     "must_not_flag": [{"path": "src/db.py", "lines": [1, 10]}]}

Loading reads those files and nothing else; scoring is arithmetic over frozen
dataclasses. Sending the cases to a model is the `eval` command's business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.diff import Diff, parse_diff
from reviewer.errors import ConfigError, DiffError
from reviewer.findings import Finding
from reviewer.vocabulary import CATEGORIES

DIFF_FILE = "diff.patch"
EXPECTED_FILE = "expected.json"


@dataclass(frozen=True)
class Target:
    """A line range of one file that a finding should (must_find) or should not (must_not_flag) land on."""

    path: str
    first: int
    last: int
    category: str | None = None  # must_find only: None matches any category

    def hit_by(self, finding: Finding) -> bool:
        start = finding.start_line if finding.start_line is not None else finding.line
        low, high = min(start, finding.line), max(start, finding.line)
        return (
            finding.side == "RIGHT"  # `lines` are new-file numbers; a LEFT finding counts in the old file
            and finding.path == self.path
            and low <= self.last
            and high >= self.first
            and (self.category is None or finding.category == self.category)
        )

    def label(self) -> str:
        span = f"{self.first}-{self.last}" if self.last != self.first else str(self.first)
        return f"{self.path}:{span}" + (f" ({self.category})" if self.category else "")


@dataclass(frozen=True)
class Expected:
    must_find: tuple[Target, ...] = ()
    must_not_flag: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    diff: Diff
    expected: Expected

    @property
    def changed_lines(self) -> int:
        return sum(f.added + f.removed for f in self.diff.files)


@dataclass(frozen=True)
class CaseScore:
    found: tuple[Target, ...]
    missed: tuple[Target, ...]
    findings: int
    noise: int  # findings that match no must_find entry
    false_alarms: int  # findings on a must_not_flag range
    changed_lines: int

    @property
    def recall(self) -> float | None:
        """None when the case expects nothing: a clean case measures noise only."""
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else None


@dataclass(frozen=True)
class Totals:
    """Scores summed over cases; ratios are taken of the sums, so a case with many entries weighs more."""

    found: int
    expected: int
    findings: int
    noise: int
    false_alarms: int
    changed_lines: int

    @property
    def recall(self) -> float | None:
        return self.found / self.expected if self.expected else None

    @property
    def findings_per_100_lines(self) -> float | None:
        return self.findings * 100 / self.changed_lines if self.changed_lines else None


@dataclass(frozen=True)
class CaseRun:
    """One case reviewed by one variant: its score and what it took."""

    name: str
    score: CaseScore | None  # None: a backend failure left part of the case unreviewed, so it is not scored
    findings: tuple[Finding, ...]
    prompt_tokens: int
    cost_usd: float
    seconds: float
    errors: tuple[str, ...]


@dataclass(frozen=True)
class VariantRun:
    name: str
    cases: tuple[CaseRun, ...]

    @property
    def totals(self) -> Totals:
        return aggregate([c.score for c in self.cases if c.score is not None])

    @property
    def unscored(self) -> tuple[CaseRun, ...]:
        return tuple(c for c in self.cases if c.score is None)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.cases)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.cases)

    @property
    def seconds(self) -> float:
        """Summed over cases, so the figure does not depend on how many ran at once (--concurrency)."""
        return sum(c.seconds for c in self.cases)


def score(findings: Sequence[Finding], expected: Expected, changed_lines: int) -> CaseScore:
    found = tuple(t for t in expected.must_find if any(t.hit_by(f) for f in findings))
    return CaseScore(
        found=found,
        missed=tuple(t for t in expected.must_find if t not in found),
        findings=len(findings),
        noise=sum(1 for f in findings if not any(t.hit_by(f) for t in expected.must_find)),
        false_alarms=sum(1 for f in findings if any(t.hit_by(f) for t in expected.must_not_flag)),
        changed_lines=changed_lines,
    )


def aggregate(scores: Sequence[CaseScore]) -> Totals:
    return Totals(
        found=sum(len(s.found) for s in scores),
        expected=sum(len(s.found) + len(s.missed) for s in scores),
        findings=sum(s.findings for s in scores),
        noise=sum(s.noise for s in scores),
        false_alarms=sum(s.false_alarms for s in scores),
        changed_lines=sum(s.changed_lines for s in scores),
    )


def load_suite(folder: Path) -> tuple[Case, ...]:
    """Every case folder of the suite, by name; a ConfigError naming the file for anything malformed."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such suite folder (a suite holds one folder per case)")
    case_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not case_dirs:
        raise ConfigError(f"{folder}: the suite holds no case folders; add one with {DIFF_FILE} and {EXPECTED_FILE}")
    return tuple(load_case(d) for d in case_dirs)


def load_case(folder: Path) -> Case:
    for name in (DIFF_FILE, EXPECTED_FILE):
        if not (folder / name).is_file():
            raise ConfigError(f"{folder / name}: missing; every case folder needs {DIFF_FILE} and {EXPECTED_FILE}")
    diff = _load_diff(folder / DIFF_FILE)
    return Case(folder.name, diff, _load_expected(folder / EXPECTED_FILE, diff))


def _load_diff(path: Path) -> Diff:
    try:
        diff = parse_diff(path.read_bytes())
    except DiffError as exc:
        raise ConfigError(f"{path}: {exc}; write it with `git diff > {path.name}`") from None
    if diff.empty:
        raise ConfigError(f"{path}: holds no changes; write it with `git diff > {path.name}`")
    return diff


def _load_expected(path: Path, diff: Diff) -> Expected:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: must be a JSON object like {{"must_find": [...], "must_not_flag": [...]}}')
    _reject_unknown(data, ("must_find", "must_not_flag"), path, "")
    paths = {f.path for f in diff.files}
    return Expected(
        must_find=_targets(data, "must_find", ("path", "lines", "category"), path, paths),
        must_not_flag=_targets(data, "must_not_flag", ("path", "lines"), path, paths),
    )


def _targets(data: Mapping[str, Any], key: str, known: tuple[str, ...], where: Path, paths: set[str]) -> tuple[Target, ...]:
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: {key} must be a list of entries")
    return tuple(_target(entry, known, where, f"{key}[{i}]", paths) for i, entry in enumerate(entries))


def _target(entry: Any, known: tuple[str, ...], where: Path, at: str, paths: set[str]) -> Target:
    if not isinstance(entry, dict):
        raise ConfigError(f'{where}: {at} must be an object like {{"path": "src/db.py", "lines": [24, 26]}}')
    _reject_unknown(entry, known, where, at)
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where}: {at}.path must be the file's path in the diff")
    # A path the diff does not touch can never be matched: almost always a typo in the suite.
    if path not in paths:
        raise ConfigError(f"{where}: {at}.path {path!r} is not a file in {DIFF_FILE} (files: {', '.join(sorted(paths))})")
    lines = entry.get("lines")
    numbers: list[Any] = lines if isinstance(lines, list) and len(lines) == 2 else []
    # type() rather than isinstance(): JSON true is a bool, and a bool is an int to Python.
    if not (numbers and all(type(n) is int and n >= 1 for n in numbers) and numbers[0] <= numbers[1]):
        raise ConfigError(f"{where}: {at}.lines must be [first, last], line numbers with first <= last, not {lines!r}")
    category = entry.get("category")
    if category is not None and category not in CATEGORIES:
        raise ConfigError(f"{where}: {at}.category {category!r} is not one of: {', '.join(CATEGORIES)}")
    return Target(path, numbers[0], numbers[1], category)


def _reject_unknown(table: Mapping[str, Any], known: tuple[str, ...], where: Path, at: str) -> None:
    for key in table:
        if key not in known:
            name = f"{at}.{key}" if at else key
            raise ConfigError(f"{where}: unknown key {name!r}; known keys: {', '.join(known)}")
