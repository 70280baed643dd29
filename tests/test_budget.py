"""Chunks that fit a request, with every hunk in exactly one chunk, balanced over the requests in flight."""

from __future__ import annotations

from reviewer.budget import expected_output_tokens, plan_chunks
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


def changed_lines(files: list[FileDiff]) -> list[tuple[str, str, int | None, int | None]]:
    return sorted((f.path, line.kind, line.old_no, line.new_no) for f in files for h in f.hunks for line in h.lines)


def numbered(kinds: list[str], start: int) -> list[Line]:
    """Lines numbered as git numbers them: context on both sides, removed on the old side, added on the new side."""
    lines, old, new = [], start, start
    for i, kind in enumerate(kinds):
        lines.append(Line(kind, f"line {i} " + "y" * 60, None if kind == "+" else old, None if kind == "-" else new))  # type: ignore[arg-type]
        old += kind != "+"
        new += kind != "-"
    return lines


def test_a_hunk_over_the_budget_is_split_by_lines_into_hunks_that_fit() -> None:
    big = file_with_hunks("big", 1, 2000)
    mixed = FileDiff("mixed", None, FileStatus.MODIFIED, (Hunk(10, 400, 10, 400, "def f():", tuple(numbered([" ", "-", "+"] * 200, 10))),))
    budget = 1_000
    chunks = plan_chunks([big, file_with_hunks("small", 1, 2), mixed], budget)
    assert len(chunks) > 10
    assert all(c.tokens <= budget for c in chunks)
    sent = [f for c in chunks for f in c.files]
    assert changed_lines(sent) == changed_lines([big, file_with_hunks("small", 1, 2), mixed])  # each line once, none lost
    for f in sent:  # every piece is a hunk whose header counts its own lines from where the previous piece stopped
        for h in f.hunks:
            assert h.old_len == sum(1 for line in h.lines if line.kind != "+")
            assert h.new_len == sum(1 for line in h.lines if line.kind != "-")
            first_new = next((line.new_no for line in h.lines if line.new_no is not None), None)
            assert first_new is None or first_new == h.new_start
            first_old = next((line.old_no for line in h.lines if line.old_no is not None), None)
            assert first_old is None or first_old == h.old_start


def test_one_enormous_line_is_one_clipped_request() -> None:
    """A minified 54 MB line costs what the renderer keeps of it, not 18M tokens."""
    huge = FileDiff("bundle.js", None, FileStatus.ADDED, (Hunk(0, 0, 1, 1, "", (Line("+", "x" * 5_000_000, None, 1),)),))
    [chunk] = plan_chunks([huge], 1_000)
    assert chunk.tokens <= 1_000


def test_a_large_change_fills_every_slot_with_near_equal_chunks() -> None:
    files = [file_with_hunks(f"pkg/m{n:02}.py", 1, 30 + (n * 37) % 200) for n in range(60)]
    chunks = plan_chunks(files, 60_000, slots=8, min_tokens=2_000)
    assert len(chunks) == 8
    sizes = [c.tokens for c in chunks]
    assert max(sizes) <= 1.25 * (sum(sizes) / len(sizes))  # the slowest request is close to the average
    assert all(len(f.hunks) == 1 for c in chunks for f in c.files)  # every file kept whole: each fits
    order = [f.path for c in chunks for f in c.files]
    assert order == sorted(order)  # files stay in path order, a directory's files side by side
    assert changed_lines([f for c in chunks for f in c.files]) == changed_lines(files)


def test_more_than_one_round_is_whole_rounds() -> None:
    files = [file_with_hunks(f"f{n:02}", 1, 100) for n in range(40)]
    one_file = plan_chunks(files[:1], 10**6).__getitem__(0).tokens
    chunks = plan_chunks(files, max_tokens=4 * one_file, slots=4)  # 10 chunks needed: 12, three full rounds
    assert len(chunks) == 12
    assert all(c.tokens <= 4 * one_file for c in chunks)


def test_the_smallest_useful_chunk_bounds_the_split() -> None:
    files = [file_with_hunks(f"f{n}", 1, 40) for n in range(6)]
    total = plan_chunks(files, 10**6)[0].tokens
    assert len(plan_chunks(files, 10**6, slots=8, min_tokens=total // 2)) == 2  # not 8 chunks of a few lines
    assert len(plan_chunks(files, 10**6, slots=8, min_tokens=total)) == 1


def test_a_file_larger_than_an_even_share_is_split_at_hunks() -> None:
    big = file_with_hunks("big", 8, 50)
    small = [file_with_hunks(f"s{n}", 1, 50) for n in range(8)]
    chunks = plan_chunks([big, *small], 10**6, slots=4, min_tokens=100)
    assert len(chunks) == 4
    sizes = [c.tokens for c in chunks]
    assert max(sizes) <= 1.3 * min(sizes)
    assert changed_lines([f for c in chunks for f in c.files]) == changed_lines([big, *small])


def test_expected_output_grows_with_effort_and_size() -> None:
    assert expected_output_tokens("none", 2_000) < expected_output_tokens("high", 2_000) < expected_output_tokens("max", 2_000)
    assert expected_output_tokens("high", 40_000) > 2 * expected_output_tokens("high", 2_000)
    assert expected_output_tokens("high", 2_000, files=10) > expected_output_tokens("high", 2_000)
