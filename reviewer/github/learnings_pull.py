"""The Action's pull request with `.reviewer/learnings.md` (`[learn] open_pull_request`): one branch, one open pull request.

The file only ever changes through a pull request people review and merge:
reviews read it from the base branch. Our branch (`[learn] branch`) is ours
alone: while its pull request is open, later runs update the file on it
(merged into what is there, so what people edited on the branch stays); once
it is merged or closed, the branch starts again from the default branch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from reviewer.errors import ConfigError
from reviewer.learnings import LEARNINGS_FILE, Proposal, merge

if TYPE_CHECKING:
    from github.Repository import Repository

Note = Callable[[str], None]
TITLE = "Learnings from review threads"
MESSAGE = "Update .reviewer/learnings.md from the team's review threads"


def propose_learnings(
    repo: Repository, base_branch: str, base_sha: str, branch: str, proposals: Sequence[Proposal], body: str, note: Note
) -> str | None:
    """The URL of the open pull request with the file updated; None when the file would not change."""
    from github import UnknownObjectException

    if branch == base_branch:
        raise ConfigError(f"[learn] branch = {branch!r} is the default branch: name a branch of its own (the learnings change only through a pull request)")
    owner = repo.full_name.split("/")[0]
    existing = next(iter(repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base_branch)), None)
    if existing is None:
        current, _ = _read(repo, base_sha)
        if merge(current, proposals) == current:
            return None
        try:
            ref = repo.get_git_ref(f"heads/{branch}")
        except UnknownObjectException:
            repo.create_git_ref(f"refs/heads/{branch}", base_sha)
        else:
            # A merged or closed proposal's branch starts again; a branch with anyone else's commits is never reset.
            theirs = [c for c in repo.compare(base_sha, ref.object.sha).commits if c.commit.message.strip() != MESSAGE]
            if theirs:
                raise ConfigError(
                    f"[learn] branch {branch!r} has commits that are not ours ({theirs[0].sha[:7]}…): "
                    "name a branch only the learnings pull request uses"
                )
            ref.edit(base_sha, force=True)
    current, blob = _read(repo, branch)
    updated = merge(current, proposals)
    if updated != current:
        if blob is None:
            repo.create_file(LEARNINGS_FILE, MESSAGE, updated, branch=branch)
        else:
            repo.update_file(LEARNINGS_FILE, MESSAGE, updated, blob, branch=branch)
    if existing is not None:
        existing.edit(body=body)
        note(f"reviewer: updated the learnings pull request #{existing.number}")
        return str(existing.html_url)
    made = repo.create_pull(base=base_branch, head=branch, title=TITLE, body=body)
    note(f"reviewer: opened the learnings pull request #{made.number}")
    return str(made.html_url)


def _read(repo: Repository, ref: str) -> tuple[str | None, str | None]:
    """The file's text at `ref` and its blob SHA; (None, None) when it is not there."""
    from github import UnknownObjectException

    try:
        found = repo.get_contents(LEARNINGS_FILE, ref=ref)
    except UnknownObjectException:
        return None, None
    if isinstance(found, list):
        return None, None
    return found.decoded_content.decode("utf-8"), found.sha
