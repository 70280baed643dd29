"""Who answers: one module per protocol, found through a registry of import paths.

Modules are imported only when a backend of their protocol is used, so that
`reviewer --help` never pays for the SDKs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path

from reviewer.backends.base import Backend
from reviewer.config import BackendConfig
from reviewer.errors import ConfigError

REGISTRY: dict[str, str] = {
    "openai": "reviewer.backends.openai_compatible:OpenAICompatible",
    "anthropic": "reviewer.backends.anthropic_compatible:AnthropicCompatible",
    "claude-code": "reviewer.backends.agent_cli:ClaudeCode",
    "opencode": "reviewer.backends.agent_cli:OpenCode",
}


# The SDK each HTTP protocol sends with: importing it is most of a run's own time (openai ~0.35 s; reviewer.read_ahead).
SDKS: dict[str, str] = {"openai": "openai", "anthropic": "anthropic"}


def create(
    config: BackendConfig,
    environ: Mapping[str, str],
    workdir: Path | None = None,
    withheld: Callable[[str], bool] | None = None,
    known: Mapping[str, str] | None = None,
) -> Backend:
    """Instantiate the backend a config describes. No network I/O happens here.

    `workdir` is the repository root, where agent backends run; HTTP backends never see it.
    `withheld` says which of its files an agent must not be able to read (data-sovereignty rules);
    `known` (value → placeholder) the secrets found in the change, masked wherever they show in its files.
    """
    try:
        target = REGISTRY[config.protocol]
    except KeyError:
        raise ConfigError(
            f"backends.{config.name}: protocol {config.protocol!r} is not available in this version "
            f"(available: {', '.join(sorted(REGISTRY))})"
        ) from None
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not cls.needs_workdir:
        backend: Backend = cls(config, environ)
    elif workdir is None:
        raise ConfigError(
            f"backend {config.name!r} ({config.protocol}) runs an agent in a checkout, which this command has none of: "
            "agent backends work with `reviewer local` and `reviewer backends check`; route this task to an HTTP backend"
        )
    else:
        backend = cls(config, environ, workdir=workdir, withheld=withheld, known=known)
    return backend
