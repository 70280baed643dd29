"""The local change, read from a git checkout with GitPython."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.errors import DiffError

if TYPE_CHECKING:
    from git import Repo

# Flags that make `git diff` output independent of the user's git config:
# fixed a/ b/ prefixes, unquoted unicode paths, no colour or external tools.
_DIFF_FLAGS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "-M",
    "-C",
    "--unified=3",
)


@dataclass(frozen=True)
class LocalChange:
    """What `reviewer local` reviews: the raw diff and how it was chosen."""

    root: Path
    raw: bytes
    description: str  # e.g. "merge base with origin/main (3f2a1c9) → working tree"
    head_sha: str | None
    untracked: tuple[str, ...] = ()  # new files git does not track yet: not in the diff, but not forgotten


def open_repo(path: Path) -> Repo:
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise DiffError(
            f"{path} is not inside a git repository: run reviewer from your checkout, or `git init` first"
        ) from None


def collect(
    repo: Repo,
    *,
    base: str | None = None,
    staged: bool = False,
    commit_range: str | None = None,
) -> LocalChange:
    """Collect the diff the contract's `reviewer local` options ask for."""
    if sum(bool(x) for x in (base, staged, commit_range)) > 1:
        raise DiffError("choose one of --base, --staged and --range")
    root = Path(repo.working_tree_dir or ".")
    head = _head_sha(repo)
    if staged:
        target = "HEAD" if head else _empty_tree(repo)
        return LocalChange(root, _diff(repo, "--cached", target), "staged changes (index → HEAD)", head)
    if commit_range:
        if ".." not in commit_range:
            raise DiffError(f"--range {commit_range!r} is not a range: write it as A..B (or A...B)")
        _check_range(repo, commit_range)
        end = commit_range.split("..")[-1].lstrip(".") or "HEAD"
        return LocalChange(root, _diff(repo, commit_range), f"range {commit_range}", _rev(repo, end))
    if head is None:
        # A repository with no commit yet: everything staged is new.
        return LocalChange(root, _diff(repo, "--cached", _empty_tree(repo)), "first commit (index)", None)
    base_ref = base or detect_base(repo)
    merge_base = _merge_base(repo, base_ref)
    return LocalChange(
        root,
        _diff(repo, merge_base),
        f"merge base with {base_ref} ({merge_base[:9]}) → working tree",
        head,
        _untracked(repo),
    )


def detect_base(repo: Repo) -> str:
    """The branch's upstream, else origin/HEAD, else main or master."""
    import git

    candidates: list[str] = []
    try:
        candidates.append(repo.git.rev_parse("--abbrev-ref", "--symbolic-full-name", "@{upstream}"))
    except git.GitCommandError:
        pass
    try:
        candidates.append(repo.git.symbolic_ref("--short", "refs/remotes/origin/HEAD"))
    except git.GitCommandError:
        pass
    candidates += ["main", "master", "origin/main", "origin/master"]
    for ref in candidates:
        if ref and _rev(repo, ref):
            return ref
    raise DiffError(
        "no base branch found (no upstream, no origin/HEAD, no main or master): "
        "name one with --base REF, or review the index with --staged"
    )


def _merge_base(repo: Repo, ref: str) -> str:
    import git

    if not _rev(repo, ref):
        raise DiffError(f"--base {ref!r} is not a branch, tag or commit in this repository")
    try:
        return str(repo.git.merge_base(ref, "HEAD")).strip()
    except git.GitCommandError:
        if (Path(repo.git_dir) / "shallow").exists():
            raise DiffError(
                f"this is a shallow clone and the history between HEAD and {ref} is missing: "
                "run `git fetch --unshallow` (or `git fetch --deepen=200`), "
                "or set `fetch-depth: 0` in actions/checkout"
            ) from None
        raise DiffError(f"HEAD and {ref} share no history: pick another --base, or use --range A..B") from None


def _check_range(repo: Repo, commit_range: str) -> None:
    for end in commit_range.replace("...", "..").split(".."):
        if end and not _rev(repo, end):
            raise DiffError(f"--range {commit_range!r}: {end!r} is not a commit in this repository")


def _rev(repo: Repo, ref: str) -> str | None:
    import git

    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")).strip() or None
    except git.GitCommandError:
        return None


def _head_sha(repo: Repo) -> str | None:
    return _rev(repo, "HEAD")


def _untracked(repo: Repo) -> tuple[str, ...]:
    """Files git does not track and does not ignore; names that are not UTF-8 survive as \\xNN."""
    from reviewer.diff import display_path

    out = repo.git.execute(
        ["git", "ls-files", "-z", "--others", "--exclude-standard"], stdout_as_string=False, strip_newline_in_stdout=False
    )
    assert isinstance(out, bytes)
    return tuple(display_path(name.decode("utf-8", "surrogateescape")) for name in out.split(b"\0") if name)


def _empty_tree(repo: Repo) -> str:
    return str(repo.git.hash_object("-t", "tree", "/dev/null")).strip()


def _diff(repo: Repo, *args: str) -> bytes:
    import git

    try:
        out = repo.git.execute(
            ["git", "-c", "core.quotepath=false", "diff", *_DIFF_FLAGS, *args, "--"],
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandError as exc:
        raise DiffError(f"git diff failed: {exc.stderr.strip() or exc}") from None
    assert isinstance(out, bytes)
    return out


def find_root(path: Path) -> Path | None:
    """The top of the git checkout holding `path`, or None outside one (no error: config works anywhere)."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
