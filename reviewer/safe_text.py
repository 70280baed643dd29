"""Make what a model wrote safe to post on GitHub.

The model's text is untrusted (it read the PR author's code and comments): it
must not ping people, render raw HTML, load remote images, or carry anything
that looks like the hidden markers we find our own comments by. Code spans and
fenced blocks are kept as written, except that a marker look-alike is broken
there too (GitHub shows code verbatim, but our marker search reads raw text).
"""

from __future__ import annotations

import re

# Our markers are HTML comments that start with this; see reviewer.publishers.github_review.
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


def neutralise(text: str) -> str:
    """Prose made inert (mentions, HTML, images); code kept, markers broken everywhere."""
    text = _close_fences(text)
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
