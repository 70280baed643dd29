"""Where the repository's own settings are read from: a working tree, or the base branch of a pull request.

`.reviewer.toml`, `.reviewer/prompts/` and the guidelines steer the review, so
whoever can write them decides how code is reviewed. On a pull request that
must be the base branch, never the change under review; locally it is the
checkout. Either way a path from configuration stays inside the repository:
no absolute paths, no `..`, no symbolic link that leads out (a branch could
point one at `/proc/self/environ` and have the environment sent as guidelines).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reviewer.config import CONFIG_FILE
from reviewer.errors import ConfigError

if TYPE_CHECKING:
    from reviewer.config import Config

MAX_FILE_BYTES = 1_000_000  # settings, templates and guidelines are small; a huge one is a mistake or an attack


class RepoFiles(Protocol):
    """Read-only access to the files of one version of the repository."""

    where: str  # for messages: "the working tree at /src/app", "acme/app at the base branch (3f2a1c9)"

    def label(self, path: str) -> str:
        """How a file is named in messages: a path on disk, or `acme/app@3f2a1c9:.reviewer.toml`."""
        ...

    def read(self, path: str) -> str | None:
        """The text of the file at `path` (relative to the root), or None when there is none."""
        ...

    def list(self, folder: str) -> tuple[str, ...]:
        """The names of the regular files directly in `folder`, sorted; () when there is no such folder."""
        ...


def inside(path: str, what: str) -> str:
    """`path` as a normalised path relative to the repository root; a ConfigError for one that leaves it."""
    text = path.replace("\\", "/")
    if not text.strip() or text.startswith("/") or (len(text) > 1 and text[1] == ":") or "\0" in text:
        raise ConfigError(f"{what}: {path!r} must be a path relative to the repository root")
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../"):
        raise ConfigError(f"{what}: {path!r} leads out of the repository")
    return normal


def settings_paths(config: Config) -> frozenset[str]:
    """The files outside `.reviewer/` that steer a review: the configuration file and a configured guidelines file."""
    paths = {CONFIG_FILE}
    if config.review.guidelines_file:
        paths.add(posixpath.normpath(config.review.guidelines_file))
    return frozenset(paths)


class WorkingTree:
    """Files of a checkout on disk, refusing anything that resolves outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.where = f"the working tree at {root}"

    def label(self, path: str) -> str:
        return str(self.root / path)

    def read(self, path: str) -> str | None:
        target = self._resolve(path)
        if target is None or not target.is_file():
            return None
        if target.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: {target.stat().st_size:,} bytes; a settings file, template or guideline stays under {MAX_FILE_BYTES:,}")
        try:
            return target.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None

    def list(self, folder: str) -> tuple[str, ...]:
        target = self._resolve(folder)
        if target is None or not target.is_dir():
            return ()
        return tuple(sorted(p.name for p in target.iterdir() if self._resolve(f"{folder}/{p.name}") is not None and p.is_file()))

    def _resolve(self, path: str) -> Path | None:
        relative = inside(path, self.where)
        candidate = self.root / relative
        if not candidate.exists() and not candidate.is_symlink():
            return None
        resolved = candidate.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ConfigError(f"{relative}: a symbolic link that leads out of the repository ({self.where}); refusing to read it")
        # Inside the repository too: a link can reach a file git ignores (a .env), which must never become a prompt.
        parts = Path(relative).parts
        if any((self.root.joinpath(*parts[: i + 1])).is_symlink() for i in range(len(parts))):
            raise ConfigError(f"{relative}: a symbolic link ({self.where}); settings, templates and guidelines must be plain files")
        return resolved
