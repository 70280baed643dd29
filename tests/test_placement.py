"""Placing findings on the diff: LINE, FILE, OUTSIDE; start lines GitHub accepts; stable fingerprints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reviewer.diff import Diff, parse_diff
from reviewer.findings import Finding
from reviewer.placement import Placement, place_one

DIFF = parse_diff((Path(__file__).parent / "data" / "diffs" / "modified.diff").read_bytes())


def finding(**kw: object) -> Finding:
    base: dict[str, object] = {"path": "app.py", "line": 5, "side": "RIGHT", "severity": "major", "category": "bug", "title": "t", "body": "b"}
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_on_an_added_line() -> None:
    placed = place_one(finding(), DIFF)
    assert placed.placement is Placement.LINE and placed.anchored


def test_on_a_context_line_right_side() -> None:
    assert place_one(finding(line=7), DIFF).placement is Placement.LINE


def test_removed_line_is_left_side_only() -> None:
    assert place_one(finding(line=30, side="LEFT"), DIFF).placement is Placement.LINE
    assert place_one(finding(line=34, side="LEFT"), DIFF).placement is Placement.FILE  # past the old hunk


def test_off_the_diff_is_file_level() -> None:
    placed = place_one(finding(line=20), DIFF)
    assert placed.placement is Placement.FILE and not placed.anchored


def test_unknown_file_is_outside() -> None:
    assert place_one(finding(path="other.py"), DIFF).placement is Placement.OUTSIDE


def test_path_with_diff_prefix_or_partial_path_is_resolved() -> None:
    assert place_one(finding(path="b/app.py"), DIFF).finding.path == "app.py"


def test_start_line_in_another_hunk_is_clamped_to_this_hunk() -> None:
    placed = place_one(finding(line=31, start_line=5), DIFF)
    assert placed.placement is Placement.LINE
    assert placed.finding.start_line == 27  # the first line of line 31's hunk


def test_start_line_in_the_same_hunk_is_kept() -> None:
    placed = place_one(finding(line=31, start_line=29, suggestion="fixed\nlines\nhere"), DIFF)
    assert placed.finding.start_line == 29
    assert placed.finding.suggestion == "fixed\nlines\nhere"


def test_a_one_line_range_keeps_its_suggestion() -> None:
    placed = place_one(finding(line=5, start_line=5, suggestion="line five fixed"), DIFF)
    assert placed.finding.start_line is None and placed.finding.suggestion == "line five fixed"


def test_a_suggestion_is_dropped_when_its_range_had_to_change() -> None:
    """Applied to a narrower range than the model wrote it for, a suggestion would corrupt the file."""
    placed = place_one(finding(line=31, start_line=5, suggestion="replacement for 5..31"), DIFF)
    assert placed.finding.start_line == 27
    assert placed.finding.suggestion is None


def test_fingerprint_ignores_prose_but_not_code_or_category() -> None:
    a = place_one(finding(title="Null deref", body="x"), DIFF)
    b = place_one(finding(title="Possible None dereference here", body="y", severity="critical"), DIFF)
    assert a.fingerprint == b.fingerprint
    assert place_one(finding(category="security"), DIFF).fingerprint != a.fingerprint
    assert place_one(finding(line=31), DIFF).fingerprint != a.fingerprint


def test_fingerprint_survives_the_line_moving() -> None:
    """The same code at another line number (lines inserted above) keeps its fingerprint."""
    original = DIFF.files[0]
    shifted = dataclasses.replace(
        original,
        hunks=tuple(
            dataclasses.replace(
                h, lines=tuple(dataclasses.replace(ln, new_no=ln.new_no + 10 if ln.new_no else None) for ln in h.lines)
            )
            for h in original.hunks
        ),
    )
    a = place_one(finding(line=5), DIFF)
    b = place_one(finding(line=15), Diff((shifted,)))
    assert b.placement is Placement.LINE
    assert a.fingerprint == b.fingerprint
