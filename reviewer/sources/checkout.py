"""The tree an agent backend reads on a pull request: the PR's head, on disk, without touching anyone's work.

An agent (Claude Code, OpenCode) reads the code around a change itself, so on
a pull request it needs the PR's files in a folder. In order of preference:

- `--checkout DIR`, or the Action's `GITHUB_WORKSPACE`: a checkout the user or
  the workflow made; it must be at the PR's head commit or a merge of it;
- the current clone, when it has the head commit: a temporary worktree at the
  head (the user's own working tree and branch are left alone);
- otherwise a shallow fetch of the head into a temporary clone, with the token
  passed to git through its environment (never on a command line or in a URL).

Temporary trees are removed when the run ends. The tree is PR content: it is
only ever read (by the withheld-aware, configuration-free copy agent backends
make of it), never executed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from reviewer.errors import ConfigError, DiffError

# A checkout runs the user's post-checkout hook (husky, git-lfs: often "npm install"): not on PR content.
NO_HOOKS = "core.hooksPath=/dev/null"
CHECKOUT_HINT = (
    "check out the PR's head in the workflow before the review step:\n"
    "  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2\n"
    "    with:\n"
    "      ref: ${{ github.event.pull_request.head.sha }}\n"
    "      persist-credentials: false"
)


@dataclass(frozen=True)
class PullHead:
    """Which commit the tree must hold, and where to fetch it from."""

    sha: str
    number: int
    clone_url: str  # the base repository's (refs/pull/N/head lives there, for forks too)
    token: str | None


def holds(root: Path, head: str) -> bool:
    """Whether the checkout at `root` is at `head`, or at a merge commit one of whose parents is `head`."""
    done = _git(root, "rev-parse", "HEAD", "HEAD^@")
    return done.returncode == 0 and head in done.stdout.split()


@contextmanager
def given(root: Path, head: PullHead, what: str) -> Iterator[Path]:
    """A checkout someone made (--checkout, GITHUB_WORKSPACE): used as it is, if it holds the head."""
    if not (root / ".git").exists():
        raise ConfigError(f"{what} {root} is not a git checkout; an agent backend on a pull request reads one: {CHECKOUT_HINT}")
    if not holds(root, head.sha):
        at = _git(root, "rev-parse", "--short", "HEAD").stdout.strip() or "no commit"
        raise ConfigError(
            f"{what} {root} is at {at}, not at the pull request's head {head.sha[:7]} or a merge of it, "
            f"so an agent would read other code than the diff; {CHECKOUT_HINT}"
        )
    yield root


@contextmanager
def temporary(clone: Path | None, head: PullHead, env: Mapping[str, str]) -> Iterator[Path]:
    """A worktree of `clone` at the head when it has the commit, else a shallow fetch into a temporary clone."""
    holder = Path(tempfile.mkdtemp(prefix="reviewer-pr-"))
    tree = holder / "tree"
    added_worktree = False
    try:
        if clone is not None and _git(clone, "cat-file", "-e", f"{head.sha}^{{commit}}").returncode == 0:
            _check(_git(clone, "-c", NO_HOOKS, "worktree", "add", "--detach", "--quiet", str(tree), head.sha), "create a worktree at the head")
            added_worktree = True
        else:
            _fetch(tree, head, env)
        yield tree
    finally:
        if added_worktree and clone is not None:
            _git(clone, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(holder, ignore_errors=True)


@contextmanager
def optional(source: Callable[[], AbstractContextManager[Path]], note: Callable[[str], None], use: str) -> Iterator[Path | None]:
    """The tree when it can be had; else None and a note (code context and tools do without one, agents cannot)."""
    with ExitStack() as stack:
        try:
            tree: Path | None = stack.enter_context(source())
        except (ConfigError, DiffError) as exc:
            note(f"reviewer: no checkout of the pull request's head for {use} ({exc})")
            tree = None
        yield tree


def _fetch(tree: Path, head: PullHead, env: Mapping[str, str]) -> None:
    """`git fetch --depth 1` of refs/pull/N/head, checked out detached; the token goes in an http header via env."""
    fetching = {**env, "GIT_TERMINAL_PROMPT": "0"}
    if head.token:
        import base64

        basic = base64.b64encode(f"x-access-token:{head.token}".encode()).decode()
        # GIT_CONFIG_* (git 2.31+) keeps the token off the command line and out of .git/config.
        fetching |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader", "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}

    def fetch(ref: str) -> subprocess.CompletedProcess[str]:
        return _git(tree, "fetch", "--depth", "1", "--no-tags", head.clone_url, ref, env=fetching)

    done = _git(tree.parent, "init", "--quiet", str(tree))
    if done.returncode == 0:
        done = fetch(f"refs/pull/{head.number}/head")
    if done.returncode == 0 and _git(tree, "rev-parse", "FETCH_HEAD").stdout.strip() != head.sha:
        # The PR moved on since its head was read: the agent must read the code the diff is of.
        done = fetch(head.sha)
    if done.returncode == 0:
        done = _git(tree, "-c", NO_HOOKS, "checkout", "--detach", "--quiet", head.sha)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [""]
        raise DiffError(
            f"cannot fetch the pull request's head {head.sha[:7]} for an agent backend ({detail[0]}); "
            "run from a clone that has it, or pass --checkout DIR"
        )


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode != 0:
        raise DiffError(f"cannot {what}: {done.stderr.strip()}")
