"""`--format markdown`: the review as one Markdown document (for a PR comment or a file)."""

from __future__ import annotations

from reviewer.publishers.terminal import footer
from reviewer.review import Review

_ICONS = {"critical": "🔴", "major": "🟠", "minor": "🟡", "nit": "⚪"}


def render(review: Review) -> str:
    out = ["## Review", ""]
    if review.summary:
        out += [review.summary.markdown(), ""]
    if not review.findings and any(a.task == "review" for a in review.answered):
        out += ["No findings.", ""]
    for placed in review.findings:
        f = placed.finding
        span = f"{f.start_line}-{f.line}" if f.start_line else str(f.line)
        side = " (old file)" if f.side == "LEFT" else ""
        out += [f"### {_ICONS[f.severity]} {f.severity}: {f.title}", "", f"`{f.path}:{span}`{side} · {f.category}", ""]
        if f.body:
            out += [f.body, ""]
        if f.suggestion:
            out += ["```", f.suggestion, "```", ""]
    if review.skipped:
        out += ["### Not reviewed", ""] + [f"- `{s.path}`: {s.reason}" for s in review.skipped] + [""]
    if review.notes:
        out += ["### Notes", ""] + [f"- {n}" for n in review.notes] + [""]
    if review.errors:
        out += ["### Errors", ""] + [f"- {e}" for e in review.errors] + [""]
    out.append(f"<sub>{footer(review)}</sub>")
    return "\n".join(out) + "\n"
