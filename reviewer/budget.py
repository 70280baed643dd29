"""Token estimates, and chunks of the diff that each fit one request.

Every changed line of every selected file lands in exactly one chunk, so a
large change is reviewed in full, in parallel requests, never sent as one
request over the budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reviewer.diff import FileDiff, Hunk, Line
from reviewer.diff_text import MAX_LINE_CHARS, render_file

# DeepSeek's tokenizer gives about 3.3 characters a token on code; rounding
# down keeps the estimate on the safe (higher) side.
CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1 if text else 0


@dataclass(frozen=True)
class Chunk:
    files: tuple[FileDiff, ...]
    tokens: int  # estimated tokens of the rendered diff

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))


def plan_chunks(files: tuple[FileDiff, ...] | list[FileDiff], max_tokens: int) -> tuple[Chunk, ...]:
    """Pack files, in order, into chunks of at most `max_tokens` diff tokens.

    A file larger than the budget is split at hunk boundaries, and a hunk
    larger than the budget at line boundaries. The renderer clips every line
    to far less than the smallest budget, so every chunk fits.
    """
    pieces: list[tuple[FileDiff, int]] = []
    for file in files:
        tokens = estimate_tokens(render_file(file))
        if tokens <= max_tokens:
            pieces.append((file, tokens))
        else:
            pieces.extend(_split(file, max_tokens))
    chunks: list[Chunk] = []
    current: list[FileDiff] = []
    used = 0
    for file, tokens in pieces:
        if current and used + tokens > max_tokens:
            chunks.append(Chunk(tuple(current), used))
            current, used = [], 0
        current.append(file)
        used += tokens
    if current:
        chunks.append(Chunk(tuple(current), used))
    return tuple(chunks)


def _split(file: FileDiff, max_tokens: int) -> list[tuple[FileDiff, int]]:
    parts: list[tuple[FileDiff, int]] = []
    group: list[Hunk] = []
    used = 0
    for hunk in (part for h in file.hunks for part in _split_hunk(file, h, max_tokens)):
        tokens = estimate_tokens(render_file(dataclasses.replace(file, hunks=(hunk,))))
        if group and used + tokens > max_tokens:
            parts.append((dataclasses.replace(file, hunks=tuple(group)), used))
            group, used = [], 0
        group.append(hunk)
        used += tokens
    if group:
        parts.append((dataclasses.replace(file, hunks=tuple(group)), used))
    return parts


def _split_hunk(file: FileDiff, hunk: Hunk, max_tokens: int) -> list[Hunk]:
    """`hunk` whole when it fits, else consecutive runs of its lines, each a hunk of its own that fits."""
    if estimate_tokens(render_file(dataclasses.replace(file, hunks=(hunk,)))) <= max_tokens:
        return [hunk]
    # The file's title and a hunk header, whose numbers may be a little longer than this hunk's.
    header = estimate_tokens(render_file(dataclasses.replace(file, hunks=())) + hunk.header + " " * 24)
    parts: list[Hunk] = []
    old, new = hunk.old_start, hunk.new_start
    run: list[Line] = []
    used = header
    for line in hunk.lines:
        cost = _line_tokens(line)
        if run and used + cost > max_tokens:
            parts.append(_hunk_of(run, old, new, hunk.section))
            old, new = old + parts[-1].old_len, new + parts[-1].new_len
            run, used = [], header
        run.append(line)
        used += cost
    if run:
        parts.append(_hunk_of(run, old, new, hunk.section))
    return parts


def _line_tokens(line: Line) -> int:
    """At least what the renderer makes of one line: number, kind, text (clipped, with its note), newline."""
    chars = len(line.text) if len(line.text) <= MAX_LINE_CHARS else MAX_LINE_CHARS + 60
    return int((chars + 24) / CHARS_PER_TOKEN) + 1


def _hunk_of(lines: list[Line], old_start: int, new_start: int, section: str) -> Hunk:
    old_len = sum(1 for line in lines if line.kind != "+")
    new_len = sum(1 for line in lines if line.kind != "-")
    return Hunk(old_start, old_len, new_start, new_len, section, tuple(lines))


# What a request is expected to write, reasoning included, by effort: used for
# --dry-run estimates and to stop before max_cost_usd is passed.
_EXPECTED_OUTPUT = {"none": 1500, "high": 6000, "max": 16000}


def expected_output_tokens(effort: str) -> int:
    return _EXPECTED_OUTPUT.get(effort, _EXPECTED_OUTPUT["high"])
