"""`--format text`: `path:line: severity: title`, the body indented below; colour on a TTY only.

The model's text, paths and reasons are printed with every control character shown as an escape
(`printable`): an answer cannot erase or forge lines, or write the clipboard, through the terminal.
"""

from __future__ import annotations

import click

from reviewer.review import Review
from reviewer.safe_text import printable
from reviewer.vocabulary import SEVERITY, Usage

NOT_REVIEWED = "not reviewed: "  # how review.run_review words the skip of a failed request


def render(review: Review, *, colour: bool = False) -> str:
    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if colour else text  # type: ignore[arg-type]

    out: list[str] = []
    for placed in review.findings:
        f = placed.finding
        where = f"{printable(f.path, newlines=False)}:{f.line}" + (" (old)" if f.side == "LEFT" else "")
        if not placed.anchored:
            where += " (not on a changed line)"
        out.append(f"{style(where, bold=True)}: {style(f.severity, fg=SEVERITY[f.severity].colour, bold=True)}: {printable(f.title, newlines=False)}")
        for line in printable(f.body).splitlines():
            out.append(f"    {line}")
        if f.suggestion:
            out.append("    suggested:")
            out += [f"    | {line}" for line in printable(f.suggestion).splitlines()]
        out.append("")
    if review.summary:
        out += [printable(review.summary.markdown())]
    if not review.findings and any(a.task == "review" for a in review.answered):
        out.append(style("No findings.", fg="green"))
    # A failed request leaves its files "not reviewed: <the error>": said once, on the error's line.
    failed: dict[str, list[str]] = {e: [] for e in review.errors}
    for s in review.skipped:
        error = s.reason.removeprefix(NOT_REVIEWED)
        if s.reason.startswith(NOT_REVIEWED) and error in failed:
            failed[error].append(s.path)
        else:
            out.append(style(printable(f"skipped {s.path}: {s.reason}", newlines=False), dim=True))
    if len({a.backend for a in review.answered}) > 1:  # routes or a fallback split the work: say who did what
        for a in review.answered:
            out.append(style(printable(f"{a.task} of {', '.join(a.paths)}: answered by {a.backend} ({a.model})", newlines=False), dim=True))
    for note in review.notes:
        out.append(style(printable(f"note: {note}"), fg="yellow"))
    for error, paths in failed.items():
        unreviewed = f" (not reviewed: {', '.join(paths)})" if paths else ""
        out.append(style(printable(f"error: {error}{unreviewed}"), fg="red"))
    out.append(style(printable(footer(review)), dim=True))
    return "\n".join(out) + "\n"


def footer(review: Review) -> str:
    by = sorted({f"{a.backend} ({a.model})" for a in review.answered})
    answered = f" by {', '.join(by)}" if by else ""
    return f"{usage_line(review.usage)}{answered} · {cost_line(review)}"


def cost_line(review: Review) -> str:
    """The cost, never a made-up $0: an unpriced backend's share is unknown; DeepSeek's rate is named."""
    unpriced = sorted({a.backend for a in review.answered if a.rate == "unknown"})
    if unpriced and len(unpriced) == len({a.backend for a in review.answered}):
        return f"cost unknown (no price for {', '.join(unpriced)}: set price_input and price_output)"
    rates = sorted({a.rate for a in review.answered if a.rate in ("peak", "off-peak")}, reverse=True)
    line = f"cost ${review.cost_usd:.4f}"
    if unpriced:
        line += f" + unknown for {', '.join(unpriced)}"
    if rates:
        line += f" at DeepSeek's {' and '.join(rates)} rate{'s' if len(rates) > 1 else ''}"
    return line


def usage_line(usage: Usage) -> str:
    return (
        f"{usage.requests} request{'s' if usage.requests != 1 else ''} · "
        f"{usage.prompt_tokens:,} prompt tokens ({usage.cached_prompt_tokens:,} cached) · "
        f"{usage.completion_tokens:,} output ({usage.reasoning_tokens:,} reasoning)"
    )
