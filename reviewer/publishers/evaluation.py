"""`reviewer eval` output: one row per variant (and a total), then one line per case; as text, JSON or Markdown.

Text fits 80 columns. JSON is also what `--replay` and `--baseline` read back:
every case keeps its findings with their text and the judge's matches.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from reviewer.eval_saved import Comparison
from reviewer.evaluation import CaseRun, CaseScore, Totals, VariantRun

COLUMNS = ("variant", "recall", "precision", "F1", "false pos", "per case", "cost", "time")
WIDTH = 80


def render(runs: Sequence[VariantRun], output_format: str, comparison: Comparison | None = None) -> str:
    if output_format == "json":
        return to_json(runs, comparison)
    if output_format == "markdown":
        return to_markdown(runs, comparison)
    return to_text(runs, comparison)


def to_json(runs: Sequence[VariantRun], comparison: Comparison | None = None) -> str:
    document: dict[str, Any] = {"variants": [_variant_json(r) for r in runs]}
    if len(runs) > 1:
        document["total"] = _totals_json(_total(runs).totals)
    if comparison is not None:
        document["baseline"] = _comparison_json(comparison)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_markdown(runs: Sequence[VariantRun], comparison: Comparison | None = None) -> str:
    out = ["## Evaluation", "", _judge_line(runs), "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(_row(r)) + " |" for r in _with_total(runs)]
    out.append("")
    for run in runs:
        out += [f"### {run.name}", "", _spend(run), ""] + [f"- {line}" for case in run.cases for line in _case_lines(case)] + [""]
    if comparison is not None:
        out += [f"### {_comparison_head(comparison)}", ""] + [f"- {line}" for line in _comparison_lines(comparison)] + [""]
    return "\n".join(out)


def to_text(runs: Sequence[VariantRun], comparison: Comparison | None = None) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from reviewer.commands.common import colour_ok

    table = Table(*COLUMNS, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    for column in table.columns[1:]:
        column.justify = "right"
    for run in _with_total(runs):
        table.add_row(*_row(run))
    buffer = io.StringIO()
    colour = colour_ok()
    console = Console(file=buffer, width=WIDTH, force_terminal=colour, no_color=not colour, highlight=False)
    console.print(_judge_line(runs), markup=False)
    console.print(table)
    for run in runs:
        console.print(f"{run.name}: {_spend(run)}", style="bold", markup=False)
        for case in run.cases:
            first, *rest = _case_lines(case)
            console.print(f"  {first}", markup=False)
            for line in rest:
                console.print(f"      {line}", markup=False, style="dim")
    if comparison is not None:
        console.print(_comparison_head(comparison), style="bold", markup=False)
        for line in _comparison_lines(comparison):
            console.print(f"  {line}", markup=False, style="red" if "REGRESSION" in line else None)
    return buffer.getvalue()


def _judge_line(runs: Sequence[VariantRun]) -> str:
    judge = next((r.judge for r in runs if r.judge), None)
    if judge is None:
        return "judge: none (no case has golden comments)"
    cost = sum(r.judge_cost_usd for r in runs)
    tokens = sum(c.judge_prompt_tokens for r in runs for c in r.cases)
    return f"judge: {judge} · {tokens:,} prompt tokens · ${cost:.4f}"


def _total(runs: Sequence[VariantRun]) -> VariantRun:
    return VariantRun("total", tuple(c for r in runs for c in r.cases))


def _with_total(runs: Sequence[VariantRun]) -> list[VariantRun]:
    return [*runs, _total(runs)] if len(runs) > 1 else list(runs)


def _row(run: VariantRun) -> list[str]:
    totals = run.totals
    unscored = f" ({len(run.unscored)} unscored)" if run.unscored else ""
    return [
        run.name + unscored,
        _share(totals.recall, totals.found, totals.expected),
        _share(totals.precision, totals.matched, totals.findings_expecting),
        "-" if totals.f1 is None else f"{totals.f1:.2f}",
        _share(totals.false_positive_rate, totals.clean_flagged, totals.clean_cases),
        "-" if totals.findings_per_case is None else f"{totals.findings_per_case:.1f}",
        f"${run.cost_usd:.4f}",
        f"{run.seconds:.1f}s",
    ]


def _spend(run: VariantRun) -> str:
    """What the variant's prompts spent on code context and on the verification pass (both in its cost)."""
    return f"{run.context_tokens:,} context tokens · verification {run.verify_tokens:,} tokens, ${run.verify_cost_usd:.4f}"


def _share(value: float | None, part: int, whole: int) -> str:
    return "-" if value is None else f"{value:.0%} {part}/{whole}"


def _case_lines(case: CaseRun) -> list[str]:
    """The case's result on the first line; below it what was missed and what went wrong."""
    cost = f"{case.prompt_tokens:,} tokens, ${case.cost_usd:.4f}, {case.seconds:.1f}s"
    if case.score is None:
        return [f"{case.name}: not scored", cost, *(f"error: {e}" for e in case.errors)]
    s = case.score
    found = f"found {s.issues_found}/{s.expected}, " if s.expected else "clean, "
    head = f"{case.name}: {found}{s.findings} finding(s), noise {s.noise}, false alarms {s.false_alarms}"
    missed_golden = [g for i, g in enumerate(case.judged) if i not in s.golden_found]
    return [
        head,
        cost,
        *(f"missed {t.label()}" for t in s.missed),
        *(f"missed: {_clip(g)}" for g in missed_golden),
        *(f"error: {e}" for e in case.errors),
    ]


def _clip(text: str, width: int = 64) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _comparison_head(comparison: Comparison) -> str:
    return f"baseline {comparison.file} (a regression: a fall or rise of more than {comparison.threshold:.0%}):"


def _comparison_lines(comparison: Comparison) -> list[str]:
    lines = []
    for d in comparison.deltas:
        if d.before is None and d.after is None:
            continue
        was = "-" if d.before is None else f"{d.before:.0%}"
        now = "-" if d.after is None else f"{d.after:.0%}"
        lines.append(f"{d.variant} {d.metric.replace('_', ' ')}: {was} -> {now}{'  REGRESSION' if d.regression else ''}")
    lines += [f"{name}: not in the baseline" for name in comparison.missing]
    return lines


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "recall": totals.recall,
        "precision": totals.precision,
        "f1": totals.f1,
        "false_positive_rate": totals.false_positive_rate,
        "found": totals.found,
        "expected": totals.expected,
        "findings": totals.findings,
        "findings_per_case": totals.findings_per_case,
        "noise": totals.noise,
        "false_alarms": totals.false_alarms,
        "findings_per_100_lines": totals.findings_per_100_lines,
    }


def _variant_json(run: VariantRun) -> dict[str, Any]:
    return {
        "name": run.name,
        **_totals_json(run.totals),
        "judge": run.judge,
        "prompt_tokens": run.prompt_tokens,
        "context_tokens": run.context_tokens,
        "verification_tokens": run.verify_tokens,
        "verification_cost_usd": round(run.verify_cost_usd, 6),
        "cost_usd": round(run.cost_usd, 6),
        "judge_cost_usd": round(run.judge_cost_usd, 6),
        "seconds": round(run.seconds, 3),
        "cases_scored": len(run.cases) - len(run.unscored),
        "cases_unscored": len(run.unscored),
        "cases": [_case_json(c) for c in run.cases],
    }


def _case_json(case: CaseRun) -> dict[str, Any]:
    return {
        "name": case.name,
        "scored": case.score is not None,
        **_score_json(case.score),
        "prompt_tokens": case.prompt_tokens,
        "context_tokens": case.context_tokens,
        "verification_tokens": case.verify_tokens,
        "verification_cost_usd": round(case.verify_cost_usd, 6),
        "cost_usd": round(case.cost_usd, 6),
        "seconds": round(case.seconds, 3),
        "answered_by": list(case.answered_by),
        "findings": [
            {
                "path": f.path, "line": f.line, "start_line": f.start_line, "side": f.side, "severity": f.severity,
                "category": f.category, "title": f.title, "body": f.body, "suggestion": f.suggestion,
            }
            for f in case.findings
        ],
        # What the judge saw and said, so that --replay can score the case again without asking it.
        "judged": list(case.judged) if case.matches is not None else None,
        "matches": [{"finding": f"F{f + 1}", "golden": f"G{g + 1}"} for f, g in case.matches] if case.matches is not None else None,
        "judge_prompt_tokens": case.judge_prompt_tokens,
        "judge_cost_usd": round(case.judge_cost_usd, 6),
        "errors": list(case.errors),
    }


def _score_json(s: CaseScore | None) -> dict[str, Any]:
    """The case's score; an unscored case keeps the keys, null, so every case has the same shape."""
    keys = ("recall", "found", "expected", "missed", "golden", "golden_found", "noise", "false_alarms", "changed_lines", "clean")
    if s is None:
        return dict.fromkeys(keys)
    return {
        "recall": s.recall,
        "found": s.issues_found,
        "expected": s.expected,
        "missed": [{"path": t.path, "lines": [t.first, t.last], "category": t.category} for t in s.missed],
        "golden": s.golden,
        "golden_found": [f"G{g + 1}" for g in s.golden_found],
        "noise": s.noise,
        "false_alarms": s.false_alarms,
        "changed_lines": s.changed_lines,
        "clean": s.clean,
    }


def _comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "file": comparison.file,
        "threshold": comparison.threshold,
        "regressions": [{"variant": d.variant, "metric": d.metric, "before": d.before, "after": d.after} for d in comparison.regressions],
        "missing": list(comparison.missing),
    }
