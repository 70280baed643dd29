"""The Action's side of things: which event calls for what, the action's inputs, its outputs.

Everything here is pure over the event payload and an environment mapping,
except `write_outputs`, which appends to `$GITHUB_OUTPUT`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reviewer.errors import ConfigError

PR_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
COMMANDS = {"/review": "review", "/summarize": "summarize"}
ASK = "/ask"  # `/ask QUESTION` in a pull request's conversation: answered under it
LEARN_EVENTS = ("schedule", "workflow_dispatch")  # `reviewer learn` for the repository
# Who may ask by comment; the API's collaborator permission is checked as well.
TRUSTED_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")


@dataclass(frozen=True)
class Asked:
    """A person's comment that may ask the reviewer something; whether it does, and whether they may, the settings decide."""

    comment_id: int
    question: str  # the comment's text (for `/ask`, what follows the command)
    login: str
    association: str  # GitHub's author_association of the comment
    thread: int | None  # a review comment: the first comment of its thread (itself, when it starts one); None for `/ask`


@dataclass(frozen=True)
class Decision:
    task: Literal["review", "summarize", "chat", "learn", "skip"]
    number: int | None = None
    reason: str = ""
    commenter: str | None = None  # a comment command: this user needs write access
    explicit: bool = False  # asked for by a person: review the whole PR, drafts too
    fork: bool = False  # a fork's PR on `pull_request`: no secrets, a read-only token
    asked: Asked | None = None  # task "chat": the comment to answer


def decide(event_name: str, payload: Mapping[str, Any]) -> Decision:
    if event_name in ("pull_request", "pull_request_target"):
        action = payload.get("action")
        number = (payload.get("pull_request") or {}).get("number")
        if action not in PR_ACTIONS:
            return Decision("skip", number, f"pull_request action {action!r} needs no review")
        return Decision("review", number, f"pull_request {action}", fork=event_name == "pull_request" and from_fork(payload))
    if event_name == "issue_comment":
        issue = payload.get("issue") or {}
        if issue.get("pull_request") is None:  # present (maybe empty) only on a PR
            return Decision("skip", None, "a comment on an issue, not on a pull request")
        if payload.get("action") != "created":
            return Decision("skip", issue.get("number"), f"comment {payload.get('action')}, not created")
        comment = payload.get("comment") or {}
        words = (comment.get("body") or "").strip().split()
        if words and words[0].lower() == ASK:
            return _ask(issue.get("number"), comment)
        task = COMMANDS.get(words[0].lower()) if words else None
        if task is None:
            return Decision("skip", issue.get("number"), "the comment is not a /review or /summarize command")
        login = (comment.get("user") or {}).get("login")
        if comment.get("author_association") not in TRUSTED_ASSOCIATIONS:
            return Decision("skip", issue.get("number"), f"{login} is not a collaborator of this repository")
        return Decision(task, issue.get("number"), f"{words[0]} from {login}", commenter=login, explicit=True)  # type: ignore[arg-type]
    if event_name == "pull_request_review_comment":
        number = (payload.get("pull_request") or {}).get("number")
        if payload.get("action") != "created":
            return Decision("skip", number, f"review comment {payload.get('action')}, not created")
        comment = payload.get("comment") or {}
        user = comment.get("user") or {}
        if _is_bot(user):
            return Decision("skip", number, f"{user.get('login')} is a bot: its comments get no answer")
        asked = Asked(
            int(comment.get("id") or 0), comment.get("body") or "", str(user.get("login")), str(comment.get("author_association") or "NONE"),
            int(comment.get("in_reply_to_id") or comment.get("id") or 0),
        )
        return Decision("chat", number, f"a review comment from {asked.login}", asked=asked)
    if event_name in LEARN_EVENTS:
        return Decision("learn", None, f"{event_name}: learn from the review threads of recent pull requests")
    return Decision("skip", None, f"the {event_name or 'unknown'} event is not one reviewer handles")


def _ask(number: int | None, comment: Mapping[str, Any]) -> Decision:
    user = comment.get("user") or {}
    if _is_bot(user):
        return Decision("skip", number, f"{user.get('login')} is a bot: its comments get no answer")
    question = (comment.get("body") or "").strip()[len(ASK) :].strip()
    if not question:
        return Decision("skip", number, f"{ASK} without a question")
    asked = Asked(int(comment.get("id") or 0), question, str(user.get("login")), str(comment.get("author_association") or "NONE"), None)
    return Decision("chat", number, f"{ASK} from {asked.login}", asked=asked)


def _is_bot(user: Mapping[str, Any]) -> bool:
    return user.get("type") == "Bot" or str(user.get("login") or "").endswith("[bot]")


def from_fork(payload: Mapping[str, Any]) -> bool:
    """Whether the PR's head branch lives in another repository than its base (a deleted fork has none).

    Not the head repository's `fork` flag: a repository that is itself a fork has it set
    on the PRs between its own branches, which get its secrets like any other.
    """
    pull = payload.get("pull_request") or {}
    head_repo = (pull.get("head") or {}).get("repo")
    base_repo = (pull.get("base") or {}).get("repo") or payload.get("repository") or {}
    if head_repo is None:
        return True
    return str(head_repo.get("full_name", "")).lower() != str(base_repo.get("full_name", "")).lower()


def read_event(environ: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    name = environ.get("GITHUB_EVENT_NAME", "")
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set: `reviewer action` runs inside GitHub Actions (use `reviewer pr` elsewhere)")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: cannot read the event ({exc})") from None
    return name, payload if isinstance(payload, dict) else {}


def repository(environ: Mapping[str, str]) -> str:
    repo = environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise ConfigError("GITHUB_REPOSITORY is not set (it is in every Actions job)")
    return repo


def action_input(environ: Mapping[str, str], name: str) -> str | None:
    """An input of our composite action, passed as INPUT_NAME (action.yml maps them); blank means unset."""
    value = environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()
    return value or None


def checkout(environ: Mapping[str, str]) -> Path | None:
    """The workflow's checkout, if it made one."""
    workspace = environ.get("GITHUB_WORKSPACE")
    if workspace and (Path(workspace) / ".git").exists():
        return Path(workspace)
    return None


def write_outputs(environ: Mapping[str, str], values: Mapping[str, str]) -> None:
    """Append step outputs to `$GITHUB_OUTPUT` (a random delimiter, so no value can end the block early)."""
    target = environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
