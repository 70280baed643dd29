"""The diff as the model reads it: every line with the number it must cite.

    --- src/app.py (modified)
    @@ -10,3 +10,4 @@ def load(path):
        10       with open(path) as fh:
        11 -         return fh.read()
        11 +         data = fh.read()
        12 +         return data.strip()

Added and context lines carry their new-file number (cite with side RIGHT);
removed lines carry their old-file number (cite with side LEFT).

A file name is the change author's: one that could break its header line or
look like markup (a line break, a control character, a quote, `<`) is shown
as a JSON string, `--- "a\\n--- b.py" (added)`, which the model copies back as is. A name that
holds a secret is shown redacted, as reviewer.redact.redact_diff sets it (`FileDiff.name`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from reviewer.diff import FileDiff, Line

MAX_LINE_CHARS = 2000  # a 100 KB line would cost ~30K tokens and tell the model nothing more
# C0, DEL, C1, line and paragraph separators, bidi controls; the JSON string's own quote and backslash;
# and the angle brackets of markup (the prompt's data markers are tags).
_NOT_PLAIN = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\<>]')
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069<>]")  # json.dumps keeps these


def quoted(text: str) -> str:
    """A name as the prompt shows it: as is when plain, else a JSON string that stays on its line."""
    if not _NOT_PLAIN.search(text) and text == text.strip():
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(text, ensure_ascii=False))


def render_file(file: FileDiff) -> str:
    title = quoted(file.name)
    if file.old_name:
        title += f" ({file.status.value} from {quoted(file.old_name)})"
    else:
        title += f" ({file.status.value})"
    out = [f"--- {title}"]
    for hunk in file.hunks:
        out.append(hunk.header)
        out.extend(render_line(line) for line in hunk.lines)
    return "\n".join(out) + "\n"


def render_line(line: Line) -> str:
    number = line.old_no if line.kind == "-" else line.new_no
    return f"{number:>6} {line.kind} {_clip(line.text)}"


def line_tokens(line: Line, count: Callable[[str], int]) -> int:
    """The tokens of `render_line(line)` and its line end, counted without building it: a large change has
    tens of thousands of lines. The text with the space before it, then the number (a token for its padding,
    one for each three digits) and the kind (a context line's blank joins the text's space). Within 0.5% of
    counting the rendered lines on a real diff."""
    number = line.old_no if line.kind == "-" else line.new_no
    digits = len(str(number))
    return count(counted_text(line)) + (digits < 6) + (digits + 2) // 3 + (line.kind != " ")


def counted_text(line: Line) -> str:
    """What `line_tokens` counts of a line: its text, with the space before it and its line end."""
    return " " + line.text[:MAX_LINE_CHARS] + "\n"


def render_files(files: Iterable[FileDiff]) -> str:
    return "\n".join(render_file(f) for f in files)


def _clip(text: str) -> str:
    # Surrogate escapes (bytes that were not UTF-8) are shown as U+FFFD.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(text) <= MAX_LINE_CHARS:
        return text
    return f"{text[:MAX_LINE_CHARS]} … [{len(text) - MAX_LINE_CHARS} more characters clipped]"
