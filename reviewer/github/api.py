"""GitHub's REST API as reviewer uses it: which pull request, where its API is, a connection, errors in one line.

`GITHUB_API_URL` is honoured (GitHub Enterprise Server, GHE.com); a PR URL names its own
host, and the two must agree. Every request names the REST API version it was written for.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reviewer.config import GitHubSettings
from reviewer.errors import ConfigError, PublishError

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

    from github import Github
    from github.PullRequest import PullRequest
    from github.Repository import Repository

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"  # the REST API version this code follows (X-GitHub-Api-Version)
_PR_URL = re.compile(r"^(?P<scheme>https?)://(?P<host>[^/]+)/(?P<repo>[^/]+/[^/]+)/pull/(?P<number>\d+)(?:[/?#].*)?$")


@dataclass(frozen=True)
class PullRef:
    repo: str  # owner/name
    number: int
    host: str | None = None  # from a PR URL: the web host, which says where its API lives
    scheme: str = "https"


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
        return PullRef(match["repo"], int(match["number"]), match["host"].lower(), match["scheme"])
    if not repo or number is None:
        raise ConfigError("name the pull request: a URL, or --repo OWNER/NAME --number N")
    if repo.count("/") != 1:
        raise ConfigError(f"--repo {repo!r} must be OWNER/NAME")
    return PullRef(repo, number)


def api_url(environ: Mapping[str, str], ref: PullRef | None = None) -> str:
    """GitHub's REST base: `GITHUB_API_URL` (set by Actions), else the PR URL's host's, else github.com's.

    When both are known they must agree: a PR URL of one host and an API of another is a
    mistake to report, not to resolve silently by sending the token to either.
    """
    given = environ.get("GITHUB_API_URL", "").strip().rstrip("/")
    from_url = host_api(ref.host, ref.scheme) if ref is not None and ref.host else None
    if given and from_url and not same_api(given, from_url):
        raise ConfigError(
            f"the pull request is on {ref.host} (API {from_url}), but GITHUB_API_URL is {given}: "  # type: ignore[union-attr]
            "unset GITHUB_API_URL, or name a pull request of that host"
        )
    return given or from_url or DEFAULT_API_URL


def host_api(host: str, scheme: str = "https") -> str:
    """Where a web host's REST API is: github.com's, GHE.com's `api.SUBDOMAIN.ghe.com`, else Enterprise Server's `/api/v3`."""
    host = host.lower()
    if host in ("github.com", "www.github.com"):
        return DEFAULT_API_URL
    if host.endswith(".ghe.com"):
        return f"{scheme}://api.{host}"
    return f"{scheme}://{host}/api/v3"


def same_api(a: str, b: str) -> bool:
    """Whether two REST base URLs are the same API (case of the host and a trailing slash aside)."""
    from urllib.parse import urlsplit

    first, second = urlsplit(a.rstrip("/")), urlsplit(b.rstrip("/"))
    return (first.scheme, first.netloc.lower(), first.path) == (second.scheme, second.netloc.lower(), second.path)


def connect(token: str | None, base_url: str, settings: GitHubSettings) -> Github:
    """A client whose retries never send a write twice and whose rate-limit waits stay within the run's cap."""
    defer_jwt()
    import github

    from reviewer.github.limits import GitHubRetry, WaitBudget

    if not token:
        raise ConfigError("no GitHub token: set GITHUB_TOKEN or pass --token")
    return github.Github(
        base_url=base_url,
        auth=github.Auth.Token(token),
        per_page=100,
        timeout=settings.request_timeout,
        retry=GitHubRetry(WaitBudget(settings.max_rate_limit_wait), settings.secondary_rate_wait),
        seconds_between_requests=0,
        seconds_between_writes=settings.seconds_between_writes,
        user_agent="reviewer",
        api_version=API_VERSION,
    )


def connection_settings(settings: GitHubSettings) -> tuple[float, float, float, int]:
    """What `connect` takes from the settings: a client made with other values must be made again."""
    return (settings.seconds_between_writes, settings.max_rate_limit_wait, settings.secondary_rate_wait, settings.request_timeout)


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
    defer_jwt()
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


def defer_jwt() -> None:
    """Let PyGithub's `import jwt` load nothing until a JSON Web Token is made (GitHub App auth, which reviewer never does).

    PyJWT brings in `cryptography`: about 9 MB and 0.1 s of every run on GitHub, a third of what importing
    PyGithub costs. Called before PyGithub is first imported (`github_errors` and `connect` come first on
    every path); once anything has imported either, it does nothing.
    """
    from importlib.util import find_spec

    if "jwt" in sys.modules or "github" in sys.modules:
        return
    spec = find_spec("jwt")
    if spec is not None:
        sys.modules["jwt"] = _Deferred(spec)


class _Deferred(ModuleType):
    """A module that imports itself on the first attribute asked of it, and from then on is that module."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec  # what `import` reads of a module already in sys.modules: present, so it loads nothing

    def __getattr__(self, name: str) -> Any:
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)
