"""A pull request's diff from GitHub's per-file patches, and what changed since an earlier reviewed commit.

The diff is built from `/pulls/{n}/files` (per-file patches, paginated, at most
3,000 files) rather than the raw `.diff` media type, which GitHub refuses past
300 files or 20,000 lines. Where GitHub omits a file's patch (binary or too
large), a local checkout fills it in when there is one; otherwise the file is
listed as not reviewed, with the reason. File names are PR content: they are
quoted the way git quotes them, so any name parses back to itself. Each file's
patch is parsed as it is read and its text let go: no text of the whole diff is
made for a review (only `eval import`, which saves it, asks for one).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.diff import Diff, FileDiff, parse_diff
from reviewer.filters import Skipped

if TYPE_CHECKING:
    from github.Repository import Repository

    from reviewer.github.api import PullInfo

GITHUB_FILE_LIMIT = 3000  # `/pulls/{n}/files` lists no more than this
COMPARE_FILE_LIMIT = 300  # a comparison lists no more than this
_NO_PATCH = "GitHub sent no patch (binary or too large) and no local checkout has the commits"
_SHALLOW_HINT = "a shallow checkout lacks them: use actions/checkout with fetch-depth: 0"


@dataclass(frozen=True)
class FilePatch:
    """One entry of `/pulls/{n}/files` or of a comparison, as we need it."""

    path: str
    previous_path: str | None
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    patch: str | None  # None: GitHub sent none (binary, or too large)
    changes: int = 0  # lines added and removed, as GitHub counts them


@dataclass(frozen=True)
class ListedFile:
    """One file of the pull request as listed, its patch parsed as it arrived.

    The patch text is not kept: on a large PR the patches run to megabytes (four
    bytes a character in a file with one emoji), and the review needs only the
    parsed lines.
    """

    path: str
    parsed: tuple[FileDiff, ...] | None  # None: GitHub sent no patch (binary, or too large); a checkout may fill it in


@dataclass(frozen=True)
class PullDiff:
    diff: Diff
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class PullText:
    """The PR's diff as `git diff` writes it (what an eval case keeps), and the files it leaves out."""

    text: str
    skipped: tuple[Skipped, ...]


def listed(f: FilePatch) -> ListedFile:
    """`f`, its patch parsed, or marked as one only a checkout can give."""
    return ListedFile(f.path, parse_diff(synthesize(f)).files if _sent(f) else None)


def pull_diff(files: list[ListedFile], info: PullInfo, checkout: Path | None) -> PullDiff:
    """The PR's whole diff from its listed files, filled in from `checkout` where GitHub sent no patch."""
    return assemble(files, info.base_sha, info.head_sha, checkout, _unlisted(info, len(files)))


def pull_text(files: list[FilePatch], info: PullInfo, checkout: Path | None) -> PullText:
    """The PR's whole diff as text, filled in from `checkout` where GitHub sent no patch."""
    skipped = _unlisted(info, len(files))
    sections = (synthesize(f) if _sent(f) else _filled(checkout, info.base_sha, info.head_sha, f.path, skipped) for f in files)
    return PullText("".join(s for s in sections if s), tuple(skipped))


def _unlisted(info: PullInfo, count: int) -> list[Skipped]:
    """The files past GitHub's listing limit, as one skipped entry."""
    if info.changed_files <= count:
        return []
    return [Skipped(f"({info.changed_files - count} more files)", f"GitHub lists at most {GITHUB_FILE_LIMIT:,} files of a pull request")]


def changes_since(repo: Repository, since_sha: str, info: PullInfo, pr_paths: Iterable[str], checkout: Path | None) -> PullDiff | None:
    """What changed between the last reviewed SHA and the head, within the PR's files.

    None when an incremental review is not possible (the SHA is gone or no
    longer an ancestor of the head, as after a force-push): review it all.
    """
    from github import GithubException

    try:
        comparison = repo.compare(since_sha, info.head_sha)
        status = comparison.status
        files = [file_patch(f) for f in comparison.files]
    except GithubException:
        return None
    if status not in ("ahead", "identical") or len(files) >= COMPARE_FILE_LIMIT:
        return None  # not a plain continuation, or too many files to see them all: review it all
    # A merge of the base branch brings in files that are not the PR's: keep only the PR's own.
    wanted = set(pr_paths)
    return build_diff([f for f in files if f.path in wanted], since_sha, info.head_sha, checkout, [])


def build_diff(files: Iterable[FilePatch], base_sha: str, head_sha: str, checkout: Path | None, skipped: list[Skipped]) -> PullDiff:
    return assemble(map(listed, files), base_sha, head_sha, checkout, skipped)


def assemble(files: Iterable[ListedFile], base_sha: str, head_sha: str, checkout: Path | None, skipped: list[Skipped]) -> PullDiff:
    """The diff of `files`, each parsed on its own (no text of the whole diff is ever made)."""
    parsed: list[FileDiff] = []
    for f in files:
        if f.parsed is not None:
            parsed += f.parsed
        elif local := _filled(checkout, base_sha, head_sha, f.path, skipped):
            parsed += parse_diff(local).files
    return PullDiff(Diff(tuple(parsed)), tuple(skipped))


def _sent(f: FilePatch) -> bool:
    """Whether GitHub's entry is the whole change: a pure rename has no patch and needs none; any other file without one needs the checkout."""
    return f.patch is not None or f.status == "unchanged" or (f.status in ("renamed", "copied") and not f.changes)


def _filled(checkout: Path | None, base_sha: str, head_sha: str, path: str, skipped: list[Skipped]) -> str:
    """`path`'s section from the checkout where GitHub sent no patch; "" (and why, in `skipped`) when there is none."""
    local, why_not = _local_patch(checkout, base_sha, head_sha, path)
    if not local:
        skipped.append(Skipped(path, why_not or "GitHub sent no patch and git shows no change in the text"))
    return local or ""


def synthesize(f: FilePatch) -> str:
    """A `git diff` section for one file, so statuses (added, deleted, renamed) parse as git's would.

    Names come from the pull request: one with a newline, tab, quote or
    backslash is quoted as git quotes it, so it cannot break the header apart.
    """
    old = f.previous_path or f.path
    a_old, a_new, b_new = git_quote(f"a/{old}"), git_quote(f"a/{f.path}"), git_quote(f"b/{f.path}")
    header = [f"diff --git {a_old} {b_new}"]
    if f.status == "added":
        header += ["new file mode 100644", "--- /dev/null", f"+++ {b_new}"]
    elif f.status == "removed":
        header += ["deleted file mode 100644", f"--- {a_new}", "+++ /dev/null"]
    elif f.status in ("renamed", "copied"):
        verb = "rename" if f.status == "renamed" else "copy"
        header += ["similarity index 90%", f"{verb} from {git_quote(old)}", f"{verb} to {git_quote(f.path)}"]
        if f.patch:
            header += [f"--- {a_old}", f"+++ {b_new}"]
    else:
        header += [f"--- {a_new}", f"+++ {b_new}"]
    body = f.patch or ""
    if body and not body.endswith("\n"):
        body += "\n"
    return "\n".join(header) + "\n" + body


_C_QUOTES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def git_quote(path: str) -> str:
    """`path` as a diff header can carry it: as is when plain, else in C-style quotes as git writes it.

    Spaces are quoted too, as octal: the `diff --git` line splits its two
    paths at a space, so a name holding " b/" would otherwise split wrongly.
    """
    if not any(c in _C_QUOTES or c <= " " or c == "\x7f" for c in path):
        return path
    return '"' + "".join(_C_QUOTES.get(c) or (f"\\{ord(c):03o}" if c <= " " or c == "\x7f" else c) for c in path) + '"'


def file_patch(f: Any) -> FilePatch:
    return FilePatch(f.filename, f.previous_filename, f.status, f.patch, f.changes or 0)


def _local_patch(checkout: Path | None, base_sha: str, head_sha: str, path: str) -> tuple[str | None, str]:
    """`git diff base...head -- path` from the workflow's checkout, or None and why not."""
    if checkout is None or not (checkout / ".git").exists():
        return None, _NO_PATCH
    done = subprocess.run(
        ["git", "-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/",
         f"{base_sha}...{head_sha}", "--", path],
        cwd=checkout,
        capture_output=True,
    )
    if done.returncode != 0:
        return None, f"{_NO_PATCH}; {_SHALLOW_HINT}"
    text = done.stdout.decode("utf-8", "surrogateescape")
    if "\nBinary files " in f"\n{text}":
        return None, "binary file"
    return text, ""
