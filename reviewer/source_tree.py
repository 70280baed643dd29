"""Read-only access to the files of the change's tree, for code context and the models' tools.

The tree is the change's own content (on a pull request, the author's code):
untrusted. So a path stays inside the root (no `..`, no symbolic link out),
files that hold secrets by their name are never read, a file too large or
binary is left alone, and searches run in `git grep` (no backtracking regex
engine of ours for a model's pattern) with a time limit.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

MAX_FILE_BYTES = 1_000_000  # larger files are data, not code to read
BINARY_PROBE = 8000  # bytes: a NUL among the first this many makes a file binary, as git tells (`git grep -I`)
GREP_SECONDS = 20.0
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARS = re.compile(r"[A-Za-z0-9_]+")  # what `git grep -w` counts as a word
SKIPPED_DIRS = frozenset({".git"})


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str


class SourceTree:
    """The files under `root`; `visible` says which relative paths may be read at all (routing rules, secrets)."""

    def __init__(self, root: Path, visible: Callable[[str], bool] = lambda path: True) -> None:
        from reviewer.filters import secret_files

        self.root = root.resolve()
        secret_named = secret_files()
        self._visible = lambda path: visible(path) and not secret_named.match_file(path)

    def visible(self, path: str) -> bool:
        return self._visible(path)

    def normal(self, path: str) -> str | None:
        """`path` relative to the root, normalised; None when it leaves the root or is not visible."""
        import posixpath

        text = path.replace("\\", "/").strip() or "."
        if text.startswith("/") or "\0" in text:
            return None
        normal = posixpath.normpath(text)
        if normal == ".." or normal.startswith("../"):
            return None
        if normal != "." and not self._visible(normal):
            return None
        parts = Path(normal).parts
        # No symbolic link (it could lead to a withheld or secret file, or .git/config with a token), nothing of
        # .git, nothing git does not track (an untracked file may be a credential a CI step left).
        if ".git" in parts or any(self.root.joinpath(*parts[: i + 1]).is_symlink() for i in range(len(parts))):
            return None
        tracked = self._tracked
        if tracked is not None and normal != "." and normal not in tracked:
            return None
        target = self.root / normal
        try:
            resolved = target.resolve()
        except OSError:
            return None
        if resolved != self.root and self.root not in resolved.parents:
            return None
        return normal

    @cached_property
    def _tracked(self) -> frozenset[str] | None:
        """The files git tracks here, and their folders; None outside a repository (a copy of tracked files only)."""
        if not (self.root / ".git").exists():
            return None
        done = subprocess.run(["git", "ls-files", "-z"], cwd=self.root, capture_output=True)
        if done.returncode != 0:
            return frozenset()
        files = [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
        folders = {str(parent) for f in files for parent in Path(f).parents if str(parent) != "."}
        return frozenset(files) | frozenset(folders)

    def lines(self, path: str) -> list[str] | None:
        """The file's lines (line endings removed, numbering as git's diff counts), or None: missing, hidden, binary, too large."""
        normal = self.normal(path)
        if normal is None:
            return None
        target = self.root / normal
        if not target.is_file() or target.stat().st_size > MAX_FILE_BYTES:
            return None
        data = target.read_bytes()
        if b"\0" in data[:BINARY_PROBE]:
            return None
        text = data.decode("utf-8", "surrogateescape")
        lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
        return lines[:-1] if lines and lines[-1] == "" else lines

    def files(self, under: str = ".") -> tuple[str, ...]:
        """Every visible file under the folder `under`, sorted."""
        normal = self.normal(under)
        if normal is None or not (self.root / normal).is_dir():
            return ()
        return tuple(p for p in self._all_files if normal == "." or p.startswith(normal.rstrip("/") + "/"))

    @cached_property
    def _all_files(self) -> tuple[str, ...]:
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            base = Path(folder).relative_to(self.root)
            for name in names:
                relative = (base / name).as_posix()
                if self._visible(relative) and self.normal(relative) is not None:
                    found.append(relative)
        return tuple(sorted(found))

    def grep(self, pattern: str, under: str = ".", limit: int = 200) -> tuple[Hit, ...] | str:
        """Lines matching the extended regular expression `pattern`, at most `limit`; a message when it cannot run."""
        from reviewer.redact import redact

        normal = self.normal(under)
        if normal is None:
            return f"{under!r} is not a folder or file of the repository that can be read"
        try:
            done = subprocess.run(
                # Tracked files only in a repository (`--no-index` where the tree is a copy of tracked files).
                ["git", "grep", *(() if self._tracked is not None else ("--no-index",)), "--no-color", "-z", "-n", "-I", "-E", "-e", pattern, "--", normal],
                cwd=self.root,
                capture_output=True,
                timeout=GREP_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return f"the search took over {GREP_SECONDS:g} s; search a narrower folder or pattern"
        if done.returncode not in (0, 1):
            return "not a valid extended regular expression: " + done.stderr.decode("utf-8", "replace").strip()[:300]
        hits: list[Hit] = []
        for record in done.stdout.decode("utf-8", "surrogateescape").split("\n"):
            parts = record.split("\0", 2)
            if len(parts) != 3 or not parts[1].isdigit() or not self._visible(parts[0]):
                continue
            # Redacted: `-I` judges a file by its start, so a file linked unredacted as binary can still match.
            hits.append(Hit(parts[0], int(parts[1]), redact(parts[2].rstrip("\r"))))
            if len(hits) >= limit:
                break
        return tuple(hits)

    def find_words(self, words: Iterable[str], per_word: int = 200) -> tuple[tuple[str, int, str], ...]:
        """Where each of `words` stands as a whole word: (path, line, word) in path order, the first `per_word` of each.

        One `git grep` for all of them. Only an identifier is searched for, and the pattern follows `-e`: a
        name taken from the change is never read as an option, nor as more of a pattern than its letters.
        The lines are not returned: read them with `lines`, which checks the path as for any other read.
        """
        names = sorted({w for w in words if _WORD.fullmatch(w)})
        if not names:
            return ()
        left = dict.fromkeys(names, per_word)
        # One alternation, not one `-e` (or `-F`) a name: git runs a search per pattern, 200 times slower here.
        command = [
            "git", "grep", *(() if self._tracked is not None else ("--no-index",)), "--no-color", "-z", "-n", "-I", "-E", "-w",
            "-e", "(" + "|".join(names) + ")", "--", ".",
        ]  # fmt: skip
        found: list[tuple[str, int, str]] = []
        # Read as it comes, and stopped once every word has its share (a name as common as `get` can match most of
        # a large repository), or at the time limit.
        with subprocess.Popen(command, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
            timer = threading.Timer(GREP_SECONDS, process.kill)
            timer.start()
            try:
                assert process.stdout is not None
                for record in process.stdout:
                    parts = record.split(b"\0", 2)
                    if len(parts) != 3 or not parts[1].isdigit():
                        continue
                    path = parts[0].decode("utf-8", "surrogateescape")
                    if not self._visible(path):
                        continue
                    for word in sorted(left.keys() & set(_WORD_CHARS.findall(parts[2].decode("ascii", "replace")))):
                        found.append((path, int(parts[1]), word))
                        left[word] -= 1
                        if not left[word]:
                            del left[word]
                    if not left:
                        break
            finally:
                timer.cancel()
                process.kill()
        return tuple(found)
