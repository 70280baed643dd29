"""`reviewer cost`: what the runs saved with `reviewer pr --output` cost, month by month, and on other models.

A saved file holds the run's usage and cost as `--format json` prints them, and when it was saved
(older files: their modification time). Every file is read as `reviewer publish` reads it: checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from reviewer.backends.base import Usage
from reviewer.diff import display_path
from reviewer.errors import ExitCode
from reviewer.safe_text import printable


@dataclass
class Month:
    month: str  # YYYY-MM, UTC
    runs: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "output_format", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format.")
def cost(paths: tuple[Path, ...], output_format: str) -> int:
    """Sum the runs saved with `reviewer pr --output FILE` (files, or folders of them) by month.

    Each month shows runs, requests, tokens and cost, and what the same tokens would have
    cost on other models at their list prices (a dated table).
    """
    from reviewer.github.saved import NotSaved, OtherVersion, read
    from reviewer.pricing import OTHER_MODELS, OTHERS_AS_OF, compare

    months: dict[str, Month] = {}
    not_saved: list[Path] = []
    other_versions: list[Path] = []
    for path, named in _files(paths):
        try:
            saved = read(path)
        except (NotSaved, OtherVersion) as exc:
            if named:  # a file you named must be one this version reads; a folder may hold other JSON (a package.json)
                raise
            (other_versions if isinstance(exc, OtherVersion) else not_saved).append(path)
            continue
        when = saved.saved_at or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)  # older files say nothing
        key = when.strftime("%Y-%m")
        month = months.setdefault(key, Month(key))
        month.runs += 1
        month.usage += saved.pull_review.review.usage
        month.cost_usd += saved.pull_review.review.cost_usd
    if not_saved:
        click.echo(f"reviewer: not counted, not saved reviews: {_listed(not_saved)}", err=True)
    if other_versions:  # runs that were paid for: the sum is printed, and said to be short of them (exit 3)
        click.echo(f"reviewer: not counted, saved by another version of reviewer: {_listed(other_versions)}", err=True)
    rows = [months[key] for key in sorted(months)]
    total = Month("total", sum(m.runs for m in rows), sum((m.usage for m in rows), Usage()), sum(m.cost_usd for m in rows))
    models = tuple(OTHER_MODELS)
    if output_format == "json":
        document = {"prices_as_of": OTHERS_AS_OF, "months": [_as_dict(m, models) for m in rows], "total": _as_dict(total, models)}
        click.echo(json.dumps(document, indent=2))
        return ExitCode.INCOMPLETE if other_versions else 0
    names = [OTHER_MODELS[m][0] for m in models]
    header = ["month", "runs", "requests", "prompt tokens", "cached", "output tokens", "cost", *(f"on {n}" for n in names)]
    table = [header]
    for m in [*rows, total]:
        others = [f"${c.cost_usd:,.2f}" for c in compare(m.usage, models)]
        cached = m.usage.cached_prompt_tokens / m.usage.prompt_tokens if m.usage.prompt_tokens else 0.0
        table.append([m.month, str(m.runs), f"{m.usage.requests:,}", f"{m.usage.prompt_tokens:,}", f"{cached:.0%}",
                      f"{m.usage.completion_tokens:,}", f"${m.cost_usd:,.2f}", *others])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
    click.echo(f"(other models at their list prices of {OTHERS_AS_OF}, on these runs' own token counts)")
    return ExitCode.INCOMPLETE if other_versions else 0


def _listed(paths: list[Path]) -> str:
    shown = ", ".join(printable(display_path(str(p)), newlines=False) for p in paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _files(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Each file to read, and whether it was named (rather than found in a folder named)."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        # In a folder, files only: a folder named `schemas.json`, or a link to nothing, is no run and not worth a stop.
        found += [(p, False) for p in sorted(path.rglob("*.json")) if p.is_file()] if path.is_dir() else [(path, True)]
    return found


def _as_dict(month: Month, models: tuple[str, ...]) -> dict[str, Any]:
    from dataclasses import asdict

    from reviewer.pricing import compare

    return {
        "month": month.month, "runs": month.runs, "usage": asdict(month.usage), "cost_usd": round(month.cost_usd, 6),
        "on_other_models": {m: round(c.cost_usd, 6) for m, c in zip(models, compare(month.usage, models), strict=True)},
    }
