"""The conventions a team already keeps for people and agents (REVIEW.md, AGENTS.md, CLAUDE.md,
.github/copilot-instructions.md), and `[[review.path_instructions]]` for the files they name.

The files are read through the same trusted RepoFiles as the guidelines (the
base branch on a pull request, never the change under review). Which files, in
which order, is `[review] team_rules`; `[]` reads none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reviewer.config import PathInstruction

if TYPE_CHECKING:
    from reviewer.config import Config
    from reviewer.repo_files import RepoFiles

MAX_RULES_CHARS = 20000  # per file: an AGENTS.md can be long, and it is sent with every request


def load_team_rules(config: Config, repo: RepoFiles) -> str:
    """Each configured file that exists, under a line naming it; a long one clipped (said in the text)."""
    from reviewer.repo_files import inside

    parts: list[str] = []
    for i, name in enumerate(config.review.team_rules):
        path = inside(name, f"{config.source or 'configuration'}: review.team_rules[{i}]")
        text = (repo.read(path) or "").strip()
        if not text:
            continue
        if len(text) > MAX_RULES_CHARS:
            text = text[:MAX_RULES_CHARS] + f"\n… [{path} clipped at {MAX_RULES_CHARS:,} characters]"
        parts.append(f"From {path}:\n{text}")
    return "\n\n".join(parts)


def instructions_for(instructions: Iterable[PathInstruction], paths: Iterable[str]) -> list[str]:
    """The texts of the path instructions that match at least one of `paths`, in configured order."""
    import pathspec

    paths = list(paths)
    return [
        i.text.strip() for i in instructions if any(pathspec.GitIgnoreSpec.from_lines(i.paths).match_file(p) for p in paths)
    ]
