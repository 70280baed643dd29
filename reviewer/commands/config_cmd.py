"""`reviewer config show|check`: the merged configuration, and whether it is usable."""

from __future__ import annotations

from pathlib import Path

import click

from reviewer import config as config_module
from reviewer.commands.common import RunOptions, build_config, config_option, environ, trust_option
from reviewer.config import Config
from reviewer.errors import ConfigError


@click.group()
def config() -> None:
    """Show or check the configuration."""


def _load(config_path: Path | None, trust_repo_config: bool) -> Config:
    from reviewer.repo_files import WorkingTree
    from reviewer.sources.git import find_root

    root = find_root(Path.cwd())
    return build_config(RunOptions(config_path, trust_repo_config=trust_repo_config), WorkingTree(root) if root else None)


@config.command()
@config_option
@trust_option
def show(config_path: Path | None, trust_repo_config: bool) -> int:
    """Print the merged configuration (keys are never shown, only whether they are set)."""
    cfg = _load(config_path, trust_repo_config)
    source = cfg.source or "no file: built-in defaults"
    from reviewer.redact import redact

    # A key pasted where a variable's name belongs must not be printed either.
    click.echo(redact(f"# configuration from {source}\n" + config_module.to_toml(cfg, environ())), nl=False)
    return 0


@config.command()
@config_option
@trust_option
def check(config_path: Path | None, trust_repo_config: bool) -> int:
    """Validate the configuration; every problem names its file and key."""
    cfg = _load(config_path, trust_repo_config)
    env = environ()
    where = cfg.source or "built-in defaults"
    problems = []
    routed = {name for task in config_module.ROUTED for name in cfg.routes.for_task(task)}
    routed |= {name for rule in cfg.routes.rules for name in rule.backends}
    for name in sorted(routed):
        backend = cfg.backend(name)
        if backend.api_key_env and not env.get(backend.api_key_env) and not backend.is_self_hosted:
            problems.append(f"{where}: backends.{name}.api_key_env: {backend.api_key_env} is not set in this environment")
        if cfg.routes.self_hosted_only and not backend.is_self_hosted:
            click.echo(f"note: backends.{name} is not self-hosted; self_hosted_only keeps code away from it")
    if problems:
        raise ConfigError("\n".join(problems))
    click.echo(f"ok: {where}")
    return 0
