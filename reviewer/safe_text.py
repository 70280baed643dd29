"""Make untrusted text safe where we put it: one function per context.

The model's text, and the paths and names of the change, are untrusted: on
GitHub they must not ping people, render raw HTML, load remote images, hide
what follows in an HTML comment, add table rows or list items, or carry
anything that looks like the hidden markers we find our own comments by; in a
terminal they must not move the cursor, erase lines or write the clipboard.

- `neutralise(text)`: model Markdown (a comment body). Code spans and fenced
  blocks are kept as written, except that a marker look-alike is broken there
  too (GitHub shows code verbatim, but our marker search reads raw text).
- `one_line(text)`: model prose for a one-line place (a title, a list entry).
- `inline_code(text)`: a path or name, shown verbatim as one code span.
- `table_cell(markdown)`: one line of the above, inside a GFM table cell.
- `printable(text)`: plain text for a terminal, a workflow command or SARIF.
"""

from __future__ import annotations

import re

# Our markers are HTML comments that start with this; see reviewer.github.comments.
MARKER_PREFIX = "<!-- reviewer:"

# What GitHub's Markdown (CommonMark) shows verbatim. Where this and CommonMark could
# disagree, the text counts as prose and is neutralised: a fence is indented at most
# three spaces and closed by a run of its character at least as long; a code span
# opens and closes with backtick runs of equal length, the opener not escaped.
_CODE = re.compile(
    r"(?P<fence>^ {0,3}(?P<tick>`{3,}|~{3,})[^\n]*\n.*?^ {0,3}(?P=tick)[`~]*[ \t]*$)"
    r"|(?P<span>(?<![`\\])(?P<run>`+)(?!`)[^\n]+?(?<!`)(?P=run)(?!`))",
    re.DOTALL | re.MULTILINE,
)
# A model's own ```suggestion block would be applied with one click; only we write those.
_SUGGESTION_INFO = re.compile(r"\A( {0,3}(?:`{3,}|~{3,})[ \t]*)suggestion\b", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w/.@-])@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9_.-]+)?)")
_FORGED_MARKER = re.compile(r"<!--\s*reviewer", re.IGNORECASE)
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_ZWSP = "\u200b"
# What starts a block at the start of a line: a bullet or ordered list marker, a heading, a quote, a fence.
# The match's last character is the one to escape.
_BLOCK_START = re.compile(r"\A(?:[-+*#>]|\d{1,9}[.)]|`{3}|~{3})")
# C0 but tab and newline, DEL, C1, the Unicode line and paragraph separators, and the bidi embeddings,
# overrides and isolates that reorder what a reader sees (Trojan Source).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_OR_NEWLINE = re.compile(f"[{_CONTROLS}\n]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def neutralise(text: str) -> str:
    """Prose made inert (mentions, HTML, images, control characters); code kept, markers broken everywhere."""
    return _inert(_close_fences(printable(text)))


def one_line(text: str) -> str:
    """Model prose made inert and kept on one line: a newline would end the list item or heading it sits in.

    A leading list marker, heading, quote or fence is escaped too: after `- ` it would nest a new block.
    """
    text = " ".join(printable(text).split())
    return _inert(_BLOCK_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text, count=1))


def inline_code(text: str) -> str:
    """`text` as one code span: nothing in it renders (HTML, `<!--`, mentions, images) and it cannot end early.

    Line breaks and control characters are shown as escapes (`\\n`), so the span stays on its line.
    """
    text = break_markers(printable(text, newlines=False))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    # CommonMark strips one space from each end when both have one, and a span cannot be empty.
    pad = " " if not text.strip() or text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def table_cell(markdown: str) -> str:
    """Inline Markdown (from `one_line` or `inline_code`) inside a GFM table cell: one line, no cell borders.

    GFM splits cells before it parses inlines, so a `|` splits one even inside a code span unless escaped;
    it treats any `|` after a backslash as escaped, in a code span too (where the backslash is dropped).
    """
    return " ".join(markdown.split()).replace("|", "\\|")


def printable(text: str, *, newlines: bool = True) -> str:
    """Text with every control character shown as an escape (`\\x1b`): no terminal sequence can act.

    CSI and OSC sequences (erase a line, move the cursor, write the clipboard), a bare carriage return,
    C1 controls and bidirectional overrides all start with, or are, such a character. Tabs are kept, and
    line breaks when `newlines` (a Windows line break counts as one).
    """
    text = text.replace("\r\n", "\n")
    return (_CONTROL if newlines else _CONTROL_OR_NEWLINE).sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _inert(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in _CODE.finditer(text):
        out.append(_prose(text[position : match.start()]))
        out.append(break_markers(_SUGGESTION_INFO.sub(r"\1text", match.group(0))))
        position = match.end()
    out.append(_prose(text[position:]))
    return "".join(out)


def break_markers(text: str) -> str:
    """`<!-- reviewer` with a zero-width space inside, so no search for our markers can match it."""
    return _FORGED_MARKER.sub(lambda m: m.group(0)[:4] + _ZWSP + m.group(0)[4:], text)


def fence_for(code: str, info: str = "") -> str:
    """A fenced block that `code` cannot close early: the fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{break_markers(code).rstrip(chr(10))}\n{fence}"


def _prose(text: str) -> str:
    text = text.replace("<", "&lt;")  # no raw HTML, no HTML comments (so no forged markers)
    text = text.replace("![", "[")  # a remote image becomes a plain link, loaded only when clicked
    return _MENTION.sub(lambda m: _inert_mention(m, text), text)


def _inert_mention(match: re.Match[str], text: str) -> str:
    """`@name` in a code span notifies nobody; next to other backticks the span would not form, so @\u200bname."""
    before = text[match.start() - 1 : match.start()]
    after = text[match.end() : match.end() + 1]
    if "`" in (before, after):
        return f"@{_ZWSP}{match.group(1)}"
    return f"`@{match.group(1)}`"


def _close_fences(text: str) -> str:
    """An unclosed fence would swallow whatever we append after the model's text."""
    fences = _FENCE_LINE.findall(text)
    opened: str | None = None
    for fence in fences:
        if opened is None:
            opened = fence
        elif fence[0] == opened[0] and len(fence) >= len(opened):
            opened = None
    return text if opened is None else f"{text.rstrip()}\n{opened}\n"
