"""Token estimates, and chunks of the diff that each fit one request.

Every changed line of every selected file lands in exactly one chunk, so a
large change is reviewed in full, in parallel requests, never sent as one
request over the budget.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from dataclasses import dataclass

from reviewer.diff import FileDiff, Hunk, Line
from reviewer.diff_text import line_tokens, render_file
from reviewer.tokens import Count
from reviewer.tokens import count as count_tokens


@dataclass(frozen=True)
class Chunk:
    files: tuple[FileDiff, ...]
    tokens: int  # estimated tokens of the rendered diff

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))


def plan_chunks(
    files: tuple[FileDiff, ...] | list[FileDiff],
    max_tokens: int,
    *,
    slots: int = 1,
    min_tokens: int = 0,
    count: Count = count_tokens,
) -> tuple[Chunk, ...]:
    """Chunks of the diff of near-equal size, each at most `max_tokens`, in file order.

    A change large enough is cut into at least `slots` chunks (the requests that can be
    in flight at once), never into chunks under `min_tokens`, and into whole rounds of
    `slots` when it takes more than one: the slowest request is then close to the average.
    Files stay in diff order (by path), so a directory's files share a chunk. A cut falls
    between files where that keeps the chunks within a few percent of an even share, else
    between hunks of a file, or inside a large hunk between lines. Every changed line is in
    exactly one chunk. `count` is reviewer.tokens.count, or one that knows some of its answers already.
    """
    pieces = [piece for index, file in enumerate(files) for piece in _pieces(index, file, count)]
    total = sum(p.tokens for p in pieces)
    if not total:
        return (Chunk(tuple(files), 0),) if files else ()
    wanted = _chunk_count(total, max_tokens, slots, min_tokens)
    # With requests in parallel, a hunk larger than a sixteenth of a share is cut into runs of lines, so that
    # a cut can fall within ~3% of where an even split would; runs that land in one chunk are joined again.
    grain = min(max_tokens, max(total // (16 * wanted), 500)) if slots > 1 else max_tokens
    pieces = [p for piece in pieces for p in ([piece] if piece.tokens <= grain else _lines(piece, grain, count))]
    return tuple(_chunk(group) for group in _partition(pieces, wanted, max_tokens))


@dataclass(frozen=True)
class _Piece:
    file_index: int  # which file of the change this is (part of)
    file: FileDiff  # the file with one hunk (or a run of one's lines), or the whole file when it has no hunk
    tokens: int
    line_tokens: tuple[int, ...] = ()  # each line's, where the piece is a whole hunk


def _pieces(index: int, file: FileDiff, count: Count) -> list[_Piece]:
    """A piece per hunk of `file` (the file whole when it has none), each line counted once.

    Lines are counted one by one, so that a hunk can be cut between them by its real sizes: a file's
    density varies along it (a table, then prose, then code). The file's title is counted with its
    first hunk only: its hunks are shown under one title when they land in one chunk (most do).
    """
    title = count(render_file(dataclasses.replace(file, hunks=())))
    if not file.hunks:
        return [_Piece(index, file, title)]
    pieces: list[_Piece] = []
    for n, hunk in enumerate(file.hunks):
        lines = tuple(line_tokens(line, count) for line in hunk.lines)
        tokens = (0 if n else title) + count(hunk.header + "\n") + sum(lines)
        pieces.append(_Piece(index, dataclasses.replace(file, hunks=(hunk,)), tokens, lines))
    return pieces


def _lines(piece: _Piece, max_tokens: int, count: Count) -> list[_Piece]:
    """A hunk over `max_tokens` as runs of its lines, each a hunk of its own that fits."""
    file, [hunk] = piece.file, piece.file.hunks
    # The file's title and a hunk header, whose numbers may be a little longer than this hunk's.
    header = count(render_file(dataclasses.replace(file, hunks=())) + hunk.header + " 1234567 1234567") + 2
    pieces: list[_Piece] = []
    old, new = hunk.old_start, hunk.new_start
    run: list[Line] = []
    used = header

    def close() -> None:
        nonlocal old, new
        part = _hunk_of(run, old, new, hunk.section)
        pieces.append(_Piece(piece.file_index, dataclasses.replace(file, hunks=(part,)), used))
        old, new = old + part.old_len, new + part.new_len

    for line, cost in zip(hunk.lines, piece.line_tokens, strict=True):
        if run and used + cost > max_tokens:
            close()
            run, used = [], header
        run.append(line)
        used += cost
    if run:
        close()
    return pieces


def _chunk(group: list[_Piece]) -> Chunk:
    """The pieces of one chunk: a file's hunks joined again into one file, a hunk's runs of lines into the hunk."""
    files: list[FileDiff] = []
    last = -1
    for piece in group:
        if piece.file_index != last:
            files.append(piece.file)
        else:
            hunks = files[-1].hunks
            if hunks and piece.file.hunks and _abuts(hunks[-1], piece.file.hunks[0]):
                hunks = (*hunks[:-1], _hunk_of([*hunks[-1].lines, *piece.file.hunks[0].lines], hunks[-1].old_start, hunks[-1].new_start, hunks[-1].section))
                files[-1] = dataclasses.replace(files[-1], hunks=hunks + piece.file.hunks[1:])
            else:
                files[-1] = dataclasses.replace(files[-1], hunks=hunks + piece.file.hunks)
        last = piece.file_index
    return Chunk(tuple(files), sum(p.tokens for p in group))


def _abuts(first: Hunk, second: Hunk) -> bool:
    """Whether `second` starts where `first` ends: two runs of one hunk's lines (git never writes such hunks)."""
    return second.old_start == first.old_start + first.old_len and second.new_start == first.new_start + first.new_len


def _chunk_count(total: int, max_tokens: int, slots: int, min_tokens: int) -> int:
    needed = -(-total // max_tokens)
    if slots > 1 and total >= 2 * max(min_tokens, 1):
        needed = max(needed, min(slots, total // max(min_tokens, 1)))
    if needed > slots > 1:  # whole rounds: 12 requests on 8 slots take as long as 16 smaller ones
        needed = -(-needed // slots) * slots
    return needed


# How far from an even share a cut may move to fall between files rather than inside one.
_WHOLE_FILE_SLACK = 0.03


def _partition(pieces: list[_Piece], wanted: int, cap: int) -> list[list[_Piece]]:
    """`pieces` cut into `wanted` consecutive groups, each near an even share, none over `cap`.

    Each cut goes to the boundary between files nearest to where an even split would cut,
    if one is within a few percent of a share; else to the nearest boundary between pieces
    (hunks, or runs of a hunk's lines). A group still over `cap` (pieces too coarse) is cut
    again where it fills up.
    """
    ends = list(itertools.accumulate(p.tokens for p in pieces))  # ends[i]: tokens up to and including piece i
    share = ends[-1] / wanted
    anywhere = list(range(1, len(pieces)))
    between_files = [i for i in anywhere if pieces[i].file_index != pieces[i - 1].file_index]
    cuts: list[int] = []  # a cut at i starts a group with piece i
    for target in (share * n for n in range(1, wanted)):
        after = cuts[-1] + 1 if cuts else 1
        cut = _nearest(between_files, [ends[i - 1] for i in between_files], target, after)
        if cut is None or abs(ends[cut - 1] - target) > _WHOLE_FILE_SLACK * share:
            cut = _nearest(anywhere, ends[:-1], target, after) or cut
        if cut is not None:
            cuts.append(cut)
    groups = [pieces[start:end] for start, end in zip([0, *cuts], [*cuts, len(pieces)], strict=True)]
    return [part for group in groups if group for part in _fill(group, cap)]


def _nearest(boundaries: list[int], before: list[int], target: float, after: int) -> int | None:
    """The boundary at or past `after` whose tokens before it (`before`, in step) come nearest to `target`."""
    first = bisect.bisect_left(boundaries, after)
    position = max(bisect.bisect_left(before, target), first)
    options = [b for b in (position - 1, position) if first <= b < len(boundaries)]
    best = min(options, key=lambda b: abs(before[b] - target), default=None)
    return None if best is None else boundaries[best]


def _fill(group: list[_Piece], cap: int) -> list[list[_Piece]]:
    parts: list[list[_Piece]] = [[]]
    used = 0
    for piece in group:
        if parts[-1] and used + piece.tokens > cap:
            parts.append([])
            used = 0
        parts[-1].append(piece)
        used += piece.tokens
    return parts


def _hunk_of(lines: list[Line], old_start: int, new_start: int, section: str) -> Hunk:
    old_len = sum(1 for line in lines if line.kind != "+")
    new_len = sum(1 for line in lines if line.kind != "-")
    return Hunk(old_start, old_len, new_start, new_len, section, tuple(lines))


# What a request is expected to write, reasoning included, by effort: a fixed part, and a part that
# grows with what it reads (thinking about 40K tokens of diff takes longer than about 400), plus for a
# summary a line per file. Used for --dry-run, the cost gate and to stop before max_cost_usd is passed.
# These match the loopback server of benchmarks/ (its answer model is documented there); measure
# them again against DeepSeek's reported usage when that is at hand.
_ANSWER = (300, 0.02)  # (tokens, tokens per prompt token) of the JSON answer itself
_REASONING = {"none": (0, 0.0), "high": (1000, 0.1), "max": (3000, 0.25)}
_SUMMARY = (150, 40)  # (tokens, tokens per file) of a title, walkthrough and risks


def expected_output_tokens(effort: str, prompt_tokens: int, *, files: int = 0) -> int:
    """What one request reading `prompt_tokens` is expected to write; `files` it also summarizes."""
    base, rate = _REASONING.get(effort, _REASONING["high"])
    summary = _SUMMARY[0] + _SUMMARY[1] * files if files else 0
    return int(base + rate * prompt_tokens + _ANSWER[0] + _ANSWER[1] * prompt_tokens + summary)
