"""`--format markdown`: the review as one Markdown document (for a PR comment or a file).

Everything from the model or the change (titles, bodies, paths, reasons, errors) is escaped
for where it sits, as on GitHub: the document may well be posted as a comment.
"""

from __future__ import annotations

from reviewer.publishers.terminal import footer
from reviewer.review import Review
from reviewer.safe_text import fence_for, inline_code, neutralise, one_line
from reviewer.vocabulary import SEVERITY


def render(review: Review, *, colour: bool = False) -> str:
    out = ["## Review", ""]
    if review.summary:
        out += [review.summary.markdown(), ""]
    if not review.findings and any(a.task == "review" for a in review.answered):
        out += ["No findings.", ""]
    for placed in review.findings:
        f = placed.finding
        span = f"{f.start_line}-{f.line}" if f.start_line else str(f.line)
        side = " (old file)" if f.side == "LEFT" else ""
        out += [f"### {SEVERITY[f.severity].icon} {f.severity}: {one_line(f.title)}", "", f"{inline_code(f'{f.path}:{span}')}{side} · {f.category}", ""]
        if f.body:
            out += [neutralise(f.body), ""]
        if f.suggestion:
            out += [fence_for(f.suggestion), ""]
    out += status_sections(review)
    out.append(f"<sub>{one_line(footer(review))}</sub>")
    return "\n".join(out) + "\n"


def status_sections(review: Review) -> list[str]:
    """What was not reviewed, what failed, and notes: as lists under headings (the GitHub summary has them too)."""
    out: list[str] = []
    if review.skipped:
        out += ["### Not reviewed", ""] + [f"- {inline_code(s.path)}: {one_line(s.reason)}" for s in review.skipped] + [""]
    if review.errors:
        out += ["### Errors", ""] + [f"- {one_line(e)}" for e in review.errors] + [""]
    if review.notes:
        out += ["### Notes", ""] + [f"- {one_line(n)}" for n in review.notes] + [""]
    return out
