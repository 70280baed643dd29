"""Chunks that fit a request, with every hunk in exactly one chunk."""

from __future__ import annotations

from reviewer.budget import estimate_tokens, plan_chunks
from reviewer.diff import FileDiff, FileStatus, Hunk, Line


def file_with_hunks(path: str, hunks: int, lines_per_hunk: int = 50) -> FileDiff:
    made = []
    for h in range(hunks):
        start = h * 1000 + 1
        lines = tuple(Line("+", f"{path} hunk {h} line {i} " + "x" * 40, None, start + i) for i in range(lines_per_hunk))
        made.append(Hunk(start, 0, start, lines_per_hunk, "", lines))
    return FileDiff(path, None, FileStatus.MODIFIED, tuple(made))


def test_small_files_share_a_chunk() -> None:
    chunks = plan_chunks([file_with_hunks("a", 1, 5), file_with_hunks("b", 1, 5)], 10_000)
    assert len(chunks) == 1 and chunks[0].paths == ("a", "b")


def test_budget_is_respected_and_nothing_is_lost() -> None:
    files = [file_with_hunks(f"f{n}", 4) for n in range(5)]
    budget = 2_000
    chunks = plan_chunks(files, budget)
    assert len(chunks) > 5  # large files were split at hunk boundaries
    assert all(c.tokens <= budget for c in chunks)
    seen = sorted((f.path, h.new_start) for c in chunks for f in c.files for h in f.hunks)
    assert seen == sorted((f.path, h.new_start) for f in files for h in f.hunks)


def test_one_huge_hunk_travels_alone() -> None:
    chunks = plan_chunks([file_with_hunks("big", 1, 2000), file_with_hunks("small", 1, 2)], 1_000)
    assert [c.paths for c in chunks] == [("big",), ("small",)]


def test_estimate() -> None:
    assert estimate_tokens("") == 0
    assert 300 <= estimate_tokens("x" * 1000) <= 400
