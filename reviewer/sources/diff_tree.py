"""A tree made from a diff alone, for agent backends where there is no checkout (an eval case).

Each file holds its new side as far as the diff shows it, every line at its
new-file number (lines the diff does not show are blank), so what an agent
reads and cites matches the diff. Paths come from the diff (an imported case
is a stranger's PR): one that would leave the tree is refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from reviewer.diff import Diff, FileStatus
from reviewer.errors import ConfigError
from reviewer.repo_files import inside


def materialise(diff: Diff, into: Path) -> Path:
    """A git working tree at `into` with the new side of every file of `diff`."""
    into.mkdir(parents=True)
    for file in diff.files:
        if file.status is FileStatus.DELETED or file.binary:
            continue
        target = into / inside(file.path, "a path in the diff")
        lines: dict[int, str] = {line.new_no: line.text for hunk in file.hunks for line in hunk.lines if line.new_no is not None}
        if not lines:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{lines.get(n, '')}\n" for n in range(1, max(lines) + 1)), encoding="utf-8", errors="surrogateescape")
    # Agent backends read the files git tracks.
    for args in (["init", "-q"], ["add", "-A"]):
        done = subprocess.run(["git", "-C", str(into), *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise ConfigError(f"cannot make a git tree for an agent at {into}: {done.stderr.strip()}")
    return into
