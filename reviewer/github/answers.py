"""Our answers to people's questions on a pull request: their bodies, and the markers that find them again. Pure.

An answer starts with a hidden marker naming the comment it answers, so a
lost answer is looked for before it is sent again, a rerun of the same event
answers nothing twice, and later runs can tell our answers (and which of them
conceded) from everything else in a thread. Only comments of our own account
count: anyone can copy a marker. The model's text is escaped like a finding's
body (`neutralise`: no mention pings, no HTML, no forged marker) and cut to
fit GitHub's limit.
"""

from __future__ import annotations

import re

from reviewer.safe_text import MARKER_PREFIX, neutralise, one_line

_ANSWER = re.compile(r"\A" + re.escape(MARKER_PREFIX) + r"answer=(\d+)( conceded)? -->")
QUESTION_CHARS = 300  # of an `/ask` question, quoted above its answer


def answer_marker(question_id: int, conceded: bool) -> str:
    return f"{MARKER_PREFIX}answer={question_id}{' conceded' if conceded else ''} -->"


def answer_body(text: str, question_id: int, *, conceded: bool, max_chars: int, quoted: str | None = None) -> str:
    """Marker, (for `/ask`) the question it answers on one line, and the model's answer made safe."""
    from reviewer.github.comments import BODY_LIMIT, fit_text

    head = answer_marker(question_id, conceded)
    if quoted is not None:
        question = " ".join(quoted.split())
        cut = question if len(question) <= QUESTION_CHARS else question[:QUESTION_CHARS].rstrip() + " …"
        head += f"\n> {one_line(cut)}"
    return head + "\n\n" + fit_text(text, neutralise, BODY_LIMIT - len(head) - 2, max_chars)


def answered(body: str | None) -> int | None:
    """The id of the comment an answer of ours answers (None for any other comment)."""
    match = _ANSWER.match(body or "")
    return int(match.group(1)) if match else None


def conceded(body: str | None) -> bool:
    """Whether an answer of ours withdrew the comment that started its thread."""
    match = _ANSWER.match(body or "")
    return bool(match and match.group(2))
