"""GitHub's REST API as reviewer uses it: which pull request, where its API is, a connection, errors in one line.

`GITHUB_API_URL` is honoured (GitHub Enterprise Server); a PR URL names its own host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.errors import ConfigError, PublishError

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

DEFAULT_API_URL = "https://api.github.com"
_PR_URL = re.compile(r"^https?://(?P<host>[^/]+)/(?P<repo>[^/]+/[^/]+)/pull/(?P<number>\d+)(?:[/?#].*)?$")


@dataclass(frozen=True)
class PullRef:
    repo: str  # owner/name
    number: int
    host: str | None = None  # from a PR URL: where its API lives, when GITHUB_API_URL does not say


@dataclass(frozen=True)
class PullInfo:
    repo: str
    number: int
    title: str
    body: str
    author: str
    author_is_bot: bool
    draft: bool
    labels: tuple[str, ...]
    head_sha: str
    base_sha: str
    changed_files: int
    changed_lines: int

    @property
    def description(self) -> str:
        """What the prompts get as the change's description."""
        return f"Pull request #{self.number}: {self.title}\n\n{self.body}".strip()


def parse_ref(url: str | None, repo: str | None, number: int | None) -> PullRef:
    """A PR from its URL, or from --repo and --number."""
    if url:
        match = _PR_URL.match(url.strip())
        if not match:
            raise ConfigError(f"{url!r} is not a pull request URL like https://github.com/OWNER/NAME/pull/123")
        return PullRef(match["repo"], int(match["number"]), match["host"])
    if not repo or number is None:
        raise ConfigError("name the pull request: a URL, or --repo OWNER/NAME --number N")
    if repo.count("/") != 1:
        raise ConfigError(f"--repo {repo!r} must be OWNER/NAME")
    return PullRef(repo, number)


def api_url(environ: Mapping[str, str], host: str | None = None) -> str:
    """GitHub's REST base: `GITHUB_API_URL` (set by Actions), else the PR URL's Enterprise Server, else github.com."""
    if environ.get("GITHUB_API_URL"):
        return environ["GITHUB_API_URL"].rstrip("/")
    if host and host.lower() not in ("github.com", "www.github.com"):
        return f"https://{host}/api/v3"
    return DEFAULT_API_URL


def connect(token: str | None, base_url: str, seconds_between_writes: float) -> Github:
    import github

    if not token:
        raise ConfigError("no GitHub token: set GITHUB_TOKEN or pass --token")
    return github.Github(
        base_url=base_url,
        auth=github.Auth.Token(token),
        per_page=100,
        timeout=60,
        seconds_between_requests=0,
        seconds_between_writes=seconds_between_writes,
        user_agent="reviewer",
    )


def open_pull(gh: Github, ref: PullRef) -> tuple[Repository, PullRequest]:
    from github import GithubException

    try:
        repo = gh.get_repo(ref.repo)
        return repo, repo.get_pull(ref.number)
    except GithubException as exc:
        raise PublishError(f"cannot read {ref.repo}#{ref.number} from GitHub: {describe(exc)}") from None


def pull_info(pr: PullRequest, repo: str) -> PullInfo:
    return PullInfo(
        repo=repo,
        number=pr.number,
        title=pr.title or "",
        body=pr.body or "",
        author=pr.user.login,
        author_is_bot=pr.user.type == "Bot" or pr.user.login.endswith("[bot]"),
        draft=bool(pr.draft),
        labels=tuple(label.name for label in pr.labels),
        head_sha=pr.head.sha,
        base_sha=pr.base.sha,
        changed_files=pr.changed_files,
        changed_lines=pr.additions + pr.deletions,
    )


@contextmanager
def github_errors() -> Iterator[None]:
    """Any GitHub or network failure not handled closer to it becomes one PublishError line (exit 3), not a traceback."""
    from github import GithubException
    from requests import RequestException

    try:
        yield
    except GithubException as exc:
        raise PublishError(f"GitHub answered {describe(exc)}") from None
    except RequestException as exc:
        raise PublishError(f"cannot reach GitHub: {exc}") from None


def describe(exc: Exception) -> str:
    """One line from a GithubException: status and GitHub's message."""
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    errors = data.get("errors") if isinstance(data, dict) else None
    detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors or [])
    text = " ".join(p for p in (str(status or ""), message or str(exc), f"({detail})" if detail else "") if p)
    return text.strip()
