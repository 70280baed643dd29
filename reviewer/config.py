"""The configuration: built-in defaults, then `.reviewer.toml`, then flags.

Built once at the CLI edge and passed in; nothing else reads files or the
environment for settings. Every error names the file, the key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlparse

from reviewer.errors import ConfigError
from reviewer.vocabulary import EFFORTS, FAIL_ON, SEVERITIES, TASKS

CONFIG_FILE = ".reviewer.toml"
DEEPSEEK_URL = "https://api.deepseek.com"
PROTOCOLS = ("openai", "anthropic", "claude-code", "opencode")
# Routes that may be left empty: the pass they name is then off.
OPTIONAL_ROUTES = ("verify",)
ROUTED = (*TASKS, *OPTIONAL_ROUTES)
DEFAULT_TEAM_RULES = ("REVIEW.md", "AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md")
# How a server wants thinking and effort in an OpenAI-format request; "auto"
# picks "deepseek" for DeepSeek's own API and "vllm" (chat_template_kwargs) elsewhere.
# For the Anthropic format (protocol anthropic, and opencode's provider package),
# "deepseek" means DeepSeek's endpoint and "anthropic" Anthropic's thinking budgets.
DIALECTS = ("auto", "deepseek", "vllm", "sglang", "ollama", "openai", "anthropic")


@dataclass(frozen=True)
class BackendConfig:
    name: str = field(default="", metadata={"internal": True})
    protocol: str = field(default="openai", metadata={"choices": PROTOCOLS})
    base_url: str = DEEPSEEK_URL
    model: str = "deepseek-v4-pro"
    effort: str = field(default="high", metadata={"choices": EFFORTS})
    api_key_env: str | None = None
    dialect: str = field(default="auto", metadata={"choices": DIALECTS})
    self_hosted: bool | None = None  # None: decided from base_url (loopback, private or .local/.internal hosts)
    # DeepSeek holds a queued request open for up to 10 minutes; an hour of silence is a hung server.
    timeout_seconds: float = field(default=900.0, metadata={"min": 0.1, "max": 3600})
    max_retries: int = field(default=3, metadata={"min": 0, "max": 10})
    max_tokens: int = field(default=32000, metadata={"min": 1})
    stream: bool = True
    price_input: float | None = field(default=None, metadata={"min": 0})  # USD per 1M cache-miss input tokens; None: the built-in table
    price_cached_input: float | None = field(default=None, metadata={"min": 0})
    price_output: float | None = field(default=None, metadata={"min": 0})
    command: str | None = None  # claude-code / opencode: the executable, if not on PATH

    def api_key(self, environ: Mapping[str, str]) -> str | None:
        return environ.get(self.api_key_env) if self.api_key_env else None

    def require_key(self, environ: Mapping[str, str]) -> str | None:
        """The key, or None for a self-hosted server that needs none; a ConfigError naming the variable otherwise."""
        key = self.api_key(environ)
        if key is None and self.api_key_env and not self.is_self_hosted:
            raise ConfigError(
                f"backend {self.name!r} needs an API key: set the environment variable {self.api_key_env} "
                "(or review with your own endpoint: --base-url URL --model NAME)"
            )
        return key

    @property
    def shown_url(self) -> str:
        """base_url fit to print: a password or query values in it (some proxies take keys there) are masked."""
        return redact_url(self.base_url)

    @property
    def is_self_hosted(self) -> bool:
        if self.self_hosted is not None:
            return self.self_hosted
        return is_private_url(self.base_url)

    @property
    def is_deepseek(self) -> bool:
        return is_deepseek_url(self.base_url)


@dataclass(frozen=True)
class Rule:
    paths: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routes:
    review: tuple[str, ...] = ("deepseek-pro",)
    # None: not configured, so the task follows `review` (code routed to your own server stays there).
    summarize: tuple[str, ...] | None = None
    judge: tuple[str, ...] | None = None
    chat: tuple[str, ...] | None = None  # answers in review threads and to `/ask`
    verify: tuple[str, ...] = ()  # the verification pass: off until a backend is named (it never follows review)
    self_hosted_only: bool = False
    rules: tuple[Rule, ...] = ()

    def for_task(self, task: str) -> tuple[str, ...]:
        own: tuple[str, ...] | None = getattr(self, task)
        return self.review if own is None else own

    def follows_review(self, task: str) -> bool:
        return task in TASKS and task != "review" and getattr(self, task) is None


@dataclass(frozen=True)
class PathInstruction:
    """Guidance for the requests whose files match `paths` (gitignore-style patterns)."""

    paths: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class ReviewSettings:
    ignore: tuple[str, ...] = ()
    skip_generated: bool = True  # lock files, minified and generated files
    fail_on: str = field(default="none", metadata={"choices": FAIL_ON})
    concurrency: int = field(default=8, metadata={"min": 1})
    # The gate for a large change: a run whose estimate (as --dry-run makes it) is over this sends nothing,
    # and a run stops sending before it could pass it.
    max_cost_usd: float | None = field(default=2.0, metadata={"min": 0})
    instructions: str = ""  # the team's review guidelines, added to every review prompt
    guidelines_file: str | None = None  # a file in the repository with more guidelines
    max_chunk_tokens: int = field(default=60000, metadata={"min": 1000})  # diff tokens per request; larger changes are split
    # A change is split into at least `concurrency` requests, but none under this many diff tokens: a
    # smaller one pays the instructions and the thinking again for little more parallelism.
    min_chunk_tokens: int = field(default=8000, metadata={"min": 500})
    combine_summary: bool = True  # one backend reviews and summarizes: one request per chunk answers both
    # The team's conventions files, read in this order from the repository (the base branch on a PR).
    team_rules: tuple[str, ...] = DEFAULT_TEAM_RULES
    path_instructions: tuple[PathInstruction, ...] = field(default=(), metadata={"table": PathInstruction})
    context_tokens: int = field(default=16000, metadata={"min": 0})  # code around the hunks per request; 0: the diff alone
    call_sites: int = field(default=3, metadata={"min": 0})  # call sites shown for each changed function
    tools: bool = False  # HTTP backends may read_file, grep and list_files in the change's tree
    tool_rounds: int = field(default=8, metadata={"min": 1, "max": 50})  # tool calls answered per request before it must answer
    tool_tokens: int = field(default=300000, metadata={"min": 1000})  # prompt and output tokens one request's tool rounds may spend
    learnings: bool = True  # the team's .reviewer/learnings.md reaches every prompt, like the guidelines


@dataclass(frozen=True)
class GitHubSettings:
    """How `reviewer pr` and the Action post: noise control, skips and GitHub's limits."""

    inline_min_severity: str = field(default="minor", metadata={"choices": SEVERITIES})  # less severe: summary only
    max_inline_comments: int = field(default=25, metadata={"min": 0})  # per run, most severe first; the rest are listed in the summary
    comments_per_request: int = field(default=50, metadata={"min": 1})  # GitHub documents no cap; large reviews time out, so we keep one bounded
    skip_drafts: bool = True
    skip_label: str = "skip-review"
    skip_bots: bool = True
    # A larger PR gets a summary saying it was not reviewed; 0: no limit (the default gate is review.max_cost_usd)
    max_files: int = field(default=0, metadata={"min": 0})
    max_changed_lines: int = field(default=0, metadata={"min": 0})
    update_description: bool = False  # `reviewer summarize` also writes the walkthrough into the PR description
    # The summary's cost line also prices the run's tokens on these models (reviewer.pricing.OTHER_MODELS); [] for none
    compare_models: tuple[str, ...] = ("gpt-5.5", "claude-opus-4.7")
    seconds_between_writes: float = field(default=1.0, metadata={"min": 0, "max": 60})  # GitHub allows ~80 content-creating requests a minute
    # Who our comments are posted as when the token cannot ask GET /user (GITHUB_TOKEN, a GitHub App):
    # only this login's comments count as ours. An App posts as "SLUG[bot]".
    bot_login: str = "github-actions[bot]"
    # GitHub's rate limits: the most a run waits for them in all (past it the review is saved and the
    # run exits 3), and the first wait on a secondary limit that names none (GitHub: at least a minute).
    max_rate_limit_wait: float = field(default=300.0, metadata={"min": 0, "max": 3600})
    secondary_rate_wait: float = field(default=60.0, metadata={"min": 0, "max": 600})
    request_timeout: int = field(default=60, metadata={"min": 1, "max": 600})  # seconds per GitHub request
    # Our thread whose lines a later push changed, and that the new review does not raise again, is resolved:
    # "unanswered" only when nobody replied to it, "always" even then, "never" leaves every thread alone.
    resolve_fixed: str = field(default="unanswered", metadata={"choices": ("never", "unanswered", "always")})


# GitHub's author associations (a comment's `author_association`), most trusted first.
ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE")


@dataclass(frozen=True)
class ChatSettings:
    """Answers in review threads and to `/ask`: who may ask, and how a comment names the reviewer."""

    enabled: bool = True
    # A review comment that names this asks the reviewer even outside its own threads; "" turns that off.
    mention: str = "@reviewer"
    # Who may ask, by the comment's author association: on a pull request from a branch of this repository...
    allow: tuple[str, ...] = ("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR")
    # ...and on one from a fork, where anyone could open a pull request to spend the model's budget.
    allow_on_forks: tuple[str, ...] = ("OWNER", "MEMBER", "COLLABORATOR")
    max_answer_chars: int = field(default=6000, metadata={"min": 200, "max": 50000})  # what is posted of the model's answer


@dataclass(frozen=True)
class LearnSettings:
    """`reviewer learn`: which pull requests it reads, when a pattern becomes a learning, and the Action's pull request."""

    days: int = field(default=30, metadata={"min": 1, "max": 3650})  # pull requests updated in the last N days
    max_pulls: int = field(default=50, metadata={"min": 1, "max": 1000})
    min_evidence: int = field(default=2, metadata={"min": 1})  # threads needed before a pattern is proposed
    # The Action, on `schedule` or `workflow_dispatch`, opens (or updates) a pull request with the file.
    open_pull_request: bool = False
    branch: str = "reviewer/learnings"


@dataclass(frozen=True)
class TrustSettings:
    """Only in the user's own configuration: repositories whose `.reviewer.toml` may say what runs and where keys go."""

    repositories: tuple[str, ...] = ()

    def trusts(self, root: Path) -> bool:
        resolved = root.resolve()
        return any(Path(entry).expanduser().resolve() == resolved for entry in self.repositories)


@dataclass(frozen=True)
class Config:
    routes: Routes = Routes()
    backends: Mapping[str, BackendConfig] = field(default_factory=dict)
    review: ReviewSettings = ReviewSettings()
    github: GitHubSettings = GitHubSettings()
    chat: ChatSettings = ChatSettings()
    learn: LearnSettings = LearnSettings()
    trust: TrustSettings = TrustSettings()
    source: str | None = None  # where it was read from, for messages: one file, or the layers joined by " + "

    def backend(self, name: str) -> BackendConfig:
        try:
            return self.backends[name]
        except KeyError:
            raise ConfigError(
                f"{self._where('routes')}: no backend named {name!r}; "
                f"define [backends.{name}] or use one of: {', '.join(sorted(self.backends))}"
            ) from None

    def _where(self, key: str) -> str:
        return f"{self.source or 'built-in defaults'}: {key}"


BUILTIN_BACKENDS: dict[str, BackendConfig] = {
    "deepseek-pro": BackendConfig(name="deepseek-pro", model="deepseek-v4-pro", effort="high", api_key_env="DEEPSEEK_API_KEY"),
    "deepseek-flash": BackendConfig(name="deepseek-flash", model="deepseek-flash", effort="none", api_key_env="DEEPSEEK_API_KEY"),
}


@dataclass(frozen=True)
class Layer:
    """One configuration file's parsed TOML, where it came from, and how far it is trusted."""

    data: Mapping[str, Any]
    where: str
    # False for a repository's own file in `reviewer local`: it may set rules and prompts, but not what
    # runs or where code and keys go (see REPOSITORY_RESTRICTED).
    trusted: bool = True
    user: bool = False  # the user's own file: the only one that may name trusted repositories


# What a repository's file may not decide unless the repository is trusted: a program to run (an
# agent protocol, a command), an endpoint to send code (and a key) to, the variable a key is read
# from, whether an endpoint counts as inside your network, what a backend costs (a price of 0 would
# switch your cost limit off), and a file to read.
REPOSITORY_RESTRICTED = (
    "protocol", "command", "base_url", "api_key_env", "self_hosted", "price_input", "price_cached_input", "price_output",
)


def read_layer(path: Path, *, trusted: bool = True, user: bool = False) -> Layer:
    """A configuration file the user or the workflow named (or the user's own): read as given."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file (check --config)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return Layer(parse_toml(text, path), str(path), trusted, user)


def text_layer(text: str, where: str, *, trusted: bool) -> Layer:
    """The repository's `.reviewer.toml`, read through RepoFiles (a working tree, or a base branch)."""
    return Layer(parse_toml(text, where), where, trusted)


def load(path: Path, *, user: bool = False) -> Config:
    """One file over the defaults, trusted: what `backends import` wrote, or a file named on the command line."""
    return from_layers([read_layer(path, user=user)])


def from_layers(layers: list[Layer]) -> Config:
    """Defaults, then each layer over the one before: tables merge key by key, rules add up.

    A layer can only tighten `self_hosted_only`, and its rules only add restrictions.
    """
    merged: dict[str, Any] = {}
    problems = _Problems()
    for layer in layers:
        problems.attempt(functools.partial(from_mapping, check_references=False), layer.data, layer.where)  # each file's own errors name that file
        problems.attempt(_check_layer, layer)
        data = layer.data if layer.trusted else _untrusted_view(merged, layer.data)
        merged = _merge(merged, data)
    sources = " + ".join(layer.where for layer in layers) or None
    if problems.messages:
        # Every problem at once: the cross-key checks too, as far as the merged settings can still be read.
        problems.attempt(lambda: validate(_lenient(merged, sources)))
        problems.raise_any()
    return from_mapping(merged, sources)


def _lenient(merged: Mapping[str, Any], sources: str | None) -> Config:
    """The merged settings with what failed its own checks left at the defaults, for the cross-key checks alone."""
    routes = dict(merged["routes"]) if isinstance(merged.get("routes"), Mapping) else {}
    backends = merged.get("backends") or {}
    config = Config(source=sources)
    try:
        config = dataclasses.replace(config, routes=_routes(routes, sources or "configuration"))
    except ConfigError:
        pass
    built = dict(BUILTIN_BACKENDS)
    for name, table in backends.items() if isinstance(backends, Mapping) else ():
        try:
            _expect_table(table, sources or "configuration", f"backends.{name}")
            built[name] = dataclasses.replace(_build(BackendConfig, table, sources or "configuration", f"backends.{name}"), name=name)
        except ConfigError:
            built[name] = BackendConfig(name=name)
    return dataclasses.replace(config, backends=built)


def _check_layer(layer: Layer) -> None:
    problems: list[str] = []
    if "trust" in layer.data and not layer.user:
        problems.append(
            f"{layer.where}: [trust] belongs in your own configuration ({USER_CONFIG_HINT}), "
            "not in a file a repository or workflow provides"
        )
    if not layer.trusted:
        for name, table in (layer.data.get("backends") or {}).items():
            for key in REPOSITORY_RESTRICTED:
                if key in table:
                    problems.append(f"{layer.where}: backends.{name}.{key}")
        for key in ("guidelines_file", "team_rules"):
            if key in (layer.data.get("review") or {}):
                problems.append(f"{layer.where}: review.{key}")
    if not problems:
        return
    if layer.trusted:
        raise ConfigError("\n".join(problems))
    raise ConfigError(
        "the repository's configuration sets what only you may decide (what runs, where code and keys go, "
        "which files are read):\n  "
        + "\n  ".join(problems)
        + f"\nA branch can carry any .reviewer.toml. Define these in your own configuration ({USER_CONFIG_HINT}), "
        "or, if you trust this repository, pass --trust-repo-config or list it under [trust] repositories there."
    )


USER_CONFIG_HINT = "~/.config/reviewer/config.toml"


def _untrusted_view(earlier: Mapping[str, Any], data: Mapping[str, Any]) -> Mapping[str, Any]:
    """What an untrusted layer may still say over your own file: no task routes once you chose any (where code
    goes is yours, and a task you left to follow `review` must not be sent elsewhere either), and a cost limit
    only lower than yours."""
    out = dict(data)
    routes = data.get("routes")
    if any(task in (earlier.get("routes") or {}) for task in ROUTED) and isinstance(routes, Mapping):
        out["routes"] = {k: v for k, v in routes.items() if k not in ROUTED}
    limit = (earlier.get("review") or {}).get("max_cost_usd")
    review = data.get("review")
    if limit is not None and isinstance(review, Mapping) and "max_cost_usd" in review:
        out["review"] = {**review, "max_cost_usd": min(limit, review["max_cost_usd"])}
    return out


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: dict(value) if isinstance(value, Mapping) else value for key, value in base.items()}
    for section, value in top.items():
        if not isinstance(value, Mapping) or not isinstance(out.get(section), dict):
            out[section] = value
            continue
        target = out[section]
        for key, item in value.items():
            if section == "backends" and isinstance(item, Mapping) and isinstance(target.get(key), Mapping):
                target[key] = {**target[key], **item}
            elif section == "routes" and key == "rules":
                target[key] = [*target.get(key, []), *item] if isinstance(item, list) else item
            elif section == "routes" and key == "self_hosted_only":
                target[key] = bool(target.get(key)) or item
            else:
                target[key] = item
    return out


def parse_toml(text: str, where: str | Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def from_mapping(data: Mapping[str, Any], source: str | Path | None, *, check_references: bool = True) -> Config:
    """The settings in `data`; a ConfigError listing every problem found, one per line, not only the first."""
    where = str(source or "configuration")
    problems = _Problems()
    problems.attempt(_reject_unknown, data, ("routes", "backends", "review", "github", "chat", "learn", "trust"), where, "")
    backends = dict(BUILTIN_BACKENDS)
    raw_backends = data.get("backends", {})
    if problems.attempt(_expect_table, raw_backends, where, "backends", default=False) is not False:
        for name, table in raw_backends.items():
            backend = problems.attempt(_build, BackendConfig, table, where, f"backends.{name}")
            if backend is not None:
                backends[name] = _with_default_key(dataclasses.replace(backend, name=name))
    routes = problems.attempt(_routes, data.get("routes", {}), where) or Routes()
    review = problems.attempt(_review, data.get("review", {}), where) or ReviewSettings()
    github = problems.attempt(_build, GitHubSettings, data.get("github", {}), where, "github") or GitHubSettings()
    chat = problems.attempt(_build, ChatSettings, data.get("chat", {}), where, "chat") or ChatSettings()
    learn = problems.attempt(_build, LearnSettings, data.get("learn", {}), where, "learn") or LearnSettings()
    trust = problems.attempt(_build, TrustSettings, data.get("trust", {}), where, "trust") or TrustSettings()
    config = Config(
        routes=routes, backends=backends, review=review, github=github, chat=chat, learn=learn, trust=trust, source=str(source) if source else None
    )
    problems.attempt(_check_values, config, where)
    if check_references:
        problems.attempt(validate, config)
    problems.raise_any()
    return config


class _Problems:
    """Every ConfigError of one file, so that a user fixes them in one go."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def attempt(self, check: Callable[..., _T], *args: Any, default: Any = None) -> Any:
        try:
            return check(*args)
        except ConfigError as exc:
            self.messages += [m for m in str(exc).splitlines() if m not in self.messages]
            return default

    def raise_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


def _array_of_tables(table: dict[str, Any], key: str, cls: type[_T], where: str, section: str) -> tuple[_T, ...]:
    """`[[section.key]]` entries, taken out of `table`, each built and checked."""
    items = table.pop(key, [])
    if not isinstance(items, list):
        raise ConfigError(f"{where}: {section}.{key} must be an array of tables ([[{section}.{key}]])")
    return tuple(_build(cls, t, where, f"{section}.{key}[{i}]") for i, t in enumerate(items))


def _review(table: Any, where: str) -> ReviewSettings:
    _expect_table(table, where, "review")
    review_table = dict(table)
    instructions = _array_of_tables(review_table, "path_instructions", PathInstruction, where, "review")
    return dataclasses.replace(_build(ReviewSettings, review_table, where, "review"), path_instructions=instructions)


def _routes(table: Any, where: str) -> Routes:
    _expect_table(table, where, "routes")
    routes_table = dict(table)
    rules = _array_of_tables(routes_table, "rules", Rule, where, "routes")
    for key in ROUTED:  # a single name is a fallback list of one
        if isinstance(routes_table.get(key), str):
            routes_table[key] = [routes_table[key]]
    if routes_table.get("verify") == ["none"]:
        routes_table["verify"] = []
    return dataclasses.replace(_build(Routes, routes_table, where, "routes"), rules=rules)


def validate(config: Config) -> None:
    """Cross-key checks: every route and rule names a defined backend, numbers make sense."""
    where = str(config.source or "configuration")
    routed = {name for task in ROUTED for name in config.routes.for_task(task)}
    problems: list[str] = []
    for task in ROUTED:
        if config.routes.follows_review(task):
            continue  # its backends are review's, checked there
        names = config.routes.for_task(task)
        if not names and task not in OPTIONAL_ROUTES:
            problems.append(f"{where}: routes.{task} is empty; name at least one backend")
        problems += [_unknown_backend(where, f"routes.{task}", name, config) for name in names if name not in config.backends]
    for key in ("allow", "allow_on_forks"):
        unknown = [a for a in getattr(config.chat, key) if a not in ASSOCIATIONS]
        if unknown:
            problems.append(f"{where}: chat.{key}: {', '.join(map(repr, unknown))} is not an author association; use: {', '.join(ASSOCIATIONS)}")
    if config.chat.mention and not re.fullmatch(r"@[A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?", config.chat.mention):
        problems.append(f"{where}: chat.mention = {config.chat.mention!r} must be an @name (like \"@reviewer\"), or \"\" for none")
    for i, instruction in enumerate(config.review.path_instructions):
        if not instruction.paths or not instruction.text.strip():
            problems.append(f"{where}: review.path_instructions[{i}] needs both `paths` and `text`")
    for i, rule in enumerate(config.routes.rules):
        if not rule.paths or not rule.backends:
            problems.append(f"{where}: routes.rules[{i}] needs both `paths` and `backends`")
        for name in rule.backends:
            if name not in config.backends:
                problems.append(_unknown_backend(where, f"routes.rules[{i}].backends", name, config))
            elif name not in routed:
                # A rule narrows where matching files go; it never adds a destination the routes did not choose.
                problems.append(
                    f"{where}: routes.rules[{i}].backends: {name!r} is in no route ({', '.join(f'routes.{t}' for t in ROUTED)}); "
                    f"a rule only narrows which routed backends see its files: add {name!r} to a route"
                )
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))


def _check_values(config: Config, where: str) -> None:
    """Checks on each backend alone: a usable URL, and a key variable that belongs to that host; priced models to compare."""
    from reviewer.pricing import OTHER_MODELS

    unknown = [m for m in config.github.compare_models if m not in OTHER_MODELS]
    if unknown:
        raise ConfigError(f"{where}: github.compare_models: no price for {', '.join(map(repr, unknown))}; known: {', '.join(OTHER_MODELS)}")
    problems: list[str] = []
    for name, backend in config.backends.items():
        if not urlparse(backend.base_url).scheme.startswith("http") and backend.protocol in ("openai", "anthropic"):
            problems.append(f"{where}: backends.{name}.base_url {backend.base_url!r} must start with http:// or https://")
        if not _plain_netloc(urlparse(backend.base_url).netloc):
            problems.append(f"{where}: backends.{name}.base_url: its host part holds a backslash, %, a space or a control character")
        if backend.api_key_env is not None and not _VARIABLE.fullmatch(backend.api_key_env):
            problems.append(
                f"{where}: backends.{name}.api_key_env must be the NAME of an environment variable (letters, digits, _), "
                "never the key itself: put the key in a variable and name it here"
            )
            continue
        problem = key_problem(backend)
        if problem:
            problems.append(f"{where}: backends.{name}.api_key_env: {problem}")
        if backend.is_deepseek and urlparse(backend.base_url).scheme != "https" and backend.api_key_env:
            problems.append(f"{where}: backends.{name}.base_url: DeepSeek's API is served over https; {backend.base_url!r} would send the key in clear")
    if problems:
        raise ConfigError("\n".join(problems))


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Variables that hold the CI system's own credentials and inputs: never a model key.
RESERVED_KEY_PREFIXES = ("GITHUB_", "INPUT_", "ACTIONS_", "RUNNER_")
# Keys of one provider: sent to that provider's hosts only.
HOST_BOUND_KEYS = {"DEEPSEEK_API_KEY": "DeepSeek's API (api.deepseek.com)"}


def key_problem(backend: BackendConfig) -> str | None:
    """Why `backend` may not read its key from the variable it names, or None."""
    variable = backend.api_key_env
    if not variable:
        return None
    if variable.upper().startswith(RESERVED_KEY_PREFIXES):
        return (
            f"{variable} holds the CI system's own credentials or inputs, never a model key "
            f"(variables starting with {', '.join(RESERVED_KEY_PREFIXES)} are refused)"
        )
    if variable in HOST_BOUND_KEYS and not backend.is_deepseek:
        return (
            f"{variable} is sent only to {HOST_BOUND_KEYS[variable]}, not to {backend.shown_url}; "
            "keep the key for this endpoint in another variable"
        )
    return None


def with_overrides(
    config: Config,
    *,
    backend: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    effort: str | None = None,
    fail_on: str | None = None,
    concurrency: int | None = None,
    max_cost: float | None = None,
) -> Config:
    """Flags override the file for one run."""
    backends = dict(config.backends)
    routes = config.routes
    if base_url:
        if not model:
            raise ConfigError("--base-url needs --model too (the model name your server serves)")
        if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).hostname:
            raise ConfigError(f"--base-url {redact_url(base_url)!r} must start with http:// or https://, e.g. http://{base_url}")
        # A one-off endpoint, named after its host so that messages say which server; the key, if the
        # server needs one, from REVIEWER_API_KEY. It takes every task, verification too when it is on.
        name = one_off_name(base_url)
        backends[name] = BackendConfig(name=name, base_url=base_url, model=model, api_key_env=ONE_OFF_KEY)
        routes = dataclasses.replace(routes, review=(name,), summarize=None, judge=None, chat=None, verify=(name,) if routes.verify else ())
    elif backend:
        if backend not in backends:
            raise ConfigError(_unknown_backend("--backend", "", backend, config))
        routes = dataclasses.replace(routes, review=(backend,), summarize=None, judge=None, chat=None, verify=(backend,) if routes.verify else ())
    if (model and not base_url) or effort:
        for name in {n for task in TASKS for n in routes.for_task(task)}:
            changes: dict[str, Any] = {}
            if model and not base_url:
                changes["model"] = model
            if effort:
                changes["effort"] = effort
            backends[name] = dataclasses.replace(backends[name], **changes)
    review = config.review
    if fail_on:
        review = dataclasses.replace(review, fail_on=fail_on)
    if concurrency is not None:
        if concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        review = dataclasses.replace(review, concurrency=concurrency)
    if max_cost is not None:
        if finite(max_cost, "--max-cost") < 0:
            raise ConfigError("--max-cost must be at least 0")
        review = dataclasses.replace(review, max_cost_usd=max_cost)
    return dataclasses.replace(config, backends=backends, routes=routes, review=review)


ONE_OFF_KEY = "REVIEWER_API_KEY"  # the key of the --base-url endpoint, for a server that needs one


def one_off_name(base_url: str) -> str:
    """The --base-url backend's name: its host and port, as the user typed them (never a password)."""
    parts = urlparse(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def is_deepseek_url(url: str) -> bool:
    """DeepSeek's own host, read the way every client reads it: no user part, nothing a parser could take differently."""
    parts = urlparse(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.username is not None or not _plain_netloc(parts.netloc):
        return False
    return host == "deepseek.com" or host.endswith(".deepseek.com")


def _plain_netloc(netloc: str) -> bool:
    # WHATWG URL parsers (the agent CLIs run on Node) treat `\` like `/`: `https://evil\@api.deepseek.com` is evil's.
    return not any(c in netloc for c in "\\%") and not any(c.isspace() or ord(c) < 32 for c in netloc)


def is_private_url(url: str) -> bool:
    """Whether a URL points inside the user's own network."""
    host = (urlparse(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith((".local", ".internal", ".lan", ".localdomain")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a bare hostname such as `gpu-box` resolves on the local network
    return address.is_private or address.is_loopback or address.is_link_local


def redact_url(url: str) -> str:
    """`url` fit to print: user and password, query and ;param values, the #fragment and any path
    segment that holds a key (some proxies take one there) are masked; scheme, host and the rest stay.
    """
    parts = urlparse(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    elif parts.username is not None:
        netloc = netloc.replace(f"{parts.username}@", "***@", 1)
    path = "/".join(_mask_segment(segment) for segment in parts.path.split("/"))
    return parts._replace(
        netloc=netloc,
        path=path,
        params=_mask_values(parts.params, ";"),
        query=_mask_values(parts.query, "&"),
        fragment="***" if parts.fragment else "",
    ).geturl()


def _mask_values(text: str, separator: str) -> str:
    return separator.join(f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair for pair in text.split(separator)) if text else ""


def _mask_segment(segment: str) -> str:
    """A path segment that is a secret (by the detector), or a long token of letters and digits, which no
    ordinary API path has (/v1, /openai/deployments/gpt-4o)."""
    from reviewer.redact import find

    name, semicolon, params = segment.partition(";")
    long_token = re.fullmatch(r"[A-Za-z0-9_.~+=-]{20,}", name) and re.search(r"\d", name) and re.search(r"[A-Za-z]", name)
    masked = "***" if long_token or find(name) else name
    return masked + semicolon + _mask_values(params, ";")


def to_toml(config: Config, environ: Mapping[str, str]) -> str:
    """The merged configuration as TOML; keys are shown as set or not set, never their values."""
    lines = ["[routes]"]
    for task in ROUTED:
        names = config.routes.for_task(task)
        where = ", then ".join(f"{n} ({config.backend(n).shown_url}{', self-hosted' if config.backend(n).is_self_hosted else ''})" for n in names)
        if config.routes.follows_review(task):
            lines.append(f"# {task} is not set, so it follows review: {where}")
        elif not names:
            lines.append(f"# {task} is off")
        else:
            lines.append(f"{task} = {toml_value(list(names))}  # {where}")
    lines.append(f"self_hosted_only = {toml_value(config.routes.self_hosted_only)}")
    for rule in config.routes.rules:
        lines += ["", "[[routes.rules]]", f"paths = {toml_value(list(rule.paths))}", f"backends = {toml_value(list(rule.backends))}"]
    for name, backend in sorted(config.backends.items()):
        lines += ["", f"[backends.{toml_key(name)}]"]
        for f in dataclasses.fields(backend):
            value = getattr(backend, f.name)
            if f.metadata.get("internal") or value is None:
                continue
            if f.name == "base_url":
                value = backend.shown_url
            comment = ""
            if f.name == "api_key_env":
                comment = "  # set" if environ.get(value) else "  # not set in this environment"
            lines.append(f"{f.name} = {toml_value(value)}{comment}")
        if backend.self_hosted is None:
            lines.append(f"# self_hosted (from base_url) = {toml_value(backend.is_self_hosted)}")
    for section in ("review", "github", "chat", "learn"):
        lines += ["", f"[{section}]"]
        settings = getattr(config, section)
        for f in dataclasses.fields(settings):
            value = getattr(settings, f.name)
            if value is not None and "table" not in f.metadata:
                lines.append(f"{f.name} = {toml_value(value)}")
    for instruction in config.review.path_instructions:
        lines += ["", "[[review.path_instructions]]", f"paths = {toml_value(list(instruction.paths))}", f"text = {toml_value(instruction.text)}"]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def toml_key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else toml_value(name)


def _with_default_key(backend: BackendConfig) -> BackendConfig:
    if backend.api_key_env is None and backend.is_deepseek:  # every protocol, the agents too, talks to DeepSeek's API
        return dataclasses.replace(backend, api_key_env="DEEPSEEK_API_KEY")
    return backend


def _unknown_backend(where: str, key: str, name: str, config: Config) -> str:
    close = difflib.get_close_matches(name, list(config.backends), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    at = f"{where}: {key}" if key else where
    return (
        f"{at}: no backend named {name!r}{hint}; define it as [backends.{name}] "
        f"or use one of: {', '.join(sorted(config.backends))}"
    )


_T = typing.TypeVar("_T")


def _build(cls: type[_T], table: Any, where: str, section: str) -> _T:
    """Build a settings dataclass from a TOML table, checking every key and type."""
    _expect_table(table, where, section)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    problems = _Problems()
    problems.attempt(_reject_unknown, table, tuple(fields), where, section)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in fields:
            problems.attempt(_set_value, values, key, value, hints[key], fields[key], where, f"{section}.{key}" if section else key)
    problems.raise_any()
    return cls(**values)


def _set_value(values: dict[str, Any], key: str, value: Any, hint: Any, spec: dataclasses.Field[Any], where: str, full: str) -> None:
    coerced = _coerce(value, hint, where, full)
    choices = spec.metadata.get("choices")
    if choices and coerced not in choices:
        raise ConfigError(f"{where}: {full} = {value!r} is not one of: {', '.join(choices)}")
    least, most = spec.metadata.get("min"), spec.metadata.get("max")
    if least is not None and coerced is not None and coerced < least:
        raise ConfigError(f"{where}: {full} = {value!r} must be at least {least}")
    if most is not None and coerced is not None and coerced > most:
        raise ConfigError(f"{where}: {full} = {value!r} must be at most {most}")
    values[key] = coerced


def _coerce(value: Any, hint: Any, where: str, key: str) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where, key)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of strings, like [\"a\", \"b\"]")
        return tuple(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key} must be a number, not {value!r}")
        return finite(float(value), f"{where}: {key}")
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, not {value!r}")
        return value
    raise AssertionError(f"unsupported settings type {hint!r} for {key}")


def finite(value: float, what: str) -> float:
    """`value`, unless it is nan or ±inf: nan compares false with everything, so a limit set to it would never stop anything."""
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, not {value!r}")
    return value


def _expect_table(value: Any, where: str, key: str) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a table ([{key}])")


def _reject_unknown(table: Mapping[str, Any], known: tuple[str, ...], where: str, section: str) -> None:
    problems = []
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            full = f"{section}.{key}" if section else key
            problems.append(f"{where}: unknown key {full!r}{hint}")
    if problems:
        raise ConfigError("\n".join(problems))
