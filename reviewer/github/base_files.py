"""A pull request's base branch, read through GitHub's contents API: the trusted side of a pull request.

The review of a pull request follows the `.reviewer.toml`, prompt templates and
guidelines its base branch has: a change can propose new rules, and they take
effect once it is merged, never on its own review. Reading through the API
needs no checkout (a workflow's checkout holds the PR's code) and cannot leave
the repository: GitHub resolves a symbolic link only to a file inside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from reviewer.errors import ConfigError, PublishError
from reviewer.repo_files import MAX_FILE_BYTES, inside

if TYPE_CHECKING:
    from github.ContentFile import ContentFile
    from github.Repository import Repository


_Found = Union["ContentFile", "list[ContentFile]", None]


class BaseBranchFiles:
    def __init__(self, repo: Repository, sha: str) -> None:
        self._repo = repo
        self._sha = sha
        self.where = f"{repo.full_name} at the base branch ({sha[:7]})"
        self._cache: dict[str, _Found] = {}

    def label(self, path: str) -> str:
        return f"{self._repo.full_name}@{self._sha[:7]}:{path}"

    def read(self, path: str) -> str | None:
        found = self._contents(path)
        if found is None or isinstance(found, list) or found.type != "file":
            return None
        if found.size > MAX_FILE_BYTES or found.encoding != "base64":
            raise ConfigError(f"{self.label(path)}: {found.size:,} bytes; a settings file, template or guideline stays under {MAX_FILE_BYTES:,}")
        try:
            return found.decoded_content.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{self.label(path)}: not UTF-8 text") from None

    def list(self, folder: str) -> tuple[str, ...]:
        found = self._contents(folder)
        if not isinstance(found, list):
            return ()
        return tuple(sorted(entry.name for entry in found if entry.type == "file"))

    def _contents(self, path: str) -> _Found:
        from github import GithubException, UnknownObjectException

        from reviewer.github.api import describe

        relative = inside(path, self.where)
        if relative not in self._cache:
            try:
                self._cache[relative] = self._repo.get_contents(relative, ref=self._sha)
            except UnknownObjectException:
                self._cache[relative] = None
            except GithubException as exc:
                raise PublishError(f"cannot read {self.label(relative)} from GitHub: {describe(exc)}") from None
        return self._cache[relative]
