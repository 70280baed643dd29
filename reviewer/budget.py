"""Token estimates, and chunks of the diff that each fit one request.

Every hunk of every selected file lands in exactly one chunk, so a large
change is reviewed in full, in parallel requests, never clipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reviewer.diff import FileDiff, Hunk
from reviewer.diff_text import render_file

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

    A file larger than the budget is split at hunk boundaries; a single hunk
    larger than the budget travels alone (its long lines are already clipped
    by the renderer).
    """
    pieces: list[tuple[FileDiff, int]] = []
    for file in files:
        tokens = estimate_tokens(render_file(file))
        if tokens <= max_tokens or len(file.hunks) <= 1:
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
    for hunk in file.hunks:
        tokens = estimate_tokens(render_file(dataclasses.replace(file, hunks=(hunk,))))
        if group and used + tokens > max_tokens:
            parts.append((dataclasses.replace(file, hunks=tuple(group)), used))
            group, used = [], 0
        group.append(hunk)
        used += tokens
    if group:
        parts.append((dataclasses.replace(file, hunks=tuple(group)), used))
    return parts


# What a request is expected to write, reasoning included, by effort: used for
# --dry-run estimates and to stop before max_cost_usd is passed.
_EXPECTED_OUTPUT = {"none": 1500, "high": 6000, "max": 16000}


def expected_output_tokens(effort: str) -> int:
    return _EXPECTED_OUTPUT.get(effort, _EXPECTED_OUTPUT["high"])
