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

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import PublishError
from reviewer.github import answers
from reviewer.github.api import PullInfo, PullRef, describe, open_pull, pull_info
from reviewer.github.base_files import BaseBranchFiles
from reviewer.github.comments import SUMMARY_MARKER, PostedState, comment_heading, comment_title, fingerprint_of, last_head_in
from reviewer.github.converge import ADDRESSED_MARKER, OurComment, Thread, calls_wrong, declines, decode
from reviewer.github.patches import (
    FilePatch,
    ListedFile,
    PullDiff,
    PullText,
    changes_since,
    file_patch,
    listed,
    pull_diff,
    pull_text,
)

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
        self._since: dict[tuple[str, Path | None], PullDiff | None] = {}
        self._state: PostedState | None = None
        self._me: str | None = None

    @classmethod
    def open(cls, gh: Github, ref: PullRef) -> GitHubPull:
        repo, pull = open_pull(gh, ref)
        return cls(gh, ref, repo, pull)

    @property
    def api(self) -> str:
        """The REST base this pull request is read from."""
        return str(self.gh.requester.base_url)

    @cached_property
    def info(self) -> PullInfo:
        return pull_info(self.pull, self.ref.repo)

    @cached_property
    def base_files(self) -> BaseBranchFiles:
        """The base branch's files: where the review's settings, templates and guidelines come from."""
        return BaseBranchFiles(self.repo, self.pull.base.sha)

    @cached_property
    def files(self) -> list[ListedFile]:
        """The PR's files, each patch parsed as it arrives and its text let go (patches.ListedFile)."""
        return [listed(f) for f in self._listing()]

    def whole(self, checkout: Path | None) -> PullDiff:
        """The PR's whole diff, its missing patches filled in from `checkout` when there is one."""
        if checkout not in self._diffs:
            self._diffs[checkout] = pull_diff(self.files, self.info, checkout)
        return self._diffs[checkout]

    def text(self, checkout: Path | None) -> PullText:
        """The PR's whole diff as `git diff` text, read for that alone (`files` keeps no text)."""
        return pull_text(list(self._listing()), self.info, checkout)

    def _listing(self) -> Iterator[FilePatch]:
        """`/pulls/{n}/files` as it is read, a page (100 files) at a time."""
        from github import GithubException

        try:
            yield from (file_patch(f) for f in self.pull.get_files())
        except GithubException as exc:
            raise PublishError(f"cannot list the files of {self.ref.repo}#{self.ref.number}: {describe(exc)}") from None

    def since(self, sha: str, checkout: Path | None) -> PullDiff | None:
        """What changed since `sha` within the PR's files; None when that cannot be told (a force-push)."""
        if (sha, checkout) not in self._since:
            paths = [f.path for f in self.whole(checkout).diff.files]
            self._since[(sha, checkout)] = changes_since(self.repo, sha, self.info, paths, checkout)
        return self._since[(sha, checkout)]

    def pushed(self, sha: str) -> PullDiff | None:
        """What changed since `sha`, as this run already read it if it did (with or without a checkout)."""
        known = [diff for (since, _), diff in self._since.items() if since == sha]
        return known[0] if known else self.since(sha, None)

    def me(self, bot_login: str) -> str:
        """The login our comments are posted as."""
        if self._me is None:
            self._me = _viewer(self.gh, bot_login)
        return self._me

    @cached_property
    def review_comments(self) -> list[Any]:
        """Every review comment of the pull request (PyGithub objects), ours and everyone's."""
        from github import GithubException

        try:
            return list(self.pull.get_review_comments())
        except GithubException as exc:
            raise PublishError(f"cannot read the review comments of pull request #{self.ref.number}: {describe(exc)}") from None

    @property
    def from_fork(self) -> bool:
        """Whether the head branch lives in another repository (a deleted fork has none)."""
        head_repo = self.pull.head.repo
        return head_repo is None or head_repo.full_name.lower() != self.ref.repo.lower()

    def state(self, bot_login: str) -> PostedState:
        """Our summary comment, its hidden state and head SHA, and our comments' threads: nobody else's."""
        from github import GithubException

        if self._state is None:
            me = self.me(bot_login)
            try:
                summaries = [c for c in self.pull.get_issue_comments() if ours(c.user, me) and (c.body or "").startswith(SUMMARY_MARKER)]
            except GithubException as exc:
                raise PublishError(f"cannot read the comments of pull request #{self.ref.number}: {describe(exc)}") from None
            summary = summaries[-1] if summaries else None
            body = summary.body if summary is not None else ""
            self._state = PostedState(me, summary, last_head_in(body) if summary else None, _threads_of(self.review_comments, me), decode(body))
        return self._state

    def threads(self, state: PostedState) -> list[Thread]:
        """The review threads our comments started, from GitHub's GraphQL API (REST does not say resolved or outdated)."""
        ours = {c.id: c for c in state.comments}
        if not ours:
            return []  # spare the query: nothing of ours to converge
        owner, name = self.ref.repo.split("/")
        found: list[Thread] = []
        after: str | None = None
        while True:
            _, data = self.gh.requester.graphql_query(THREADS_QUERY, {"owner": owner, "name": name, "number": self.ref.number, "after": after})
            page = data["data"]["repository"]["pullRequest"]["reviewThreads"]
            for node in page["nodes"]:
                first = (node["comments"]["nodes"] or [{}])[0]
                root = ours.get(first.get("databaseId"))
                if root is None:
                    continue
                by = (node.get("resolvedBy") or {}).get("login")
                found.append(Thread(node["id"], root, bool(node["isResolved"]), _same_login(by, state.me), bool(node["isOutdated"]), bool(node["viewerCanResolve"])))
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

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


def ours(user: Any, me: str) -> bool:
    """Written by our own account; any other account, bots included, may copy our markers."""
    return user is not None and str(user.login).lower() == me.lower()


def _same_login(graphql_login: str | None, me: str) -> bool:
    """GraphQL names a bot without the `[bot]` that REST shows (`github-actions` for `github-actions[bot]`)."""
    return graphql_login is not None and graphql_login.lower().removesuffix("[bot]") == me.lower().removesuffix("[bot]")


def _threads_of(comments: list[Any], me: str) -> tuple[OurComment, ...]:
    """The first comment of each thread we started, and what was said in it since."""
    replies: dict[int, list[Any]] = {}
    for c in comments:
        if c.in_reply_to_id is not None:
            replies.setdefault(c.in_reply_to_id, []).append(c)
    out: list[OurComment] = []
    for c in comments:
        if c.in_reply_to_id is not None or not ours(c.user, me):
            continue
        fingerprint = fingerprint_of(c.body)
        if fingerprint is None:
            continue
        thread = replies.get(c.id, [])
        theirs = [r for r in thread if not ours(r.user, me)]
        mine = [r.body or "" for r in thread if ours(r.user, me)]
        out.append(
            OurComment(
                c.id, fingerprint, c.path, comment_heading(c.body)[1],
                severity=comment_heading(c.body)[0],
                answered=bool(theirs),
                declined=any(declines(r.body) for r in theirs),
                team_declined=any(declines(r.body) for r in theirs if _team(r)),
                team_wrong=any(calls_wrong(r.body) for r in theirs if _team(r)),
                team_replied=any(_team(r) for r in theirs),
                acknowledged=any(ADDRESSED_MARKER in body for body in mine),
                wrong=any(calls_wrong(r.body) for r in theirs),
                replied=any(answers.answered(body) is not None for body in mine),
                conceded=any(answers.conceded(body) for body in mine),
                not_useful=int((c.reactions or {}).get("-1") or 0) > 0,
                title=comment_title(c.body),
                url=c.html_url or "",
            )
        )
    return tuple(out)


# One page of a pull request's review threads; the first comment tells ours (by its REST id).
THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          isOutdated
          viewerCanResolve
          resolvedBy { login }
          comments(first: 1) { nodes { databaseId } }
        }
      }
    }
  }
}
"""


def _team(comment: Any) -> bool:
    """Written by someone the repository trusts (its author_association), not by anyone who may comment."""
    from reviewer.github.event import TRUSTED_ASSOCIATIONS

    return str(getattr(comment, "author_association", "") or "").upper() in TRUSTED_ASSOCIATIONS
