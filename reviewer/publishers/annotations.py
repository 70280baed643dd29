"""`--format github` and the read-only fallback: workflow-command annotations and a job summary.

GitHub shows at most 10 annotations of each level per step and 50 per job,
and drops the rest silently, so we choose which ones it shows (most severe
first) and say how many were left out. The job summary is capped below its
1 MiB per-step limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.placement import PlacedFinding
from reviewer.safe_text import printable
from reviewer.vocabulary import SEVERITY, severity_rank

if TYPE_CHECKING:
    from reviewer.review import Review

PER_LEVEL = 10
PER_JOB = 50
STEP_SUMMARY_LIMIT = 1024 * 1024 - 4096  # GitHub's cap per step, with headroom


def workflow_commands(findings: Iterable[PlacedFinding], elsewhere: str | None = None) -> list[str]:
    """`::error file=…,line=…::message` lines, most severe first, within GitHub's per-step limits.

    `elsewhere` names where every finding can be read, when the caller wrote one (the job summary).
    """
    ordered = sorted(findings, key=lambda p: (severity_rank(p.finding.severity), p.finding.path, p.finding.line))
    counts: dict[str, int] = {}
    lines: list[str] = []
    left_out = 0
    for placed in ordered:
        level = SEVERITY[placed.finding.severity].annotation_level
        if counts.get(level, 0) >= PER_LEVEL or len(lines) >= PER_JOB:
            left_out += 1
            continue
        counts[level] = counts.get(level, 0) + 1
        lines.append(command(placed))
    if left_out:
        # The note takes a slot too: at a level with room, else in place of the least severe annotation.
        room = [lv for lv in ("notice", "warning", "error") if counts.get(lv, 0) < PER_LEVEL]
        if not room or len(lines) >= PER_JOB:
            lines.pop()
            left_out += 1
        level = room[0] if room else "notice"
        message = f"{left_out} more findings are not shown as annotations (GitHub shows {PER_LEVEL} per level per step)"
        message += f"; see {elsewhere}" if elsewhere else "; `--format text` or `--format json` lists them all"
        lines.append(f"::{level}::{_data(message)}")
    return lines


def command(placed: PlacedFinding) -> str:
    f = placed.finding
    props = {"file": f.path}
    # A LEFT line counts in the old file; an annotation points into the new one, so it gets the file only.
    if f.side == "RIGHT":
        props["line"] = str(f.start_line or f.line)
        props["endLine"] = str(f.line)
    props["title"] = f"{f.severity} · {f.category}: {f.title}"
    rendered = ",".join(f"{k}={_property(v)}" for k, v in props.items())
    return f"::{SEVERITY[f.severity].annotation_level} {rendered}::{_data(f.body or f.title)}"


def render(review: Review, *, colour: bool = False) -> str:
    lines = workflow_commands(review.findings)
    return "\n".join(lines) + "\n" if lines else ""


def write_step_summary(environ: Mapping[str, str], markdown: str) -> bool:
    """Append to `$GITHUB_STEP_SUMMARY`; False outside Actions."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    if len(markdown.encode()) > STEP_SUMMARY_LIMIT:
        markdown = markdown.encode()[:STEP_SUMMARY_LIMIT].decode("utf-8", "ignore") + "\n\n… (cut at GitHub's job summary limit)\n"
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(markdown + "\n")
    return True


def _data(text: str) -> str:
    """A workflow command's message: one line of the log, so no line break, and no control character
    (the log renders escape sequences); `printable` has already turned a carriage return into `\\r`."""
    return printable(text).replace("%", "%25").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
