"""Workflow-command annotations stay within what GitHub shows per step, most severe first."""

from __future__ import annotations

from reviewer.findings import Finding
from reviewer.placement import PlacedFinding, Placement
from reviewer.publishers.annotations import command, workflow_commands, write_step_summary


def placed(line: int, severity: str, side: str = "RIGHT", title: str = "t") -> PlacedFinding:
    return PlacedFinding(Finding("a.py", line, side, severity, "bug", title, "first\nsecond 100%"), Placement.LINE, f"{line:016x}")  # type: ignore[arg-type]


def test_ten_per_level_most_severe_first_and_a_note_for_the_rest() -> None:
    findings = [placed(n, "nit") for n in range(1, 6)] + [placed(n, "critical") for n in range(10, 25)]
    lines = workflow_commands(findings)
    levels = [line.split(" ", 1)[0].split("::")[1] for line in lines[:-1]]
    assert levels == ["error"] * 10 + ["notice"] * 5
    assert lines[-1].startswith("::notice::5 more findings are not shown")


def test_the_note_about_the_rest_is_never_itself_dropped() -> None:
    for findings in (
        [placed(n, "nit") for n in range(1, 16)],  # notices full: the note goes out as a warning
        [placed(n, s) for s in ("critical", "major", "nit") for n in range(1, 16)],  # every level full
    ):
        lines = workflow_commands(findings)
        levels = [line.split(" ", 1)[0].split("::")[1] for line in lines]
        assert all(levels.count(level) <= 10 for level in ("error", "warning", "notice"))
        shown = len(lines) - 1
        assert lines[-1].split("::")[2].startswith(f"{len(findings) - shown} more findings are not shown")


def test_messages_and_properties_are_escaped() -> None:
    line = command(placed(3, "major", title="a: b, c"))
    assert line == "::warning file=a.py,line=3,endLine=3,title=major · bug%3A a%3A b%2C c::first%0Asecond 100%25"
    assert command(placed(3, "minor", side="LEFT")).startswith("::notice file=a.py,title=")  # an old-file line has no place in the new file


def test_job_summary_is_appended_only_inside_actions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "summary.md"
    assert write_step_summary({}, "x") is False
    assert write_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, "one") and write_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, "two")
    assert target.read_text() == "one\ntwo\n"
