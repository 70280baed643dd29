"""`reviewer eval` output: one row per variant, then one line per case; as text, JSON or Markdown."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from reviewer.evaluation import CaseRun, CaseScore, Totals, VariantRun

COLUMNS = (
    "variant", "recall", "noise", "false alarms", "findings/100 lines", "prompt tokens", "context tokens", "verify tokens", "verify cost",
    "cost", "time", "unscored",
)  # fmt: skip


def render(runs: Sequence[VariantRun], output_format: str) -> str:
    if output_format == "json":
        return to_json(runs)
    if output_format == "markdown":
        return to_markdown(runs)
    return to_text(runs)


def to_json(runs: Sequence[VariantRun]) -> str:
    return json.dumps({"variants": [_variant_json(r) for r in runs]}, indent=2) + "\n"


def to_markdown(runs: Sequence[VariantRun]) -> str:
    out = ["## Evaluation", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(_row(r)) + " |" for r in runs]
    out.append("")
    for run in runs:
        out += [f"### {run.name}", ""] + [f"- {line}" for case in run.cases for line in _case_lines(case)] + [""]
    return "\n".join(out)


def to_text(runs: Sequence[VariantRun]) -> str:
    from rich.console import Console
    from rich.table import Table

    from reviewer.commands.common import colour_ok

    table = Table(*COLUMNS)
    for run in runs:
        table.add_row(*_row(run))
    buffer = io.StringIO()
    colour = colour_ok()
    console = Console(file=buffer, width=140, force_terminal=colour, no_color=not colour, highlight=False)
    console.print(table)
    for run in runs:
        console.print(f"{run.name}:", style="bold", markup=False)
        for case in run.cases:
            first, *rest = _case_lines(case)
            console.print(f"  {first}", markup=False)
            for line in rest:
                console.print(f"      {line}", markup=False, style="dim")
    return buffer.getvalue()


def _row(run: VariantRun) -> list[str]:
    totals = run.totals
    return [
        run.name,
        _recall(totals),
        str(totals.noise),
        str(totals.false_alarms),
        "-" if totals.findings_per_100_lines is None else f"{totals.findings_per_100_lines:.1f}",
        f"{run.prompt_tokens:,}",
        f"{run.context_tokens:,}",
        f"{run.verify_tokens:,}",
        f"${run.verify_cost_usd:.4f}",
        f"${run.cost_usd:.4f}",
        f"{run.seconds:.1f}s",
        str(len(run.unscored)),
    ]


def _recall(totals: Totals) -> str:
    return "-" if totals.recall is None else f"{totals.recall:.0%} ({totals.found}/{totals.expected})"


def _case_lines(case: CaseRun) -> list[str]:
    """The case's result on the first line; below it what was missed and what went wrong."""
    cost = f"{case.prompt_tokens:,} tokens, ${case.cost_usd:.4f}, {case.seconds:.1f}s"
    if case.score is None:
        return [f"{case.name}: not scored ({cost})", *(f"error: {e}" for e in case.errors)]
    s = case.score
    found = f"found {len(s.found)}/{len(s.found) + len(s.missed)}, " if s.found or s.missed else ""
    head = f"{case.name}: {found}{s.findings} finding(s), noise {s.noise}, false alarms {s.false_alarms} ({cost})"
    return [head, *(f"missed {t.label()}" for t in s.missed), *(f"error: {e}" for e in case.errors)]


def _variant_json(run: VariantRun) -> dict[str, Any]:
    totals = run.totals
    return {
        "name": run.name,
        "recall": totals.recall,
        "noise": totals.noise,
        "false_alarms": totals.false_alarms,
        "findings_per_100_lines": totals.findings_per_100_lines,
        "prompt_tokens": run.prompt_tokens,
        "context_tokens": run.context_tokens,
        "verification_tokens": run.verify_tokens,
        "verification_cost_usd": round(run.verify_cost_usd, 6),
        "cost_usd": round(run.cost_usd, 6),
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
        "findings": [
            {"path": f.path, "line": f.line, "start_line": f.start_line, "side": f.side, "severity": f.severity, "category": f.category, "title": f.title}
            for f in case.findings
        ],
        "errors": list(case.errors),
    }


def _score_json(s: CaseScore | None) -> dict[str, Any]:
    """The case's score; an unscored case keeps the keys, null, so every case has the same shape."""
    keys = ("recall", "found", "expected", "missed", "noise", "false_alarms", "changed_lines")
    if s is None:
        return dict.fromkeys(keys)
    return {
        "recall": s.recall,
        "found": len(s.found),
        "expected": len(s.found) + len(s.missed),
        "missed": [{"path": t.path, "lines": [t.first, t.last], "category": t.category} for t in s.missed],
        "noise": s.noise,
        "false_alarms": s.false_alarms,
        "changed_lines": s.changed_lines,
    }
