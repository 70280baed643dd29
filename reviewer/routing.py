"""Which backends may see which files, for which task.

A request that would break a data-sovereignty rule is never built: files
that no allowed backend can take are reported as not reviewed, with why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from reviewer.config import ROUTED, Config
from reviewer.diff import Diff, FileDiff
from reviewer.filters import Skipped

if TYPE_CHECKING:
    import pathspec


@dataclass(frozen=True)
class RouteGroup:
    backends: tuple[str, ...]  # in fallback order
    files: tuple[FileDiff, ...]


def candidates(config: Config, task: str, *paths: str) -> tuple[tuple[str, ...], str | None]:
    """The backends, in order, that may take a file known by `paths` for `task`; or () and the reason.

    A renamed or copied file is known by its old path too: moving a file out
    of a restricted folder must not free its content.
    """
    names = list(config.routes.for_task(task))
    matching = [r for r in config.routes.rules if any(_spec(r.paths).match_file(p) for p in paths)]
    if matching:
        # A rule only narrows: it may pick, among the backends this run routes for any task, the ones
        # its files may go to; it never adds one (so --base-url or the Action's base-url pins every file).
        routed = {n for t in ROUTED for n in config.routes.for_task(t)}
        allowed = routed.intersection(*(r.backends for r in matching))
        names = [n for n in names if n in allowed] or [n for n in matching[0].backends if n in allowed]
        if not names:
            patterns = "; ".join(", ".join(r.paths) for r in matching)
            return (), f"the routes.rules for {patterns} allow no backend routed in this run"
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
        names, reason = candidates(config, task, file.path, *([file.old_path] if file.old_path else []))
        if not names:
            skipped.append(Skipped(file.name, reason or "no backend allowed"))
        else:
            groups.setdefault(names, []).append(file)
    return [RouteGroup(names, tuple(fs)) for names, fs in groups.items()], skipped


def withheld(config: Config, backend: str, diff: Diff | None) -> Callable[[str], bool]:
    """Whether a repository path must be kept from `backend` (for agents, which read files themselves).

    A path is withheld when a rule covers it without naming the backend, when
    it is the new name of a file renamed out of such a path, or when
    self_hosted_only keeps everything from a backend outside the network.
    """
    if config.routes.self_hosted_only and not config.backend(backend).is_self_hosted:
        return lambda path: True
    patterns = tuple(p for rule in config.routes.rules if backend not in rule.backends for p in rule.paths)
    if not patterns:
        return lambda path: False
    spec = _spec(patterns)
    moved = frozenset(
        f.path for f in (diff.files if diff else ()) if f.old_path and spec.match_file(f.old_path)
    )
    return lambda path: path in moved or spec.match_file(path)


@lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)
