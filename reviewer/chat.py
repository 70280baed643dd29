"""Answers to a person's question on a pull request: what the model is shown, and what comes back. Pure.

A question comes from a review thread (a reply under one of our comments, or a
review comment naming the reviewer) or from `/ask` in the conversation. The
model is shown the code (the diff around the thread, or the pull request's
diff for `/ask`, and code context when there is a tree), our comment that
started the thread, the thread and the question, all fenced as data with a
nonce nobody on the pull request can know, secrets redacted; the trusted
side (the base branch's guidelines) goes into the system message. Data
sovereignty holds: the `chat` route's backends are narrowed by the routing
rules for every file shown, and a file none of them may see is left out.

The answer is Markdown prose, not JSON: the caller posts it once, escaped
like a finding's body (reviewer.github.answers). Nothing the model says can
do anything else.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer import routing
from reviewer.budget import plan_chunks
from reviewer.config import Config
from reviewer.diff import Diff, FileDiff, Side
from reviewer.diff_text import render_files
from reviewer.errors import ConfigError
from reviewer.filters import select
from reviewer.known import Known
from reviewer.prompts import Templates
from reviewer.redact import find_each, known_values, redact, redact_diff, values_of
from reviewer.review import Request
from reviewer.tokens import count as count_tokens
from reviewer.vocabulary import Message

# How an answer that withdraws our comment starts (chat_system.j2 asks for these words); a concession
# is remembered in the thread (the finding is not raised again) and counted by `reviewer learn`.
# What of a conversation is shown: a thread can be long, and every comment in it is anyone's text.
MAX_COMMENTS = 20  # the latest comments of the thread before the question
MAX_COMMENT_CHARS = 4000  # of each, the question and our own comment
_CONCEDES = re.compile(r"\A[\s*_>#]*you(?:'re|’re| are)\s+(?:absolutely\s+|quite\s+)?right\b", re.IGNORECASE)


@dataclass(frozen=True)
class Said:
    """One earlier comment of the thread."""

    author: str
    body: str
    ours: bool  # written by the reviewer


@dataclass(frozen=True)
class Conversation:
    """What one answer is about: the question, where it was asked, and what was said before it."""

    question: str
    asker: str
    path: str | None = None  # the thread's file; None for `/ask`, which is about the whole pull request
    line: int | None = None
    side: str = "RIGHT"
    finding: str = ""  # our comment that started the thread (its text as posted), when it is ours
    thread: tuple[Said, ...] = ()  # the thread before the question, oldest first
    description: str = ""  # `/ask`: the pull request's title and body


@dataclass(frozen=True)
class Answer:
    text: str  # the model's Markdown, secrets masked; "" when no backend answered
    backend: str | None  # which one answered
    cost_usd: float
    error: str | None = None

    @property
    def concedes(self) -> bool:
        return concedes(self.text)


def concedes(text: str) -> bool:
    return bool(_CONCEDES.match(text))


def plan_answer(
    conversation: Conversation, diff: Diff, config: Config, templates: Templates, guidelines: str, tree: Path | None = None
) -> Request:
    """The one request that answers `conversation`, built and not sent; a ConfigError when no backend may see its file."""
    from reviewer.context import CodeContext, code_context
    from reviewer.source_tree import SourceTree

    nonce = secrets.token_hex(8)
    diff, found = redact_diff(diff)
    # The diff's secrets are masked wherever they show: what people said, code read for context, the tree, the answer.
    known = Known(known_values(found))
    thread = conversation.thread[-MAX_COMMENTS:]
    said = [guidelines, conversation.description, _cut(conversation.finding), _cut(conversation.question), *(_cut(s.body) for s in thread)]
    # What was said is scanned as one: a value one comment marks (a password its assignment shows) is masked in all
    # of them. Not in the code: on a public repository anyone may comment, and could hide code from the answer so.
    in_said = values_of(secret for secrets in find_each(said) for secret in secrets)
    values = Known(known.values | in_said)
    guidelines, description, finding, question, *bodies = (redact(text, values) for text in said)
    files, backends, left_out = _shown(conversation, diff, config)
    around = CodeContext()
    if tree is not None and config.review.context_tokens > 0 and files:
        hidden = [routing.withheld(config, name, diff) for name in backends]
        source = SourceTree(tree, lambda path: not any(h(path) for h in hidden))
        focus = [(conversation.path, conversation.line)] if conversation.path and conversation.line and conversation.side == "RIGHT" else []
        around = code_context(files, source, config.review.context_tokens, 0, focus)
    context: dict[str, Any] = {
        "nonce": nonce,
        "guidelines": guidelines,
        "code_context": around.text,
        "diff": render_files(files),
        "left_out": left_out,
        "path": _name(conversation.path, diff) if conversation.path else "",
        "line": conversation.line or 0,
        "side": conversation.side,
        "description": description,
        "finding": finding,
        "thread": "\n\n".join(f"{'you' if s.ours else s.author}:\n{body}" for s, body in zip(thread, bodies, strict=True)),
        "question": question,
        "asker": conversation.asker,
    }
    # As for a review: a last pass over what is sent, a team's own template included.
    messages = tuple(Message(m.role, redact(m.content, known)) for m in templates.messages("chat", context))
    tokens = sum(count_tokens(m.content) for m in messages)
    return Request("chat", messages, backends, tuple(f.path for f in files), tokens, context, around.tokens, known=known)


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_COMMENT_CHARS else text[:MAX_COMMENT_CHARS].rstrip() + " … (cut)"


def _shown(conversation: Conversation, diff: Diff, config: Config) -> tuple[list[FileDiff], tuple[str, ...], int]:
    """The files the model is shown, the backends that may see all of them, and how many changed files are left out."""
    if conversation.path is not None:
        file = diff.file(conversation.path)
        names, why_not = routing.candidates(config, "chat", conversation.path, *([file.old_path] if file and file.old_path else []))
        if not names:
            raise ConfigError(f"no backend of the chat route may see {_name(conversation.path, diff)}: {why_not}")
        chunks = plan_chunks([_around(file, conversation)], config.review.max_chunk_tokens) if file is not None else ()
        return (list(chunks[0].files) if chunks else []), names, 0
    selection = select(diff, config.review.ignore, skip_generated=config.review.skip_generated)
    groups, _ = routing.group(config, "chat", selection.files)
    if not groups:
        names, why_not = routing.candidates(config, "chat")
        if not names:
            raise ConfigError(f"no backend may answer: {why_not}")
        return [], names, len(diff.files)
    largest = max(groups, key=lambda g: len(g.files))
    chunks = plan_chunks(largest.files, config.review.max_chunk_tokens)
    files = list(chunks[0].files) if chunks else []
    return files, largest.backends, len(diff.files) - len({f.path for f in files})


def _name(path: str, diff: Diff) -> str:
    """The thread's file as shown: the (redacted) diff's name for it, or the path redacted (a thread on a file since left out)."""
    file = diff.file(path)
    return file.name if file is not None else redact(path)


def _around(file: FileDiff, conversation: Conversation) -> FileDiff:
    """The hunk the thread sits on; the whole file's diff when it sits on none (a file comment, an outdated line)."""
    side: Side = "LEFT" if conversation.side == "LEFT" else "RIGHT"
    index = file.hunk_index(side, conversation.line) if conversation.line else None
    return file if index is None else dataclasses.replace(file, hunks=(file.hunks[index],))
