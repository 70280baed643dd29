"""`reviewer backends check|import`: try every configured backend; bring in an OpenCode or Claude Code setup."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer import config as config_module
from reviewer.commands.common import RunOptions, build_config, config_option, environ, trust_option, user_config_path
from reviewer.config import Config
from reviewer.errors import ConfigError, ExitCode, ReviewerError

if TYPE_CHECKING:
    from reviewer.backends.check import CheckResult


@click.group()
def backends() -> None:
    """Check the configured backends, or import them from OpenCode or Claude Code."""


def _repo_root() -> Path | None:
    from reviewer.sources.git import find_root

    return find_root(Path.cwd())


def checked_names(cfg: Config) -> list[str]:
    """Backends the configuration uses or defines; built-in ones nothing refers to are left alone."""
    used = [name for task in config_module.ROUTED for name in cfg.routes.for_task(task)]
    used += [name for rule in cfg.routes.rules for name in rule.backends]
    used += [name for name in cfg.backends if name not in config_module.BUILTIN_BACKENDS]
    return list(dict.fromkeys(used))


@backends.command()
@config_option
@trust_option
@click.option("--backend", "only", multiple=True, metavar="NAME", help="Check only this backend (repeatable).")
@click.option("--format", "output_format", type=click.Choice(("text", "json")), default="text", show_default=True)
def check(config_path: Path | None, trust_repo_config: bool, only: tuple[str, ...], output_format: str) -> int:
    """Send one tiny request to each configured backend.

    Reports whether it is reachable and accepts the key, the model that
    answered, the latency, and whether reasoning came back at the configured
    effort (or that the backend cannot honour that effort).
    """
    from reviewer import backends as registry
    from reviewer import routing
    from reviewer.backends.check import CheckResult
    from reviewer.backends.check import check as check_one
    from reviewer.repo_files import WorkingTree

    root = _repo_root()
    env = environ()
    cfg = build_config(RunOptions(config_path, trust_repo_config=trust_repo_config), WorkingTree(root) if root else None, env=env)
    names = list(only) or checked_names(cfg)
    results: list[CheckResult] = []
    setup_failed = False
    for name in names:
        backend_config = cfg.backend(name)
        try:
            backend = registry.create(
                backend_config, env, workdir=root or Path.cwd(), withheld=routing.withheld(cfg, name, None)
            )
        except ReviewerError as exc:
            setup_failed = True
            results.append(
                CheckResult(name, backend_config.protocol, backend_config.model, backend_config.effort, ok=False, error=str(exc))
            )
            continue
        results.append(check_one(backend))
    if output_format == "json":
        click.echo(json.dumps({"backends": [asdict(r) for r in results]}, indent=2))
    else:
        for r in results:
            click.echo(_line(r))
    if setup_failed:
        return ExitCode.USAGE
    return ExitCode.INCOMPLETE if any(not r.ok for r in results) else ExitCode.OK


def _line(r: CheckResult) -> str:
    head = f"{r.name} ({r.protocol}, {r.configured_model}, effort {r.effort}):"
    if not r.ok:
        return f"{head} FAILED: {r.error}"
    flag = {True: "", False: " (!)", None: ""}[r.reasoning_as_asked]
    out = f"{head} ok · model {r.model} · {r.seconds:.2f} s · {r.reasoning}{flag}"
    if r.effort_gap:
        out += f"\n  note: {r.effort_gap}"
    return out


@backends.command(name="import")
@click.option("--from", "origin", type=click.Choice(("opencode", "claude-code")), required=True, help="Whose setup to read.")
@click.option(
    "--file",
    "source",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The file to read (default: ./opencode.json[c] or ~/.config/opencode/…; ~/.claude/settings.json).",
)
@config_option
@click.option("--agent", is_flag=True, help="Write claude-code / opencode backends (run the agent) instead of direct API ones.")
@click.option("--force", is_flag=True, help="Replace backends of the same name already in the file.")
def import_(origin: str, source: Path | None, config_path: Path | None, agent: bool, force: bool) -> int:
    """Write the backends of an OpenCode or Claude Code setup into your own configuration.

    That is ~/.config/reviewer/config.toml (or --config PATH): where code and
    keys go is yours to decide, not a repository's. Endpoints and models are
    copied; keys stay where they are, as the names of the environment variables
    that hold them (a key written into the setup's file is never copied).
    """
    from reviewer import agent_setups

    env = environ()
    root = _repo_root()
    home = Path(env["HOME"]) if env.get("HOME") else None
    if origin == "opencode":
        setup = agent_setups.from_opencode(source or agent_setups.find_opencode_config(root or Path.cwd(), home), agent=agent)
    else:
        setup = agent_setups.from_claude_code(source or agent_setups.find_claude_settings(home), env, agent=agent)
    for note in setup.notes:
        click.echo(f"note: {note}", err=True)
    if not setup.backends:
        click.echo(f"nothing to import from {setup.source}", err=True)
        return ExitCode.USAGE
    target = config_path or user_config_path(env)
    if target is None:
        raise ConfigError("no HOME or XDG_CONFIG_HOME to find your configuration in: name the file with --config PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    agent_setups.write(target, setup, force=force)
    names = [b.name for b in setup.backends]
    click.echo(f"wrote {', '.join(f'[backends.{n}]' for n in names)} to {target} (from {setup.source})")
    for b in setup.backends:
        click.echo(f"  {b.name}: {b.protocol} at {b.base_url}")
    click.echo(f'route them in [routes], e.g. review = ["{names[0]}"], then run: reviewer backends check')
    return ExitCode.OK
