"""A saved `reviewer eval --format json` run: scored again offline (`--replay`), or compared with (`--baseline`).

The saved file is the eval's own JSON output: every case's findings (with
their text) and the judge's matches, per variant and backend. Replaying it
reads the suite's expected.json again and sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.errors import ConfigError
from reviewer.evaluation import Case, CaseRun, VariantRun, score
from reviewer.findings import Finding

# (metric, whether higher is better): what a baseline comparison watches
WATCHED = (("recall", True), ("precision", True), ("false_positive_rate", False))


def read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read a saved eval run: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("variants"), list):
        raise ConfigError(f"{path}: not a saved eval run; save one with `reviewer eval SUITE --format json > {path.name}`")
    return document


def replay(document: Mapping[str, Any], cases: Sequence[Case], where: str) -> list[VariantRun]:
    """The saved answers scored against the suite as it is now; a verdict the judge never gave leaves its case unscored."""
    by_name = {c.name: c for c in cases}
    try:
        runs = []
        for v in document["variants"]:
            saved = tuple(_case_run(c, by_name, where) for c in v["cases"])
            # A case added to the suite since the run was saved has no answer to replay: unscored, and said so.
            added = tuple(
                CaseRun(c.name, None, (), 0, 0.0, 0.0, ("not in the saved run: run the suite without --replay to review it",))
                for c in cases
                if c.name not in {r.name for r in saved}
            )
            runs.append(VariantRun(str(v["name"]), saved + added, v.get("judge")))
        return runs
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: not a saved eval run ({type(exc).__name__}: {exc}); save one with --format json") from None


def _case_run(saved: Mapping[str, Any], cases: Mapping[str, Case], where: str) -> CaseRun:
    from reviewer import judge

    name = str(saved["name"])
    case = cases.get(name)
    if case is None:
        raise ConfigError(f"{where}: case {name!r} is not in the suite; replay a run against the suite it was made with")
    findings = tuple(_finding(f) for f in saved["findings"])
    run = CaseRun(
        name, None, findings, int(saved["prompt_tokens"]), float(saved["cost_usd"]), float(saved["seconds"]),
        tuple(str(e) for e in saved.get("errors", [])), tuple(saved.get("answered_by", [])),
        judge_prompt_tokens=int(saved.get("judge_prompt_tokens", 0)), judge_cost_usd=float(saved.get("judge_cost_usd", 0.0)),
    )
    if not saved["scored"]:
        return run  # the review itself failed when it ran: replaying cannot fill it in
    golden = tuple(g.comment for g in case.expected.golden)
    matches: tuple[tuple[int, int], ...] | None = ()
    if golden and findings:
        judged = saved.get("judged")
        recorded = saved.get("matches")
        matches = None
        if judged == list(golden) and isinstance(recorded, list):
            matches = judge.parse_matches(json.dumps({"matches": recorded}), len(findings), len(golden))
        if matches is None:
            why = "its golden comments changed since the run was saved: run the eval again without --replay to judge them"
            return _with_error(run, why)
    return CaseRun(
        run.name, score(_on_real_paths(findings, case), case.expected, case.changed_lines, matches or ()), findings, run.prompt_tokens, run.cost_usd,
        run.seconds, run.errors, run.answered_by, matches if golden else None, golden, run.judge_prompt_tokens, run.judge_cost_usd,
    )


def _on_real_paths(findings: tuple[Finding, ...], case: Case) -> tuple[Finding, ...]:
    """The findings on the files' paths (expected.json's): a run saves each by the name it was shown, redacted."""
    import dataclasses

    from reviewer.redact import redact_diff

    real = {f.name: f.path for f in redact_diff(case.diff)[0].files}
    return tuple(dataclasses.replace(f, path=real.get(f.path, f.path)) for f in findings)


def _with_error(run: CaseRun, error: str) -> CaseRun:
    import dataclasses

    return dataclasses.replace(run, errors=(*run.errors, error))


def _finding(saved: Mapping[str, Any]) -> Finding:
    start = saved.get("start_line")
    return Finding(
        path=str(saved["path"]),
        line=int(saved["line"]),
        side="LEFT" if saved.get("side") == "LEFT" else "RIGHT",
        severity=str(saved["severity"]),
        category=str(saved["category"]),
        title=str(saved["title"]),
        body=str(saved.get("body", "")),
        start_line=int(start) if start is not None else None,
        suggestion=saved.get("suggestion"),
    )


@dataclass(frozen=True)
class Delta:
    variant: str
    metric: str
    before: float | None
    after: float | None
    regression: bool


@dataclass(frozen=True)
class Comparison:
    file: str
    threshold: float
    deltas: tuple[Delta, ...]
    missing: tuple[str, ...]  # variants of this run that the baseline does not have

    @property
    def regressions(self) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if d.regression)


def compare(baseline: Mapping[str, Any], runs: Sequence[VariantRun], threshold: float, where: str) -> Comparison:
    """Each variant against the baseline's variant of the same name: a watched score that moved the wrong
    way by more than `threshold` (a share: 0.05 is 5 points) is a regression."""
    before = {str(v.get("name")): v for v in baseline["variants"] if isinstance(v, dict)}
    deltas: list[Delta] = []
    missing: list[str] = []
    for run in runs:
        old = before.get(run.name)
        if old is None:
            missing.append(run.name)
            continue
        totals = run.totals
        for metric, higher_is_better in WATCHED:
            was, now = old.get(metric), getattr(totals, metric)
            worse = False
            if isinstance(was, (int, float)) and now is not None:
                moved = (was - now) if higher_is_better else (now - was)
                worse = moved > threshold + 1e-9
            deltas.append(Delta(run.name, metric, was if isinstance(was, (int, float)) else None, now, worse))
    return Comparison(where, threshold, tuple(deltas), tuple(missing))
