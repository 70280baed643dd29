"""What the review commands share: their options, and turning options into a Config."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from reviewer import config as config_module
from reviewer.config import Config
from reviewer.errors import ConfigError, ExitCode
from reviewer.safe_text import printable
from reviewer.vocabulary import EFFORTS, FAIL_ON, at_or_above

if TYPE_CHECKING:
    from reviewer.diff import Diff
    from reviewer.progress import Status
    from reviewer.repo_files import RepoFiles
    from reviewer.review import Review

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_GUIDELINES = ".reviewer/guidelines.md"
MAX_GUIDELINES_CHARS = 20000


@dataclass(frozen=True)
class RunOptions:
    # The defaults stand for an option not given, or not offered by the command (`omit` below).
    config_path: Path | None
    output_format: str = "text"
    backend: str | None = None
    base_url: str | None = None
    model: str | None = None
    effort: str | None = None
    fail_on: str | None = None
    dry_run: bool = False
    verbose: bool = False
    concurrency: int | None = None
    max_cost: float | None = None
    trust_repo_config: bool = False
    compare: bool = False

    @classmethod
    def plain(cls, config_path: Path | None) -> RunOptions:
        """No flags but --config: the configuration exactly as the file says."""
        return cls(config_path)


def trust_option(func: F) -> F:
    return click.option(
        "--trust-repo-config",
        is_flag=True,
        help="Let this repository's .reviewer.toml choose commands, endpoints, key variables and files (off: only yours may).",
    )(func)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Configuration file (default: .reviewer.toml at the repository root).",
    )(func)


def review_options(formats: tuple[str, ...] = ("text", "json", "markdown"), omit: tuple[str, ...] = ()) -> Callable[[F], F]:
    """The contract's common options, collected into one RunOptions argument `opts`.

    `omit` names RunOptions fields whose option makes no sense for a command (or that it
    defines its own way); they keep their defaults.
    """

    def decorate(func: F) -> F:
        options = {
            "config_path": config_option,
            "output_format": click.option("--format", "output_format", type=click.Choice(formats), default="text", show_default=True, help="Output format."),
            "backend": click.option("--backend", help="Send every task to this configured backend."),
            "base_url": click.option(
                "--base-url",
                metavar="URL",
                help="A one-off OpenAI-compatible endpoint (vLLM, SGLang, Ollama...), http(s)://; needs --model. "
                "Its key, if it needs one, from $REVIEWER_API_KEY.",
            ),
            "model": click.option("--model", help="Model name (with --base-url, or instead of the configured one)."),
            "effort": click.option("--effort", type=click.Choice(EFFORTS), help="Thinking effort: none (Non-Think), high, max."),
            "fail_on": click.option("--fail-on", type=click.Choice(FAIL_ON), help="Exit 1 when a finding is at or above this severity."),
            "dry_run": click.option(
                "--dry-run", is_flag=True, help="Build every request and print a table of them with token and cost estimates; send nothing."
            ),
            "verbose": click.option("--verbose", "-v", is_flag=True, help="With --dry-run: also print every prompt in full."),
            "concurrency": click.option("--concurrency", type=int, help="Requests in flight at once (eval: cases reviewed at once)."),
            "max_cost": click.option("--max-cost", type=float, help="Stop before the run costs more than this many USD."),
            "trust_repo_config": trust_option,
            "compare": click.option("--compare", is_flag=True, help="Also say what the run's tokens would cost on other models (a dated price table)."),
        }
        for name, option in reversed(options.items()):
            if name not in omit:
                func = option(func)

        def wrapper(**kwargs: Any) -> Any:
            fields = RunOptions.__dataclass_fields__
            opts = RunOptions(**{k: kwargs.pop(k) for k in list(kwargs) if k in fields})
            if opts.dry_run and opts.output_format not in ("text", "json"):  # a plan is no review: no SARIF, no comment
                raise click.UsageError(f"--dry-run prints its plan as text or json, not {opts.output_format}")
            return func(opts=opts, **kwargs)

        return functools.update_wrapper(wrapper, func)  # type: ignore[return-value]

    return decorate


def environ() -> dict[str, str]:
    return dict(os.environ)


def user_config_path(env: Mapping[str, str]) -> Path | None:
    """The user's own configuration: $XDG_CONFIG_HOME/reviewer/config.toml, else ~/.config/reviewer/config.toml."""
    base = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"]) / ".config") if env.get("HOME") else "")
    return Path(base) / "reviewer" / "config.toml" if base else None


def build_config(
    opts: RunOptions,
    repo: RepoFiles | None,
    *,
    repo_trusted: bool = False,
    repo_config: str = config_module.CONFIG_FILE,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The user's own file, then `--config` or the repository's `.reviewer.toml`, then the flags.

    `repo` is where the repository's settings come from: the checkout for
    `reviewer local`, the base branch on a pull request (then `repo_trusted`).
    A checkout's file is trusted for what runs and where keys go only when the
    user says so (--trust-repo-config, or [trust] repositories in their own file).
    """
    from reviewer.repo_files import WorkingTree

    env = environ() if env is None else env
    layers: list[config_module.Layer] = []
    user_path = user_config_path(env)
    if user_path is not None and user_path.is_file():
        layers.append(config_module.read_layer(user_path, user=True))
    if opts.config_path is not None:
        layers.append(config_module.read_layer(opts.config_path))
    elif repo is not None:
        text = repo.read(repo_config)
        if text is None and repo_config != config_module.CONFIG_FILE:
            raise ConfigError(f"{repo.label(repo_config)}: no such configuration file (check the config input)")
        if text is not None:
            trusted = repo_trusted or opts.trust_repo_config
            if not trusted and isinstance(repo, WorkingTree) and layers:
                trusted = config_module.from_layers(layers).trust.trusts(repo.root)
            layers.append(config_module.text_layer(text, repo.label(repo_config), trusted=trusted))
    config = config_module.from_layers(layers)
    return config_module.with_overrides(
        config,
        backend=opts.backend,
        base_url=opts.base_url,
        model=opts.model,
        effort=opts.effort,
        fail_on=opts.fail_on,
        concurrency=opts.concurrency,
        max_cost=opts.max_cost,
    )


def load_guidelines(config: Config, repo: RepoFiles | None, *, learnings: bool | None = None) -> str:
    """`[review].instructions`, then the guidelines file (configured, or .reviewer/guidelines.md), the team's
    rules files and (unless `learnings` is False, or `[review] learnings` is off) .reviewer/learnings.md,
    each read through `repo`."""
    from reviewer.repo_files import inside

    parts = [config.review.instructions.strip()] if config.review.instructions.strip() else []
    configured = config.review.guidelines_file
    if repo is None:
        return "\n\n".join(parts)
    path = inside(configured, f"{config.source or 'configuration'}: review.guidelines_file") if configured else DEFAULT_GUIDELINES
    text = repo.read(path)
    if configured and text is None:
        raise ConfigError(f"{config.source or 'configuration'}: review.guidelines_file: {repo.label(path)} does not exist")
    if text is not None:
        text = text.strip()
        if len(text) > MAX_GUIDELINES_CHARS:
            raise ConfigError(
                f"{repo.label(path)}: the guidelines are {len(text):,} characters; keep them under {MAX_GUIDELINES_CHARS:,} "
                "(they are sent with every request)"
            )
        parts.append(text)
    from reviewer.team_rules import load_team_rules

    rules = load_team_rules(config, repo)
    if rules:
        parts.append(rules)
    learned = load_learnings(repo) if (config.review.learnings if learnings is None else learnings) else ""
    return "\n\n".join([*parts, learned] if learned else parts)


def load_learnings(repo: RepoFiles) -> str:
    """What the model gets of .reviewer/learnings.md (reviewer.learnings.prompt_text), introduced; "" when there is none."""
    from reviewer.learnings import LEARNINGS_FILE, prompt_text

    text = prompt_text(repo.read(LEARNINGS_FILE) or "")
    if not text:
        return ""
    if len(text) > MAX_GUIDELINES_CHARS:
        raise ConfigError(
            f"{repo.label(LEARNINGS_FILE)}: the learnings are {len(text):,} characters; keep them under {MAX_GUIDELINES_CHARS:,} "
            "(they are sent with every request): merge or drop entries"
        )
    return f"What this team told the reviewer about earlier reviews (follow it):\n\n{text}"


def render_review(review: Review, output_format: str) -> str:
    """The review in one of the publishers' formats, for stdout: coloured when stdout is a terminal that may be."""
    from reviewer import publishers

    return publishers.render(review, output_format, colour=colour_ok())


def counted(review: Review) -> list[str]:
    """The severities --fail-on counts: findings on files of the change (a remark on code elsewhere, read as context, is not the change's)."""
    from reviewer.placement import Placement

    return [p.finding.severity for p in review.findings if p.placement is not Placement.OUTSIDE]


def exit_code(findings_severities: list[str], fail_on: str, incomplete: bool) -> int:
    if any(at_or_above(s, fail_on) for s in findings_severities):
        return ExitCode.FINDINGS
    return ExitCode.INCOMPLETE if incomplete else ExitCode.OK


def colour_ok() -> bool:
    return _terminal(sys.stdout) and "NO_COLOR" not in os.environ


def _terminal(stream: TextIO | None) -> bool:
    """Whether a person watches `stream`; None when the process started with it closed (`reviewer … >&-`)."""
    return stream is not None and stream.isatty()


def progress_printer() -> Status | None:
    """The run's progress on stderr: one updating line when a person is watching (plain lines with NO_COLOR),
    plain lines in CI, else none."""
    from reviewer.progress import Live, Status

    if _terminal(sys.stderr) and "NO_COLOR" not in os.environ:
        return Status(lambda message: click.echo(f"… {printable(message)}", err=True), Live())
    if _terminal(sys.stderr):  # no-color.org: no styling, and no redrawing either
        return Status(lambda message: click.echo(f"… {printable(message)}", err=True))
    if os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS"):
        return Status(lambda message: click.echo(f"reviewer: {printable(message)}", err=True))
    return None


def cost_audit(review: Review, opts: RunOptions) -> None:
    """--compare: the run's tokens priced on other models, on stderr (every --format stays as it is)."""
    if opts.compare:
        from reviewer.pricing import OTHER_MODELS, audit_line

        note(f"reviewer: {audit_line(review.usage, review.cost_usd, tuple(OTHER_MODELS)) or 'no request was sent, nothing to compare'}")


def note(message: str) -> None:
    """A line on stderr; it may quote GitHub's or a server's text, so no control character gets through."""
    click.echo(printable(message), err=True)


def range_options(func: F) -> F:
    """Which local change: the contract's default range, --base, --staged or --range."""
    options = [
        click.option("--base", "base", metavar="REF", help="Base to diff against (default: upstream, origin/HEAD, main, master)."),
        click.option("--staged", is_flag=True, help="Review only what is staged (the index against HEAD)."),
        click.option("--range", "commit_range", metavar="A..B", help="Review an explicit commit range."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True)
class LocalWork:
    root: Path
    description: str
    diff: Diff
    untracked: tuple[str, ...] = ()
    exact: bool = True  # the working tree is the change's new side (not so for --staged or --range)


def local_change(base: str | None, staged: bool, commit_range: str | None) -> LocalWork:
    from reviewer.diff import parse_diff
    from reviewer.sources import git as git_source

    repo = git_source.open_repo(Path.cwd())
    change = git_source.collect(repo, base=base, staged=staged, commit_range=commit_range)
    exact = not (staged or commit_range)
    return LocalWork(change.root, change.description, parse_diff(change.raw), change.untracked, exact)
