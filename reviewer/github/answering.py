"""A person's question on a pull request, answered once: whether to answer, what the model sees, the one write.

A review comment is a question for us when it replies in a thread one of our
comments started (our account wrote its first comment, with our marker), or
when it names the reviewer (`[chat] mention`); `/ask QUESTION` in the
conversation always is. Who may ask is the comment's author association
(`[chat] allow`, and `allow_on_forks` on a pull request from a fork). Our own
comments and bots' comments are never answered, so two bots (or we and
ourselves) cannot talk in a loop, and a comment answered already (a rerun of
the same event) is not answered again.

The only write is the answer: a reply in the thread, or a comment in the
conversation under `/ask`. Nothing here approves, resolves, edits or labels,
whatever the question or the model's answer says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.chat import Conversation, Said
from reviewer.github import answers
from reviewer.github.comments import fingerprint_of
from reviewer.github.pull import ours
from reviewer.safe_text import MARKER_PREFIX

if TYPE_CHECKING:
    from reviewer.config import ChatSettings, Config
    from reviewer.github.event import Asked
    from reviewer.github.flow import TreeSource
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup

Note = Callable[[str], None]


@dataclass(frozen=True)
class Responded:
    url: str = ""  # the answer posted; "" when there is none
    skipped: str | None = None  # why the comment gets no answer
    error: str | None = None  # the model could not answer
    cost_usd: float = 0.0
    backend: str | None = None  # which one answered


@dataclass(frozen=True)
class Question:
    """A comment that asks us, with what the model is shown and where the answer goes."""

    conversation: Conversation
    thread: int | None  # the review thread's first comment; None: the conversation (`/ask`)
    in_our_thread: bool  # a reply under our own comment: an answer may concede it


def respond(
    pull: GitHubPull, setup: Setup, asked: Asked, env: Mapping[str, str], *, checkout: Path | None, tree_source: TreeSource, note: Note
) -> Responded:
    """Answer `asked` once, or say why not."""
    from reviewer.pipeline import answer

    config = setup.config
    me = pull.me(config.github.bot_login)
    found = _question(pull, asked, me, config)
    if isinstance(found, str):
        return Responded(skipped=found)
    with _tree(pull, config, tree_source, note) as tree:
        answered = answer(found.conversation, pull.whole(tree or checkout).diff, setup, env, tree=tree)
    if answered.error is not None:
        return Responded(error=answered.error, cost_usd=answered.cost_usd)
    body = answers.answer_body(
        answered.text, asked.comment_id, conceded=found.in_our_thread and answered.concedes, max_chars=config.chat.max_answer_chars,
        quoted=asked.question if found.thread is None else None,
    )
    from reviewer.github.posting import post_answer

    return Responded(post_answer(pull, me, asked.comment_id, found.thread, body, note), cost_usd=answered.cost_usd, backend=answered.backend)


def _question(pull: GitHubPull, asked: Asked, me: str, config: Config) -> Question | str:
    """The question `asked` is for us, or why it is not one we answer."""
    settings = config.chat
    if not settings.enabled:
        return "chat.enabled is false"
    if asked.login.lower() == me.lower():
        return "our own comment"
    fork = pull.from_fork
    allowed = settings.allow_on_forks if fork else settings.allow
    if asked.association not in allowed:
        key = "chat.allow_on_forks" if fork else "chat.allow"
        where = " (this pull request comes from a fork)" if fork else ""
        return f"{asked.login} is {asked.association} here, and {key} lets only {', '.join(allowed) or 'nobody'} ask{where}"
    if asked.thread is None:
        return _asked_in_conversation(pull, asked, me)
    return _asked_in_thread(pull, asked, me, settings)


def _asked_in_conversation(pull: GitHubPull, asked: Asked, me: str) -> Question | str:
    from github import GithubException

    from reviewer.errors import PublishError
    from reviewer.github.api import describe

    try:
        earlier = list(pull.pull.get_issue_comments())
    except GithubException as exc:
        raise PublishError(f"cannot read the comments of pull request #{pull.ref.number}: {describe(exc)}") from None
    if any(ours(c.user, me) and answers.answered(c.body) == asked.comment_id for c in earlier):
        return f"comment {asked.comment_id} is answered already"
    return Question(Conversation(asked.question, asked.login, description=pull.info.description), None, False)


def _asked_in_thread(pull: GitHubPull, asked: Asked, me: str, settings: ChatSettings) -> Question | str:
    comments = pull.review_comments
    root = next((c for c in comments if c.id == asked.thread), None)
    if root is None:
        return f"the thread of comment {asked.comment_id} is gone"
    our_thread = ours(root.user, me) and fingerprint_of(root.body) is not None
    if not our_thread and not names(asked.question, settings.mention):
        named = f" nor names {settings.mention}" if settings.mention else ""
        return f"comment {asked.comment_id} neither replies in a thread of ours{named}"
    replies = sorted((c for c in comments if c.in_reply_to_id == root.id), key=lambda c: c.id)
    if any(ours(c.user, me) and answers.answered(c.body) == asked.comment_id for c in replies):
        return f"comment {asked.comment_id} is answered already"
    earlier = [c for c in ([] if our_thread else [root]) + replies if c.id < asked.comment_id]
    conversation = Conversation(
        question=asked.question,
        asker=asked.login,
        path=root.path,
        line=root.line,
        side=root.side or "RIGHT",
        finding=_text(root.body) if our_thread else "",
        thread=tuple(Said(str(c.user.login), _text(c.body), ours(c.user, me)) for c in earlier),
    )
    return Question(conversation, root.id, our_thread)


def names(text: str, mention: str) -> bool:
    """Whether `text` mentions `mention` (`@reviewer`) as GitHub would: not inside a longer name or an address."""
    if not mention:
        return False
    return re.search(rf"(?<![\w@/.-]){re.escape(mention)}(?![\w-])", text, re.IGNORECASE) is not None


def _text(body: str | None) -> str:
    """A comment's text without our hidden markers at its start."""
    lines = (body or "").split("\n")
    while lines and lines[0].startswith(MARKER_PREFIX):
        lines.pop(0)
    return "\n".join(lines).strip()


def _tree(pull: GitHubPull, config: Config, tree_source: TreeSource, note: Note) -> AbstractContextManager[Path | None]:
    """The head's files: required by an agent on the chat route, read for code context when there is a checkout."""
    from reviewer.pipeline import needs_tree
    from reviewer.sources.checkout import optional

    if needs_tree(config, ("chat",)):
        return tree_source(pull.head())
    if config.review.context_tokens > 0:
        return optional(lambda: tree_source(pull.head()), note, "code context")
    return nullcontext(None)
