"""Which backends may see which files, for which task.

A request that would break a data-sovereignty rule is never built: files
that no allowed backend can take are reported as not reviewed, with why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from reviewer.config import Config
from reviewer.diff import FileDiff
from reviewer.filters import Skipped

if TYPE_CHECKING:
    import pathspec


@dataclass(frozen=True)
class RouteGroup:
    backends: tuple[str, ...]  # in fallback order
    files: tuple[FileDiff, ...]


def candidates(config: Config, task: str, path: str) -> tuple[tuple[str, ...], str | None]:
    """The backends, in order, that may take `path` for `task`; or () and the reason."""
    names = list(config.routes.for_task(task))
    matching = [r for r in config.routes.rules if _spec(r.paths).match_file(path)]
    if matching:
        allowed = set(matching[0].backends).intersection(*(r.backends for r in matching[1:]))
        # A rule also says where such files go when the task's route lists none of its backends.
        names = [n for n in names if n in allowed] or [n for n in matching[0].backends if n in allowed]
        if not names:
            patterns = "; ".join(", ".join(r.paths) for r in matching)
            return (), f"the routes.rules for {patterns} allow no common backend"
    if config.routes.self_hosted_only:
        names = [n for n in names if config.backend(n).is_self_hosted]
        if not names:
            return (), "self_hosted_only is set and no self-hosted backend is routed for " + task
    return tuple(names), None


def group(config: Config, task: str, files: Iterable[FileDiff]) -> tuple[list[RouteGroup], list[Skipped]]:
    """Files grouped by the backends allowed to see them; files none may see, skipped."""
    groups: dict[tuple[str, ...], list[FileDiff]] = {}
    skipped: list[Skipped] = []
    for file in files:
        names, reason = candidates(config, task, file.path)
        if not names:
            skipped.append(Skipped(file.path, reason or "no backend allowed"))
        else:
            groups.setdefault(names, []).append(file)
    return [RouteGroup(names, tuple(fs)) for names, fs in groups.items()], skipped


@lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)
