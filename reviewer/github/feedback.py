"""What people said to our comments on a repository's recent pull requests: the evidence `reviewer learn` groups.

Per pull request (the most recently updated first, within `since` and
`limit`): our comments and their threads through GitHubPull (the review
comments with their reaction counts, our summary's hidden state over REST;
whether each thread is resolved, by whom and whether its lines changed over
GraphQL). Only threads our account started count; what anyone else's
comments say about them is data, read for the signals below and never
followed.

A thread is evidence once, as the strongest of: a person called the finding
a false positive, or our own answer conceded it (false-positive); a person
declined it (wont-fix); someone reacted 👎, or a person resolved the thread
while its lines stayed as they were (not-useful).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from reviewer.errors import PublishError
from reviewer.github.api import PullRef, describe
from reviewer.github.converge import OurComment, Thread
from reviewer.learnings import Evidence

if TYPE_CHECKING:
    from github import Github

Note = Callable[[str], None]


@dataclass(frozen=True)
class Read:
    evidence: tuple[Evidence, ...]
    pulls: int  # pull requests read
    threads: int  # threads of ours on them


def collect(gh: Github, repo_name: str, *, since: datetime, limit: int, bot_login: str, note: Note) -> Read:
    from github import GithubException

    from reviewer.github.pull import GitHubPull

    try:
        repo = gh.get_repo(repo_name)
        listed = repo.get_pulls(state="all", sort="updated", direction="desc")
        evidence: list[Evidence] = []
        pulls = threads = 0
        for pr in listed:
            if pulls >= limit or _utc(pr.updated_at) < since:
                break
            pulls += 1
            pull = GitHubPull(gh, PullRef(repo_name, pr.number), repo, pr)
            state = pull.state(bot_login)
            if not state.comments:
                continue
            threads += len(state.comments)
            try:
                found = {t.root.id: t for t in pull.threads(state)}
            except GithubException as exc:
                note(f"reviewer: #{pr.number}: cannot read whether its threads are resolved ({describe(exc)}); counting replies and reactions only")
                found = {}
            for comment in state.comments:
                signal = _signal(comment, found.get(comment.id), state.memory.fixed)
                if signal is not None and comment.category:
                    evidence.append(Evidence(repo_name, pr.number, comment.url, comment.path, comment.category, comment.title, *signal))
    except GithubException as exc:
        raise PublishError(f"cannot read the pull requests of {repo_name}: {describe(exc)}") from None
    return Read(tuple(evidence), pulls, threads)


def _signal(comment: OurComment, thread: Thread | None, fixed: frozenset[str]) -> tuple[str, str] | None:
    """(kind, why) for a thread that says the finding was not worth it; None for any other."""
    # Replies count only from the team: anyone may comment on a public pull request, and a learning reaches
    # every later review. (A 👎 or a resolution shows its evidence link in the learnings pull request, which
    # a person reviews before it takes effect.)
    if comment.conceded and comment.team_replied:
        return "false-positive", "the reviewer conceded"
    if comment.team_wrong:
        return "false-positive", "a reply called it wrong"
    if comment.team_declined:
        return "wont-fix", "a reply declined it"
    if comment.not_useful:
        return "not-useful", "👎"
    if thread is not None and thread.resolved and not thread.resolved_by_us and comment.fingerprint not in fixed and not thread.outdated:
        return "not-useful", "resolved without a change"
    return None


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
