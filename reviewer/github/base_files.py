"""A pull request's base branch, read through GitHub's API: the trusted side of a pull request.

The review of a pull request follows the `.reviewer.toml`, prompt templates and
guidelines its base branch has: a change can propose new rules, and they take
effect once it is merged, never on its own review. Reading through the API
needs no checkout (a workflow's checkout holds the PR's code) and cannot leave
the repository: GitHub resolves a symbolic link only to a file inside it.

A run asks for about seven paths (settings, templates, guidelines, the team's
rules, learnings), and most of them do not exist. The base commit's tree is
listed a folder at a time (`GET /git/trees/{sha}`, not recursive: a monorepo's
full listing would be megabytes), only the folders on the way to a wanted path
and only where the folder above lists them: the root, and `.github` or
`.reviewer` where they exist. An absent file then costs no request, a present
one costs one, its blob, named by the SHA the listing gave, so it can only be
the base commit's. Where a listing cannot answer, a path is read as it always
was, through the contents API at the base commit: when GitHub truncated a
folder's listing or refused it, and for a path that crosses a symbolic link
(a listing does not say where one points; the contents API answers for the
file it leads to only when that is a file inside the repository).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
class Entry:
    """One name in a folder of the base commit's tree."""

    kind: str  # "blob" (a file or a symbolic link), "tree" (a folder) or "commit" (a submodule)
    mode: str
    sha: str
    size: int


def entries_of(listing: Iterable[Mapping[str, Any]]) -> dict[str, Entry]:
    return {e["path"]: Entry(e["type"], e["mode"], e["sha"], int(e.get("size") or 0)) for e in listing}


class BaseBranchFiles:
    def __init__(self, repo: Repository, sha: str) -> None:
        self._repo = repo
        self._sha = sha
        self.where = f"{repo.full_name} at the base branch ({sha[:7]})"
        self._texts: dict[str, str] = {}
        self._folders: dict[str, Mapping[str, Entry] | None] = {}
        self._contents_cache: dict[str, _Found] = {}

    def label(self, path: str) -> str:
        return f"{self._repo.full_name}@{self._sha[:7]}:{path}"

    def read(self, path: str) -> str | None:
        relative = inside(path, self.where)
        folder, _, name = relative.rpartition("/")
        entries = self._listing(folder or ".")
        if entries is None:
            return self._read_contents(relative)
        entry = entries.get(name)
        if entry is None or entry.kind != "blob":
            return None
        if entry.mode == LINK_MODE:
            return self._read_contents(relative)
        if relative not in self._texts:
            self._texts[relative] = self._read_blob(relative, entry)
        return self._texts[relative]

    def list(self, folder: str) -> tuple[str, ...]:
        relative = inside(folder, self.where)
        entries = self._listing(relative)
        if entries is None:
            found = self._contents(relative)
            return tuple(sorted(entry.name for entry in found if entry.type == "file")) if isinstance(found, list) else ()
        return tuple(sorted(name for name, e in entries.items() if e.kind == "blob" and e.mode != LINK_MODE))

    def _listing(self, folder: str) -> Mapping[str, Entry] | None:
        """The entries of `folder` in the base commit ({} where there is no such folder); None where only
        per-path reads can tell: GitHub truncated or refused the listing, or the folder is a symbolic link."""
        if folder in self._folders:
            return self._folders[folder]
        if folder == ".":
            tree: str | None = self._sha  # a commit's SHA names its tree here (github/docs#25084)
        else:
            parent, _, name = folder.rpartition("/")
            above = self._listing(parent or ".")
            entry = above.get(name) if above is not None else None
            if above is None or (entry is not None and entry.kind == "blob" and entry.mode == LINK_MODE):
                self._folders[folder] = None
                return None
            tree = entry.sha if entry is not None and entry.kind == "tree" else None
        self._folders[folder] = self._list_tree(tree) if tree is not None else {}
        return self._folders[folder]

    def _list_tree(self, sha: str) -> Mapping[str, Entry] | None:
        from github import GithubException

        # The raw JSON, not `get_git_tree`: PyGithub makes an object of each entry (0.19 s for 30,000 of them).
        try:
            _, data = self._repo.requester.requestJsonAndCheck("GET", f"{self._repo.url}/git/trees/{sha}")
        except GithubException as exc:
            if exc.status in (404, 422):
                return None
            raise self._unreadable(f"the files of {self.where}", exc) from None
        return None if data.get("truncated") else entries_of(data["tree"])

    def _read_blob(self, path: str, blob: Entry) -> str:
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
