"""Token estimates, and chunks of the diff that each fit one request.

Every changed line of every selected file lands in exactly one chunk, so a
large change is reviewed in full, in parallel requests, never sent as one
request over the budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reviewer.diff import FileDiff, Hunk, Line
from reviewer.diff_text import render_file, render_line
from reviewer.tokens import Count, rule

# Tokens of one rendered line beyond what the line's own text counts: a piece of a split hunk is
# counted line by line, and what the tokenizer merges across a line break may come out either way.
_LINE_MARGIN = 2


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
    count: Count = rule,
) -> tuple[Chunk, ...]:
    """Chunks of the diff of near-equal size, each at most `max_tokens`, in file order.

    A change large enough is cut into at least `slots` chunks (the requests that can be
    in flight at once), never into chunks under `min_tokens`, and into whole rounds of
    `slots` when it takes more than one: the slowest request is then close to the average.
    A file stays whole when it fits in a chunk of that size; a larger one is split at hunk
    boundaries, and a hunk larger than that at line boundaries. Files stay in diff order
    (by path), so a directory's files share a chunk. Every changed line is in exactly one chunk.
    """
    sized = [(file, count(render_file(file))) for file in files]
    total = sum(tokens for _, tokens in sized)
    if not total:
        return (Chunk(tuple(files), 0),) if files else ()
    wanted = _chunk_count(total, max_tokens, slots, min_tokens)
    limit = min(max_tokens, -(-total // wanted))
    pieces: list[tuple[FileDiff, int]] = []
    for file, tokens in sized:
        pieces.extend([(file, tokens)] if tokens <= limit else _split(file, limit, count))
    return tuple(_chunk(group) for group in _partition(pieces, wanted, max_tokens))


def _chunk_count(total: int, max_tokens: int, slots: int, min_tokens: int) -> int:
    needed = -(-total // max_tokens)
    if slots > 1 and total >= 2 * max(min_tokens, 1):
        needed = max(needed, min(slots, total // max(min_tokens, 1)))
    if needed > slots > 1:  # whole rounds: 12 requests on 8 slots take as long as 16 smaller ones
        needed = -(-needed // slots) * slots
    return needed


def _partition(pieces: list[tuple[FileDiff, int]], wanted: int, cap: int) -> list[list[tuple[FileDiff, int]]]:
    """Consecutive groups of `pieces`, as near an even share as can be, none over `cap`.

    The largest group is first made as small as any split into `wanted` groups allows (a
    binary search on its size); then each cut goes where its group comes closest to an even
    share of what is left, as long as the rest still fits the groups left.
    """
    sizes = [tokens for _, tokens in pieces]
    if wanted <= 1 or len(sizes) <= 1:
        bound = cap
    else:
        low, high = max(sizes), max(max(sizes), min(cap, sum(sizes)))
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if _groups_needed(sizes, middle)[0] <= wanted else (middle + 1, high)
        bound = max(low, min(cap, max(sizes))) if _groups_needed(sizes, low)[0] <= wanted else cap
    needed = _groups_needed(sizes, bound)  # needed[i]: groups the pieces from i on take at the most
    groups: list[list[tuple[FileDiff, int]]] = []
    current: list[tuple[FileDiff, int]] = []
    used, left = 0, sum(sizes)
    for index, (piece, tokens) in enumerate(pieces):
        if current:
            share = (used + left) / max(wanted - len(groups), 1)
            must = used + tokens > bound
            may = needed[index] <= wanted - len(groups) - 1
            if must or (may and used + tokens / 2 > share):
                groups.append(current)
                current, used = [], 0
        current.append((piece, tokens))
        used += tokens
        left -= tokens
    if current:
        groups.append(current)
    return groups


def _groups_needed(sizes: list[int], bound: int) -> list[int]:
    """For each start index (and one past the end), how many groups of at most `bound` a greedy fill makes."""
    count = len(sizes)
    ends = [0] * count
    end, total = 0, 0
    for start in range(count):  # the end of a greedy group only moves forward as its start does
        if end < start:
            end, total = start, 0
        while end < count and (total + sizes[end] <= bound or end == start):
            total += sizes[end]
            end += 1
        ends[start] = end
        total -= sizes[start]
    needed = [0] * (count + 1)
    for start in range(count - 1, -1, -1):
        needed[start] = 1 + needed[ends[start]]
    return needed


def _split(file: FileDiff, max_tokens: int, count: Count) -> list[tuple[FileDiff, int]]:
    """`file` as one piece per hunk (a hunk over `max_tokens` as pieces of its lines): the partition
    cuts between them only where it must, and a chunk joins the pieces of a file it holds again."""
    pieces = []
    for hunk in (part for h in file.hunks for part in _split_hunk(file, h, max_tokens, count)):
        one = dataclasses.replace(file, hunks=(hunk,))
        pieces.append((one, count(render_file(one))))
    return pieces


def _chunk(group: list[tuple[FileDiff, int]]) -> Chunk:
    files: list[FileDiff] = []
    for file, _ in group:
        if files and files[-1].path == file.path and files[-1].old_path == file.old_path:
            files[-1] = dataclasses.replace(files[-1], hunks=files[-1].hunks + file.hunks)
        else:
            files.append(file)
    return Chunk(tuple(files), sum(tokens for _, tokens in group))


def _split_hunk(file: FileDiff, hunk: Hunk, max_tokens: int, count: Count) -> list[Hunk]:
    """`hunk` whole when it fits, else consecutive runs of its lines, each a hunk of its own that fits."""
    if count(render_file(dataclasses.replace(file, hunks=(hunk,)))) <= max_tokens:
        return [hunk]
    # The file's title and a hunk header, whose numbers may be a little longer than this hunk's.
    header = count(render_file(dataclasses.replace(file, hunks=())) + hunk.header + " 1234567 1234567") + _LINE_MARGIN
    parts: list[Hunk] = []
    old, new = hunk.old_start, hunk.new_start
    run: list[Line] = []
    used = header
    for line in hunk.lines:
        cost = count(render_line(line)) + _LINE_MARGIN
        if run and used + cost > max_tokens:
            parts.append(_hunk_of(run, old, new, hunk.section))
            old, new = old + parts[-1].old_len, new + parts[-1].new_len
            run, used = [], header
        run.append(line)
        used += cost
    if run:
        parts.append(_hunk_of(run, old, new, hunk.section))
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
