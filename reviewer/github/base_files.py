"""A pull request's base branch, read through GitHub's API: the trusted side of a pull request.

The review of a pull request follows the `.reviewer.toml`, prompt templates and
guidelines its base branch has: a change can propose new rules, and they take
effect once it is merged, never on its own review. Reading through the API
needs no checkout (a workflow's checkout holds the PR's code) and cannot leave
the repository: GitHub resolves a symbolic link only to a file inside it.

A run asks for about seven paths (settings, templates, guidelines, the team's
rules, learnings), and most of them do not exist. One listing of the base
commit's tree (`GET /git/trees/{sha}?recursive=1`) tells which do: an absent
file costs no request, a present one costs one, its blob, named by the SHA
that listing gave, so it can only be the base commit's. Where the listing
cannot answer, a path is read as it always was, through the contents API at
the base commit: when GitHub truncated the listing (past 100,000 entries or
7 MB) or refused it, and for a path that crosses a symbolic link (the listing
does not say where one points; the contents API answers for the file it
leads to only when that is a file inside the repository).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

from reviewer.errors import ConfigError, PublishError
from reviewer.repo_files import MAX_FILE_BYTES, inside

if TYPE_CHECKING:
    from github.ContentFile import ContentFile
    from github.GithubException import GithubException
    from github.Repository import Repository


_Found = Union["ContentFile", "list[ContentFile]", None]
LINK_MODE = "120000"  # git's mode of a symbolic link; a regular file is 100644 or 100755


@dataclass(frozen=True, slots=True)
class Blob:
    sha: str
    size: int


@dataclass(frozen=True)
class BaseTree:
    """What one listing of the base commit says: its regular files, and where its symbolic links are."""

    files: Mapping[str, Blob]
    links: frozenset[str]

    def crosses_link(self, path: str) -> bool:
        """Whether `path`, or a folder on the way to it, is a symbolic link."""
        parts = path.split("/")
        return any("/".join(parts[: i + 1]) in self.links for i in range(len(parts)))

    def names_in(self, folder: str) -> tuple[str, ...]:
        prefix = "" if folder == "." else folder + "/"
        return tuple(sorted(p[len(prefix) :] for p in self.files if p.startswith(prefix) and "/" not in p[len(prefix) :]))


def tree_of(entries: Iterable[Mapping[str, Any]]) -> BaseTree:
    """The entries of a recursive listing; a folder is known by its files, and a submodule holds nothing to read."""
    files: dict[str, Blob] = {}
    links: set[str] = set()
    for entry in entries:
        if entry["type"] != "blob":
            continue
        if entry["mode"] == LINK_MODE:
            links.add(entry["path"])
        else:
            files[entry["path"]] = Blob(entry["sha"], int(entry["size"]))
    return BaseTree(files, frozenset(links))


class BaseBranchFiles:
    def __init__(self, repo: Repository, sha: str) -> None:
        self._repo = repo
        self._sha = sha
        self.where = f"{repo.full_name} at the base branch ({sha[:7]})"
        self._texts: dict[str, str] = {}
        self._contents_cache: dict[str, _Found] = {}

    def label(self, path: str) -> str:
        return f"{self._repo.full_name}@{self._sha[:7]}:{path}"

    def read(self, path: str) -> str | None:
        relative = inside(path, self.where)
        tree = self._tree
        if tree is None or tree.crosses_link(relative):
            return self._read_contents(relative)
        blob = tree.files.get(relative)
        if blob is None:
            return None
        if relative not in self._texts:
            self._texts[relative] = self._read_blob(relative, blob)
        return self._texts[relative]

    def list(self, folder: str) -> tuple[str, ...]:
        relative = inside(folder, self.where)
        tree = self._tree
        if tree is None or tree.crosses_link(relative):
            found = self._contents(relative)
            return tuple(sorted(entry.name for entry in found if entry.type == "file")) if isinstance(found, list) else ()
        return tree.names_in(relative)

    @cached_property
    def _tree(self) -> BaseTree | None:
        """The base commit's files in one request; None where only per-path reads can tell (truncated, or refused)."""
        from github import GithubException

        # The raw JSON, not `get_git_tree`: PyGithub makes an object of each entry (0.19 s for 30,000 of them; 0.02 s here).
        # A commit's SHA names its tree here (github/docs#25084); were it refused (404, 422), the per-path reads still answer.
        try:
            _, data = self._repo.requester.requestJsonAndCheck("GET", f"{self._repo.url}/git/trees/{self._sha}", parameters={"recursive": "1"})
        except GithubException as exc:
            if exc.status in (404, 422):
                return None
            raise self._unreadable(f"the files of {self.where}", exc) from None
        return None if data.get("truncated") else tree_of(data["tree"])

    def _read_blob(self, path: str, blob: Blob) -> str:
        import base64

        from github import GithubException

        if blob.size > MAX_FILE_BYTES:
            raise self._too_large(path, blob.size)
        try:
            found = self._repo.get_git_blob(blob.sha)
        except GithubException as exc:
            raise self._unreadable(self.label(path), exc) from None
        data = base64.b64decode(found.content) if found.encoding == "base64" else b""
        if len(data) != blob.size:
            raise PublishError(f"cannot read {self.label(path)} from GitHub: {len(data):,} bytes came of its {blob.size:,}")
        return self._text(path, data)

    def _read_contents(self, path: str) -> str | None:
        found = self._contents(path)
        if found is None or isinstance(found, list) or found.type != "file":
            return None
        if found.size > MAX_FILE_BYTES or found.encoding != "base64":  # GitHub leaves the content out past 1 MB
            raise self._too_large(path, found.size)
        return self._text(path, found.decoded_content)

    def _contents(self, path: str) -> _Found:
        from github import GithubException, UnknownObjectException

        if path not in self._contents_cache:
            try:
                self._contents_cache[path] = self._repo.get_contents(path, ref=self._sha)
            except UnknownObjectException:
                self._contents_cache[path] = None
            except GithubException as exc:
                raise self._unreadable(self.label(path), exc) from None
        return self._contents_cache[path]

    def _too_large(self, path: str, size: int) -> ConfigError:
        return ConfigError(f"{self.label(path)}: {size:,} bytes; a settings file, template or guideline stays under {MAX_FILE_BYTES:,}")

    def _text(self, path: str, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{self.label(path)}: not UTF-8 text") from None

    @staticmethod
    def _unreadable(what: str, exc: GithubException) -> PublishError:
        from reviewer.github.api import describe

        return PublishError(f"cannot read {what} from GitHub: {describe(exc)}")
