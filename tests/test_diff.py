"""The diff model against golden files made by real `git diff` runs (tests/data/diffs)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reviewer.diff import Diff, FileStatus, parse_diff, within

DATA = Path(__file__).parent / "data" / "diffs"
CASES = sorted(p.stem for p in DATA.glob("*.diff"))


def as_json(diff: Diff) -> list[dict[str, Any]]:
    def text(value: str) -> str:
        # Bytes that were not UTF-8 show as \xNN; long lines are summarised.
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return value if len(value) <= 120 else f"{value[:40]}…({len(value)} chars)"

    return [
        {
            "path": f.path,
            "old_path": f.old_path,
            "status": f.status.value,
            "binary": f.binary,
            "modes": [f.old_mode, f.new_mode],
            "hunks": [
                {
                    "header": h.header,
                    "lines": [[line.kind, line.old_no, line.new_no, text(line.text)] for line in h.lines],
                }
                for h in f.hunks
            ],
            "commentable": {side: sorted(f.commentable(side)) for side in ("RIGHT", "LEFT")},
        }
        for f in diff.files
    ]


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    parsed = as_json(parse_diff((DATA / f"{case}.diff").read_bytes()))
    golden = DATA / f"{case}.json"
    if os.environ.get("REVIEWER_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(parsed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert parsed == json.loads(golden.read_text(encoding="utf-8"))


def test_every_case_has_a_golden_file() -> None:
    assert {p.stem for p in DATA.glob("*.json")} == set(CASES)


def test_long_line_is_kept_whole() -> None:
    diff = parse_diff((DATA / "long_line.diff").read_bytes())
    added = [line for h in diff.files[0].hunks for line in h.lines if line.kind == "+"]
    assert len(added[0].text) == 102402


def test_non_utf8_bytes_survive_parsing() -> None:
    diff = parse_diff((DATA / "latin1.diff").read_bytes())
    added = [line.text for h in diff.files[0].hunks for line in h.lines if line.kind == "+"]
    assert added[0].encode("utf-8", "surrogateescape") == b"caf\xe9 cr\xe8me"


def test_hunk_lookup_per_side() -> None:
    diff = parse_diff((DATA / "modified.diff").read_bytes())
    f = diff.files[0]
    assert f.status is FileStatus.MODIFIED
    assert f.hunk_index("RIGHT", 5) == 0
    assert f.hunk_index("RIGHT", 31) == 1
    assert f.hunk_index("RIGHT", 20) is None
    assert f.hunk_index("LEFT", 5) == 0
    assert f.text_at("RIGHT", 5) == "line five"
    assert f.text_at("LEFT", 5) == "line 5"


def test_empty_input() -> None:
    assert parse_diff(b"").empty
    assert parse_diff("\n").files == ()


def test_within_keeps_only_the_pull_requests_hunks() -> None:
    """After a merge from the base, last-head → head also holds the base's changes: those go."""
    whole = parse_diff(
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
        "@@ -10,3 +10,4 @@\n ctx\n+pr line\n ctx\n ctx\n"
    )
    since_last = parse_diff(
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
        "@@ -2,2 +2,2 @@\n-base old\n+base new\n ctx\n"
        "@@ -10,3 +10,4 @@\n ctx\n+pr line\n ctx\n ctx\n"
        "diff --git a/other.py b/other.py\n--- a/other.py\n+++ b/other.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    kept = within(since_last, whole)
    assert [f.path for f in kept.files] == ["app.py"]
    assert [h.new_start for h in kept.files[0].hunks] == [10]
