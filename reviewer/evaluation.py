"""Evaluation suites: cases with a known answer, and how a review's findings score against it.

A suite is a folder with one folder per case; a case holds `diff.patch` and
`expected.json`::

    {"must_find": [{"path": "src/db.py", "lines": [24, 26], "category": "security"}],
     "must_not_flag": [{"path": "src/db.py", "lines": [1, 10]}],
     "golden": [{"comment": "The name is put into the SQL unescaped", "severity": "high"}]}

A `must_find` entry is matched by location; a golden comment (as the public
benchmarks write them) by an LLM judge that decides "same underlying issue".
Both are the case's expected issues. A case with neither is clean: any finding
on it is a false positive.

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
GOLDEN_SEVERITIES = ("low", "medium", "high", "critical")


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
class Golden:
    """A comment a careful human reviewer made on the case: the issue a finding should describe."""

    comment: str
    severity: str  # one of GOLDEN_SEVERITIES
    path: str | None = None
    lines: tuple[int, int] | None = None


@dataclass(frozen=True)
class Expected:
    must_find: tuple[Target, ...] = ()
    must_not_flag: tuple[Target, ...] = ()
    golden: tuple[Golden, ...] = ()

    @property
    def clean(self) -> bool:
        """Nothing to find: every finding is a false positive."""
        return not self.must_find and not self.golden


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
    noise: int  # findings that match no expected issue
    false_alarms: int  # findings on a must_not_flag range
    changed_lines: int
    golden: int = 0  # golden comments of the case
    golden_found: tuple[int, ...] = ()  # indices of the golden comments a finding matched
    clean: bool = False  # the case expects nothing

    @property
    def expected(self) -> int:
        return len(self.found) + len(self.missed) + self.golden

    @property
    def issues_found(self) -> int:
        return len(self.found) + len(self.golden_found)

    @property
    def recall(self) -> float | None:
        """None when the case expects nothing: a clean case measures false positives only."""
        return self.issues_found / self.expected if self.expected else None


@dataclass(frozen=True)
class Totals:
    """Scores summed over cases; ratios are taken of the sums, so a case with many entries weighs more."""

    found: int  # expected issues found: must_find entries hit, golden comments matched
    expected: int
    findings: int
    noise: int
    false_alarms: int
    changed_lines: int
    cases: int = 0
    matched: int = 0  # findings that match an expected issue
    findings_expecting: int = 0  # findings on cases that expect some issue: precision's denominator
    clean_cases: int = 0
    clean_flagged: int = 0  # clean cases with at least one finding

    @property
    def recall(self) -> float | None:
        return self.found / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.findings_expecting if self.findings_expecting else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_positive_rate(self) -> float | None:
        return self.clean_flagged / self.clean_cases if self.clean_cases else None

    @property
    def findings_per_case(self) -> float | None:
        return self.findings / self.cases if self.cases else None

    @property
    def findings_per_100_lines(self) -> float | None:
        return self.findings * 100 / self.changed_lines if self.changed_lines else None


@dataclass(frozen=True)
class CaseRun:
    """One case reviewed by one variant: its score and what it took."""

    name: str
    score: CaseScore | None  # None: a backend (or the judge) failed on the case, so it is not scored
    findings: tuple[Finding, ...]
    prompt_tokens: int
    cost_usd: float
    seconds: float
    errors: tuple[str, ...]
    answered_by: tuple[str, ...] = ()  # the backends that answered the case's requests
    matches: Matches | None = None  # the judge's verdict; None when no judge was asked
    judged: tuple[str, ...] = ()  # the golden comments the judge saw, so a replay knows whether its verdict still applies
    judge_prompt_tokens: int = 0
    judge_cost_usd: float = 0.0
    context_tokens: int = 0  # of prompt_tokens, code shown around the hunks
    verify_tokens: int = 0  # prompt and output tokens of the verification pass (in prompt_tokens and cost_usd too)
    verify_cost_usd: float = 0.0


@dataclass(frozen=True)
class VariantRun:
    name: str
    cases: tuple[CaseRun, ...]
    judge: str | None = None  # "backend (model)" of the judge; None when no case has golden comments

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
    def judge_cost_usd(self) -> float:
        return sum(c.judge_cost_usd for c in self.cases)

    @property
    def context_tokens(self) -> int:
        return sum(c.context_tokens for c in self.cases)

    @property
    def verify_tokens(self) -> int:
        return sum(c.verify_tokens for c in self.cases)

    @property
    def verify_cost_usd(self) -> float:
        return sum(c.verify_cost_usd for c in self.cases)

    @property
    def seconds(self) -> float:
        """Summed over cases, so the figure does not depend on how many ran at once (--concurrency)."""
        return sum(c.seconds for c in self.cases)


Matches = tuple[tuple[int, int], ...]  # (finding index, golden index): the judge's "same underlying issue"


def score(findings: Sequence[Finding], expected: Expected, changed_lines: int, matches: Matches = ()) -> CaseScore:
    """The case's score; `matches` pairs findings with golden comments, as the judge decided."""
    found = tuple(t for t in expected.must_find if any(t.hit_by(f) for f in findings))
    judged = {f for f, _ in matches}
    matched = sum(1 for i, f in enumerate(findings) if i in judged or any(t.hit_by(f) for t in expected.must_find))
    return CaseScore(
        found=found,
        missed=tuple(t for t in expected.must_find if t not in found),
        findings=len(findings),
        noise=len(findings) - matched,
        false_alarms=sum(1 for f in findings if any(t.hit_by(f) for t in expected.must_not_flag)),
        changed_lines=changed_lines,
        golden=len(expected.golden),
        golden_found=tuple(sorted({g for _, g in matches})),
        clean=expected.clean,
    )


def aggregate(scores: Sequence[CaseScore]) -> Totals:
    expecting = [s for s in scores if not s.clean]
    return Totals(
        found=sum(s.issues_found for s in scores),
        expected=sum(s.expected for s in scores),
        findings=sum(s.findings for s in scores),
        noise=sum(s.noise for s in scores),
        false_alarms=sum(s.false_alarms for s in scores),
        changed_lines=sum(s.changed_lines for s in scores),
        cases=len(scores),
        matched=sum(s.findings - s.noise for s in expecting),
        findings_expecting=sum(s.findings for s in expecting),
        clean_cases=sum(1 for s in scores if s.clean),
        clean_flagged=sum(1 for s in scores if s.clean and s.findings),
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
        raise ConfigError(f'{path}: must be a JSON object like {{"must_find": [...], "must_not_flag": [...], "golden": [...]}}')
    _reject_unknown(data, ("must_find", "must_not_flag", "golden"), path, "")
    paths = {f.path for f in diff.files}
    golden = data.get("golden", [])
    if not isinstance(golden, list):
        raise ConfigError(f"{path}: golden must be a list of comments")
    return Expected(
        must_find=_targets(data, "must_find", ("path", "lines", "category"), path, paths),
        must_not_flag=_targets(data, "must_not_flag", ("path", "lines"), path, paths),
        golden=tuple(_golden(entry, path, f"golden[{i}]", paths) for i, entry in enumerate(golden)),
    )


def _golden(entry: Any, where: Path, at: str, paths: set[str]) -> Golden:
    if not isinstance(entry, dict):
        raise ConfigError(f'{where}: {at} must be an object like {{"comment": "...", "severity": "high"}}')
    _reject_unknown(entry, ("comment", "severity", "path", "lines"), where, at)
    comment, severity = entry.get("comment"), entry.get("severity")
    if not isinstance(comment, str) or not comment.strip():
        raise ConfigError(f"{where}: {at}.comment must be the reviewer's comment, as text")
    if severity not in GOLDEN_SEVERITIES:
        raise ConfigError(f"{where}: {at}.severity {severity!r} is not one of: {', '.join(GOLDEN_SEVERITIES)}")
    if "lines" in entry:  # checked as a must_find entry's would be
        located = _target({"path": entry.get("path"), "lines": entry["lines"]}, ("path", "lines"), where, at, paths)
        return Golden(comment.strip(), severity, located.path, (located.first, located.last))
    path = entry.get("path")
    if path is not None and path not in paths:
        raise ConfigError(f"{where}: {at}.path {path!r} is not a file in {DIFF_FILE} (files: {', '.join(sorted(paths))})")
    return Golden(comment.strip(), severity, path)


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
