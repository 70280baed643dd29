"""One pull request on GitHub, read once per run: the pull, its files, and what our earlier runs left on it.

Everything a run needs from GitHub goes through one `GitHubPull`: the PR's
metadata, its settings on the base branch, its diff ("the change"), and the
state of our earlier comments, each read at most once (every list is
paginated, so a second read would cost a request per hundred items). Posting
takes the same object (reviewer.github.posting), so nothing is read twice.

The pull request's title, body, files and comments are untrusted; the base
branch's files are the trusted side (see base_files).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import PublishError
from reviewer.github.api import PullInfo, PullRef, describe, open_pull, pull_info
from reviewer.github.base_files import BaseBranchFiles
from reviewer.github.comments import SUMMARY_MARKER, PostedState, fingerprints_in, last_head_in
from reviewer.github.patches import FilePatch, PullDiff, changes_since, file_patch, pull_diff

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

    from reviewer.sources.checkout import PullHead


class GitHubPull:
    def __init__(self, gh: Github, ref: PullRef, repo: Repository, pull: PullRequest) -> None:
        self.gh = gh
        self.ref = ref
        self.repo = repo
        self.pull = pull
        self._diffs: dict[Path | None, PullDiff] = {}
        self._state: PostedState | None = None

    @classmethod
    def open(cls, gh: Github, ref: PullRef) -> GitHubPull:
        repo, pull = open_pull(gh, ref)
        return cls(gh, ref, repo, pull)

    @cached_property
    def info(self) -> PullInfo:
        return pull_info(self.pull, self.ref.repo)

    @cached_property
    def base_files(self) -> BaseBranchFiles:
        """The base branch's files: where the review's settings, templates and guidelines come from."""
        return BaseBranchFiles(self.repo, self.pull.base.sha)

    @cached_property
    def files(self) -> list[FilePatch]:
        from github import GithubException

        try:
            return [file_patch(f) for f in self.pull.get_files()]
        except GithubException as exc:
            raise PublishError(f"cannot list the files of {self.ref.repo}#{self.ref.number}: {describe(exc)}") from None

    def whole(self, checkout: Path | None) -> PullDiff:
        """The PR's whole diff, its missing patches filled in from `checkout` when there is one."""
        if checkout not in self._diffs:
            self._diffs[checkout] = pull_diff(self.files, self.info, checkout)
        return self._diffs[checkout]

    def since(self, sha: str, checkout: Path | None) -> PullDiff | None:
        """What changed since `sha` within the PR's files; None when that cannot be told (a force-push)."""
        return changes_since(self.repo, sha, self.info, [f.path for f in self.whole(checkout).diff.files], checkout)

    def state(self, bot_login: str) -> PostedState:
        """Our summary comment, the head SHA it records, and the fingerprints of our comments: nobody else's."""
        from github import GithubException

        if self._state is None:
            me = _viewer(self.gh, bot_login)
            try:
                summaries = [c for c in self.pull.get_issue_comments() if _ours(c.user, me) and (c.body or "").startswith(SUMMARY_MARKER)]
                bodies = [c.body for c in self.pull.get_review_comments() if _ours(c.user, me)]
            except GithubException as exc:
                raise PublishError(f"cannot read the comments of pull request #{self.ref.number}: {describe(exc)}") from None
            summary = summaries[-1] if summaries else None
            self._state = PostedState(summary, last_head_in(summary.body) if summary else None, fingerprints_in(bodies))
        return self._state

    def head(self) -> PullHead:
        """Where the PR's head commit can be fetched from (the base repository has refs/pull/N/head, forks too)."""
        from reviewer.sources.checkout import PullHead

        token = getattr(self.gh.requester.auth, "token", None)  # the run's own token, for a fetch over https
        return PullHead(self.info.head_sha, self.ref.number, self.repo.clone_url, str(token) if token else None)


def _viewer(gh: Github, bot_login: str) -> str:
    """Our login: the token's own where it may ask (a personal token), else the bot the token posts as."""
    from github import GithubException

    # `ghs_` tokens (GITHUB_TOKEN, GitHub Apps) are refused GET /user: spare the request and its 403 in the log.
    if str(getattr(gh.requester.auth, "token", "")).startswith("ghs_"):
        return bot_login
    try:
        return str(gh.get_user().login)
    except GithubException:
        return bot_login


def _ours(user: Any, me: str) -> bool:
    """Written by our own account; any other account, bots included, may copy our markers."""
    return user is not None and str(user.login).lower() == me.lower()
