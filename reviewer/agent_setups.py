"""Existing agent setups read as backends: OpenCode's providers and models, Claude Code's endpoint and model.

Only where to send and which model: a key is kept as the *name* of the
variable that holds it, never its value. `reviewer backends import` writes
the result into `.reviewer.toml`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from reviewer.config import DEEPSEEK_URL, load, parse_toml, toml_key, toml_value
from reviewer.errors import ConfigError

ANTHROPIC_URL = "https://api.anthropic.com"
# OpenCode providers that need no baseURL: models.dev knows where they live and which variable holds the key.
_BUILTIN_PROVIDERS: dict[str, tuple[str, str, str]] = {  # id → (protocol, base_url, key variable)
    "deepseek": ("openai", DEEPSEEK_URL, "DEEPSEEK_API_KEY"),
    "anthropic": ("anthropic", ANTHROPIC_URL, "ANTHROPIC_API_KEY"),
}
_OPENAI_PACKAGES = ("@ai-sdk/openai-compatible", "@ai-sdk/openai", "@ai-sdk/deepseek")
_ENV_REFERENCE = re.compile(r"^\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Imported:
    """One backend table to write, in the order its keys are written."""

    name: str
    protocol: str
    base_url: str
    model: str
    api_key_env: str | None = None
    effort: str | None = None  # None: leave the default
    dialect: str | None = None

    def toml(self, source: str) -> str:
        lines = [f"# imported from {source}", f"[backends.{toml_key(self.name)}]"]
        for key in ("protocol", "base_url", "model", "effort", "dialect", "api_key_env"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {toml_value(value)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Setup:
    source: Path
    backends: tuple[Imported, ...]
    notes: tuple[str, ...]  # what was left out or needs the user's attention


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "backend"


# OpenCode


def find_opencode_config(repo_root: Path | None, home: Path | None) -> Path:
    """The project's opencode.json(c), else the user's ~/.config/opencode one."""
    places = [repo_root] if repo_root else []
    if home:
        places.append(home / ".config" / "opencode")
    for folder in places:
        for name in ("opencode.jsonc", "opencode.json"):
            if (folder / name).is_file():
                return folder / name
    searched = ", ".join(str(p) for p in places) or "nowhere (no repository, no HOME)"
    raise ConfigError(f"no opencode.json or opencode.jsonc found in {searched}; pass --file PATH")


def from_opencode(path: Path, *, agent: bool = False) -> Setup:
    data = _read_jsonc(path)
    providers = data.get("provider") or {}
    if not isinstance(providers, dict):
        raise ConfigError(f"{path}: `provider` is not an object")
    pairs: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    for provider_id, provider in providers.items():
        for model_id, model in ((provider or {}).get("models") or {}).items():
            pairs.append((provider_id, provider or {}, model_id, model or {}))
    # The chosen models may not be listed under their provider (a built-in one needs no block at all).
    listed = {(p, m) for p, _, m, _ in pairs}
    for key in ("model", "small_model"):
        provider_id, _, model_id = str(data.get(key) or "").partition("/")
        if model_id and (provider_id, model_id) not in listed:
            pairs.append((provider_id, providers.get(provider_id) or {}, model_id, {}))
            listed.add((provider_id, model_id))
    backends: list[Imported] = []
    notes: list[str] = []
    models = [m for _, _, m, _ in pairs]
    for provider_id, provider, model_id, model in pairs:
        name = slug(model_id) if models.count(model_id) == 1 else slug(f"{provider_id}-{model_id}")
        made = _opencode_backend(name, provider_id, provider, model_id, model, notes, agent=agent)
        if made:
            backends.append(made)
    if not backends and not notes:
        notes.append(f"{path}: no providers with models found")
    return Setup(path, tuple(backends), tuple(notes))


def _opencode_backend(
    name: str, provider_id: str, provider: Mapping[str, Any], model_id: str, model: Mapping[str, Any], notes: list[str], *, agent: bool
) -> Imported | None:
    options = provider.get("options") or {}
    package = provider.get("npm")
    builtin = _BUILTIN_PROVIDERS.get(provider_id)
    where = f"provider {provider_id!r}, model {model_id!r}"
    if package == "@ai-sdk/anthropic" or (package is None and builtin and builtin[0] == "anthropic"):
        protocol = "anthropic"
    elif package in _OPENAI_PACKAGES or (package is None and builtin):
        protocol = "openai"
    else:
        notes.append(f"{where}: skipped, provider package {package or '(none)'} is not one reviewer speaks")
        return None
    base_url = _without_credentials(str(options.get("baseURL") or (builtin[1] if builtin else "")), where, notes)
    if not base_url:
        notes.append(f"{where}: skipped, no baseURL and not a built-in provider")
        return None
    if protocol == "anthropic":
        base_url = base_url.rstrip("/").removesuffix("/v1")  # the AI SDK wants /v1, the anthropic SDK adds it
    default_key = builtin[2] if builtin else ("DEEPSEEK_API_KEY" if _is_deepseek(base_url) else None)
    key = _key_variable(options.get("apiKey"), default_key, where, notes)
    dialect = _dialect(protocol, base_url)
    return Imported(
        name=name,
        protocol="opencode" if agent else protocol,
        base_url=base_url,
        model=model_id,
        api_key_env=key,
        effort=_opencode_effort(model.get("options") or {}),
        dialect=dialect,
    )


def _key_variable(api_key: Any, default: str | None, where: str, notes: list[str]) -> str | None:
    if api_key is None:
        return default
    match = _ENV_REFERENCE.match(str(api_key))
    if match:
        return match.group(1)
    # A key written into the file is never copied: it would end up in .reviewer.toml, in git.
    notes.append(
        f"{where}: its apiKey is not an {{env:VAR}} reference and was not copied; put the key in "
        + (f"the environment variable {default}" if default else "an environment variable and set api_key_env to its name")
    )
    return default


def _opencode_effort(options: Mapping[str, Any]) -> str | None:
    thinking = options.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        return "none"
    template = options.get("chat_template_kwargs")
    if isinstance(template, dict) and template.get("thinking") is False:
        return "none"
    level = options.get("reasoningEffort") or options.get("effort")
    return _effort_level(str(level)) if level else None


def _effort_level(level: str) -> str:
    """DeepSeek's mapping, onto our three levels: xhigh and above think at max."""
    level = level.lower()
    if level in ("none", "off", "disabled"):
        return "none"
    return "max" if level in ("xhigh", "max", "ultra") else "high"


def _without_credentials(url: str, where: str, notes: list[str]) -> str:
    """The URL without a user, password or query: secrets there must not land in .reviewer.toml."""
    parts = urlparse(url)
    if not (parts.username or parts.password or parts.query):
        return url
    notes.append(f"{where}: the URL carried credentials or query values; they were not copied (keep keys in variables)")
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "", query="").geturl()


def _is_deepseek(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "").endswith("deepseek.com")


def _dialect(protocol: str, base_url: str) -> str | None:
    if protocol == "anthropic":
        return None if _is_deepseek(base_url) else "anthropic"
    if urlparse(base_url).port == 11434:  # Ollama's port
        return "ollama"
    return None


# Claude Code


def find_claude_settings(home: Path | None) -> Path | None:
    if home and (home / ".claude" / "settings.json").is_file():
        return home / ".claude" / "settings.json"
    return None


def from_claude_code(path: Path | None, environ: Mapping[str, str], *, agent: bool = False) -> Setup:
    """The settings' `env` block over the process's ANTHROPIC_* variables, as Claude Code applies them."""
    settings_env: dict[str, str] = {}
    if path is not None:
        data = _read_jsonc(path)
        block = data.get("env") or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: `env` is not an object")
        settings_env = {str(k): str(v) for k, v in block.items()}
    env = {**{k: v for k, v in environ.items() if k.startswith(("ANTHROPIC_", "CLAUDE_CODE_", "MAX_THINKING"))}, **settings_env}
    source = path or Path("environment")
    notes: list[str] = []
    base_url = _without_credentials(env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_URL, "ANTHROPIC_BASE_URL", notes)
    key = next((k for k in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY") if env.get(k)), None)
    if key and key in settings_env and not environ.get(key):
        notes.append(f"the key is set in {path}'s env block, not in this environment: export {key} before reviewing")
    effort = _claude_effort(env)
    models = [env.get("ANTHROPIC_MODEL"), env.get("ANTHROPIC_DEFAULT_HAIKU_MODEL") or env.get("ANTHROPIC_SMALL_FAST_MODEL")]
    backends: list[Imported] = []
    for model in dict.fromkeys(m.removesuffix("[1m]") for m in models if m):
        backends.append(
            Imported(
                name=slug(f"claude-code-{model}"),
                protocol="claude-code" if agent else "anthropic",
                base_url=base_url,
                model=model,
                api_key_env=key,
                effort=effort,
                dialect=_dialect("anthropic", base_url),
            )
        )
    if not backends:
        notes.append(f"{source}: no ANTHROPIC_MODEL set, so there is no model to import")
    return Setup(source, tuple(backends), tuple(notes))


def _claude_effort(env: Mapping[str, str]) -> str | None:
    if env.get("MAX_THINKING_TOKENS") == "0" or env.get("CLAUDE_CODE_DISABLE_THINKING"):
        return "none"
    level = env.get("CLAUDE_CODE_EFFORT_LEVEL")
    return _effort_level(level) if level and level != "auto" else None


# Writing .reviewer.toml


def write(target: Path, setup: Setup, *, force: bool) -> None:
    """Append the imported tables; a backend of the same name is replaced only with `force`."""
    existing = target.read_text(encoding="utf-8") if target.is_file() else ""
    names = _backend_names(existing, target)
    clashes = [b.name for b in setup.backends if b.name in names]
    if clashes and not force:
        raise ConfigError(
            f"{target}: already defines {', '.join(f'[backends.{n}]' for n in clashes)}; "
            "pass --force to replace them"
        )
    text = existing
    for name in clashes:
        text = _without_table(text, name)
    tables = "\n".join(b.toml(str(setup.source)) for b in setup.backends)
    text = (text.rstrip() + "\n\n" if text.strip() else "") + tables
    target.write_text(text, encoding="utf-8")
    # What we wrote must load; if not, put the file back as it was and say why.
    try:
        load(target, user=True)
    except ConfigError:
        if existing:
            target.write_text(existing, encoding="utf-8")
        else:
            target.unlink()
        raise


def _backend_names(text: str, where: Path) -> set[str]:
    if not text.strip():
        return set()
    return set(parse_toml(text, where).get("backends") or {})


def _without_table(text: str, name: str) -> str:
    """`text` without the [backends.NAME] table (its header up to the next table header)."""
    header = re.compile(r"^\s*\[\s*backends\s*\.\s*(?:" + re.escape(name) + r"|\"" + re.escape(name) + r"\")\s*\]")
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if header.match(line):
            skipping = True
            if out and out[-1].startswith("# imported from"):
                out.pop()
            continue
        if skipping and line.lstrip().startswith("["):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def _read_jsonc(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(strip_jsonc(text))
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON or JSONC: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (opencode.jsonc, settings.json) made plain JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif c == "," and _closes_next(text, i + 1):
            pass  # a trailing comma
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _closes_next(text: str, start: int) -> bool:
    """Whether the next thing after `start`, skipping blanks and comments, closes an object or array."""
    i, n = start, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            return text[i] in "}]"
    return False
