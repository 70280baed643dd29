"""Coding agents as backends: Claude Code (`claude -p`) and OpenCode (`opencode run`), headless and read-only.

The reviewed checkout is untrusted: its `.claude/settings.json`, `opencode.json`,
`.opencode/` plugins or hooks must not configure the agent that reviews it
(redirect the endpoint, enable write tools, run commands). So every run gets a
fresh empty HOME, an environment holding only what the agent needs, flags that
ignore project settings, and a tool list of Read, Grep and Glob alone (the
invocations verified in docs/agents.md). And the agent runs in a copy of the
checkout without any agent configuration: OpenCode 1.18.33 still imports a
checkout's `.opencode/plugin/*.js` under OPENCODE_DISABLE_PROJECT_CONFIG,
OPENCODE_PURE and --pure, so the flags alone are not enough.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from reviewer import scratch
from reviewer.backends import anthropic_compatible, openai_compatible
from reviewer.backends.base import Completion
from reviewer.backends.server_json import decoded
from reviewer.config import BackendConfig
from reviewer.errors import BackendError, ConfigError
from reviewer.vocabulary import Message, Usage

if TYPE_CHECKING:
    from reviewer.backends.tools import ToolBox

# Where `.ci/run` installs the pinned CLIs: the reviewer's own checkout, never the reviewed repository's.
TOOLS_BIN = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin"
KEY_VARIABLE = "REVIEWER_AGENT_KEY"  # OpenCode reads the key from here through {env:...}
STARTUP_SECONDS = 60.0  # on top of the request time: the CLIs start in about 0.5 s (claude) and 3 s (opencode)
# timeout_seconds bounds silence, not length: a whole agent run (thinking, tool calls) may take much longer.
# The process is stopped only after this long per try, so that a hung CLI cannot hang the review.
RUN_SECONDS = 3600.0
# Left out of the copy the agent runs in: where Claude Code and OpenCode read settings, hooks, MCP servers
# and plugins from, and git's own folder (nothing to review there).
AGENT_CONFIG = frozenset({".claude", ".mcp.json", ".opencode", "opencode.json", "opencode.jsonc", ".git"})


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str]  # added to PATH and the fresh HOME; nothing else of ours reaches the agent
    stdin: str  # the prompt: too large for an argument (Linux caps one at 128 KiB)


@dataclass(frozen=True)
class Finished:
    stdout: str
    stderr: str
    returncode: int


def find_executable(config: BackendConfig, name: str, environ: Mapping[str, str]) -> str:
    """`command` from the config, else `name` on PATH, else the copy `.ci/run` installed: always an absolute path.

    Relative PATH entries (`node_modules/.bin`, `.`) are passed over: they would find a program the
    reviewed checkout carries, and the agent runs in a copy of that checkout.
    """
    path = absolute_path(environ)
    if config.command:
        found = shutil.which(config.command, path=path)
        if found is None:
            raise ConfigError(f"backends.{config.name}.command: {config.command!r} is not an executable")
        return os.path.abspath(found)
    found = shutil.which(name, path=path)
    if found is None and (TOOLS_BIN / name).is_file():
        found = str(TOOLS_BIN / name)
    if found is None:
        raise ConfigError(
            f"backend {config.name!r} ({config.protocol}) needs the {name!r} executable: install it "
            f"(npm install -g {_PACKAGES[name]}) or set backends.{config.name}.command"
        )
    return found


_PACKAGES = {"claude": "@anthropic-ai/claude-code", "opencode": "opencode-ai"}


def absolute_path(environ: Mapping[str, str]) -> str:
    """PATH without its relative entries (`.`, `node_modules/.bin`): the agent runs in a copy of the reviewed
    checkout, where those would find programs the change carries."""
    entries = [p for p in environ.get("PATH", "").split(os.pathsep) if os.path.isabs(p)]
    return os.pathsep.join(entries) or "/usr/local/bin:/usr/bin:/bin"


def run_isolated(invocation: Invocation, workdir: Path, environ: Mapping[str, str], timeout: float, config: BackendConfig) -> Finished:
    """Run the agent in `workdir` with its own empty HOME and no environment beyond `invocation.env`."""
    with scratch.folder("reviewer-agent-") as home:
        env = {"PATH": absolute_path(environ), "HOME": home, "TMPDIR": home, **invocation.env}
        try:
            started = scratch.start(invocation.argv, cwd=workdir, env=env)  # stopped by a Ctrl-C too
        except OSError as exc:
            raise ConfigError(f"backend {config.name!r}: cannot run {invocation.argv[0]}: {exc.strerror}") from None
        with started as process:
            try:
                stdout, stderr = process.communicate(invocation.stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                scratch.stop(process)
                process.wait()  # not communicate: a child that left the group may hold the pipes open for hours
                raise BackendError(
                    f"backend {config.name!r}: {Path(invocation.argv[0]).name} did not finish within {timeout:g} s",
                    backend=config.name,
                ) from None
            except BaseException:
                scratch.stop(process)  # as subprocess.run does: never left running behind an error
                raise
    return Finished(stdout, stderr, process.returncode)


def review_tree(
    checkout: Path, into: Path, withheld: Callable[[str], bool] = lambda path: False, known: Mapping[str, str] | None = None
) -> Path:
    """The checkout's tracked files (as they are in the working tree), without agent configuration.

    Tracked only: an untracked file is not part of the change (`reviewer local` lists it as not
    reviewed), and in CI it may be a credential an earlier step left in the workspace.

    Files `withheld` says this backend may not see (a routes.rules path it is not
    named for) are left out too: an agent with Read and Grep would otherwise
    find them whatever the prompt holds.

    Hard-linked where the file system allows (fast, no space), else copied; untracked and ignored
    folders such as node_modules are left out, so the copy stays small. A symbolic link that leads
    out of the checkout is left out too: a PR could point one at ~/.ssh and ask the agent to read it.

    The agent reads files itself, so secrets are kept from it here: files that hold secrets by
    their name (.env, *.pem, id_rsa...) are left out, a text file in which a secret is found is
    written redacted instead of linked, and a text file too large to scan is left out. So is a
    file whose path holds a secret (`leaked/AKIA….txt`), and a link to one: an agent lists names.
    A value found anywhere is a secret in every file (`password = "…"` in one, or in `.env`, the
    same value passed bare in the next), as in a diff (reviewer.redact.find_each); so is each of
    `known` (value → placeholder), the secrets the run found in the change (a line it removes).
    """
    from reviewer.filters import secret_files
    from reviewer.redact import find_each, redact, values_of

    tree = into / checkout.name
    tree.mkdir(parents=True)
    root = checkout.resolve()
    secret_named = secret_files()
    listed = _listed_files(checkout)
    in_names = find_each(listed)
    found = dict(known or {}) | values_of(secret for secrets in in_names for secret in secrets)
    placed: list[_Placed] = []
    for relative, named in zip(listed, in_names, strict=True):
        source, target = checkout / relative, tree / relative
        if AGENT_CONFIG.intersection(Path(relative).parts) or secret_named.match_file(relative):
            found |= _values_in(source)  # left out, but what it holds is a secret wherever else it shows
        elif withheld(relative) or named:
            continue
        elif source.is_symlink():
            link = os.path.relpath(source.resolve(), source.parent.resolve())
            if root in source.resolve().parents and redact(link) == link:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(link)
                placed.append(_Placed(relative, link=link))
        elif source.is_file() and (text := _text_of(source)) is not None:  # None: too large to scan, left out
            target.parent.mkdir(parents=True, exist_ok=True)
            found |= _place_file(source, target, text)
            placed.append(_Placed(relative, text=isinstance(text, str)))
    _mask_known(tree, placed, found)
    return tree


class _Placed(NamedTuple):
    """A path placed in the tree."""

    relative: str
    link: str | None = None  # a symbolic link's text
    text: bool = False  # a text file, scanned on its own: another file's secret may still show in it


def _mask_known(tree: Path, placed: Sequence[_Placed], found: Mapping[str, str]) -> None:
    """Where a secret found anywhere shows in a file placed: that file redacted, or left out when its path or
    its link's text shows it."""
    from reviewer.known import Known
    from reviewer.redact import redact

    known = Known(found)
    for relative, link, text_file in placed if known else ():
        target = tree / relative
        if known.shows(relative) or known.shows(link or ""):
            _remove(target, tree)
        elif text_file:
            text = target.read_bytes().decode("utf-8", "surrogateescape")
            if known.shows(text):
                target.unlink()  # perhaps a hard link: writing through it would change the checkout
                target.write_bytes(redact(text, known).encode("utf-8", "surrogateescape"))


def _remove(target: Path, tree: Path) -> None:
    """`target` and the folders it leaves empty: a folder's name is listed too."""
    target.unlink()
    folder = target.parent
    while folder != tree and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


SCAN_LIMIT = 8_000_000  # bytes: a larger text file (a data dump) is left out rather than sent unscanned


def _place_file(source: Path, target: Path, text: str | bytes) -> dict[str, str]:
    """Linked as it is, or written redacted when a secret is found in its text: the secrets found (value → placeholder)."""
    from reviewer.redact import apply, find, values_of

    if isinstance(text, bytes):  # binary: no text secret to find, nothing for a model to read as text
        _link_or_copy(source, target)
        return {}
    secrets = find(text)
    if secrets:
        target.write_bytes(apply(text, secrets).encode("utf-8", "surrogateescape"))
    else:
        _link_or_copy(source, target)
    return values_of(secrets)


def _values_in(source: Path) -> dict[str, str]:
    """The secrets in a text file (value → placeholder); none in a binary file, a file too large, or no file."""
    from reviewer.redact import find, values_of

    text = _text_of(source) if source.is_file() and not source.is_symlink() else None
    return values_of(find(text)) if isinstance(text, str) else {}


def _text_of(source: Path) -> str | bytes | None:
    """A file's text; b"" for a binary file (a NUL where git looks for one: `git grep -I` agrees); None when too
    large to scan."""
    from reviewer.source_tree import BINARY_PROBE

    with source.open("rb") as fh:
        head = fh.read(BINARY_PROBE)
    if b"\0" in head:
        return b""
    if source.stat().st_size > SCAN_LIMIT:
        return None
    return source.read_bytes().decode("utf-8", "surrogateescape")


def _listed_files(checkout: Path) -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached"],
        cwd=checkout,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"{checkout}: cannot list the files of this git checkout: {done.stderr.decode(errors='replace').strip()}")
    return sorted({p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p})


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
            raise
        shutil.copy2(source, target)


def prompt_of(messages: Sequence[Message]) -> str:
    """One prompt: the agents take a single message (their own system prompt stays in place)."""
    return "\n\n".join(m.content for m in messages)


class _AgentBackend:
    """What both agents share: the executable, the repository, one isolated run per request."""

    protocol: ClassVar[str]
    executable: ClassVar[str]
    needs_workdir: ClassVar[bool] = True
    uses_tools: ClassVar[bool] = False  # the CLIs read the tree with their own Read, Grep and Glob
    streams = True  # both CLIs stream from the server themselves, so long thinking never idles out

    def __init__(
        self,
        config: BackendConfig,
        environ: Mapping[str, str],
        *,
        workdir: Path,
        withheld: Callable[[str], bool] | None = None,
        known: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.workdir = workdir
        self._withheld = withheld or (lambda path: False)
        self._known = known or {}  # the secrets the run found in the change: masked in the tree, wherever they show
        self._environ = environ
        self._key = config.require_key(environ)
        self._command = find_executable(config, self.executable, environ)
        self._tree: Path | None = None
        self._tree_holder: tempfile.TemporaryDirectory[str] | None = None  # removed with the backend
        self._tree_lock = threading.Lock()
        self._prepare()

    def _prepare(self) -> None:
        """What the CLI checks or works out of its settings, once its backend is made."""

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None, tools: ToolBox | None = None) -> Completion:
        invocation = self.invocation(prompt_of(messages), max_tokens or self.config.max_tokens)
        timeout = max(self.config.timeout_seconds, RUN_SECONDS) * (self.config.max_retries + 1) + STARTUP_SECONDS
        finished = run_isolated(invocation, self.tree(), self._environ, timeout, self.config)
        return self.parse(finished)

    def tree(self) -> Path:
        """The checkout as the agent sees it, copied once per backend and shared by its requests."""
        with self._tree_lock:
            if self._tree is None:
                self._tree_holder = scratch.folder("reviewer-tree-")
                self._tree = review_tree(self.workdir, Path(self._tree_holder.name), self._withheld, self._known)
            return self._tree

    def invocation(self, prompt: str, max_tokens: int) -> Invocation:
        raise NotImplementedError

    def parse(self, finished: Finished) -> Completion:
        raise NotImplementedError

    def _failure(self, detail: str, status: int | None) -> BackendError:
        final = status in (400, 401, 402, 403, 404, 422)
        where = f"{self.config.shown_url} ({status})" if status else self.config.shown_url
        return BackendError(
            f"backend {self.config.name!r}: {self.executable} failed against {where}: {detail.strip()[:500]}",
            backend=self.config.name,
            retryable=not final,
        )


class ClaudeCode(_AgentBackend):
    protocol: ClassVar[str] = "claude-code"
    executable: ClassVar[str] = "claude"
    # Thinking off cannot be asked for: CLAUDE_CODE_DISABLE_THINKING drops the `thinking` field,
    # and DeepSeek thinks when the field is absent.
    efforts = frozenset({"high", "max"})
    shows_reasoning = False  # the JSON result never carries thinking

    def _prepare(self) -> None:
        if anthropic_compatible.dialect_of(self.config) == "deepseek":
            anthropic_compatible.check_deepseek_model(self.config)

    def invocation(self, prompt: str, max_tokens: int) -> Invocation:
        model = self.config.model
        env = {
            "ANTHROPIC_BASE_URL": anthropic_compatible.endpoint(self.config),
            "ANTHROPIC_API_KEY": self._key or "no-key",  # the CLI refuses to run without one
            "ANTHROPIC_MODEL": model,
            # Background and sub-agent calls stay on the configured model and endpoint.
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
            "CLAUDE_CODE_SUBAGENT_MODEL": model,
            # No update checks, telemetry, or lookups of api.anthropic.com.
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": str(self.config.max_retries),
            "API_TIMEOUT_MS": str(int(self.config.timeout_seconds * 1000)),
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(max_tokens),
        }
        effort = self.config.effort if self.config.effort in self.efforts else "high"
        if self.config.effort == "none":
            env["CLAUDE_CODE_DISABLE_THINKING"] = "1"
        argv = (
            self._command,
            "-p",
            "--output-format", "json",
            # Only these tools exist for the model: no Edit, Write, Bash, WebFetch.
            "--tools", "Read,Grep,Glob",
            # Needed: without it the checkout's .claude/settings.json runs hooks and applies its env block.
            "--setting-sources", "user",
            "--no-session-persistence",
            "--effort", effort,
        )  # fmt: skip
        return Invocation(argv, env, prompt)

    def parse(self, finished: Finished) -> Completion:
        result = _last_json_line(finished.stdout, lambda d: d.get("type") == "result")
        if result is None:
            raise self._failure(finished.stderr or finished.stdout or f"exit code {finished.returncode}", None)
        # API errors keep subtype "success": is_error and api_error_status tell.
        if result.get("is_error") or finished.returncode != 0:
            detail = str(result.get("result") or result.get("errors") or result.get("subtype"))
            raise self._failure(detail, result.get("api_error_status"))
        usage = result.get("usage") or {}
        cached = int(usage.get("cache_read_input_tokens") or 0)
        prompt = int(usage.get("input_tokens") or 0) + cached + int(usage.get("cache_creation_input_tokens") or 0)
        models = list(result.get("modelUsage") or {})
        return Completion(
            text=str(result.get("result") or ""),
            reasoning="",  # the JSON result never carries thinking
            usage=Usage(
                requests=int(result.get("num_turns") or 1),
                prompt_tokens=prompt,
                cached_prompt_tokens=cached,
                completion_tokens=int(usage.get("output_tokens") or 0),
            ),
            model=models[0] if models else self.config.model,
            finish_reason=result.get("stop_reason"),
        )


class OpenCode(_AgentBackend):
    protocol: ClassVar[str] = "opencode"
    executable: ClassVar[str] = "opencode"
    provider: ClassVar[str] = "reviewer"
    shows_reasoning = True  # with --thinking

    def _prepare(self) -> None:
        # OpenCode's grep and glob run `rg` from PATH, else download ripgrep from GitHub into the
        # throwaway HOME (on every run); without rg on PATH the agent reads files by name only.
        self.searches = shutil.which("rg", path=absolute_path(self._environ)) is not None
        self.anthropic_format = _speaks_anthropic(self.config)
        if self.anthropic_format:
            self.dialect = anthropic_compatible.dialect_of(self.config)
            self.efforts = anthropic_compatible.EFFORTS
        else:
            self.dialect = openai_compatible.dialect_of(self.config)
            self.efforts = openai_compatible.DIALECT_EFFORTS[self.dialect]

    def settings(self) -> dict[str, Any]:
        """The whole OpenCode configuration, inline: one provider, read-only tools, nothing shared."""
        if self.anthropic_format:
            npm = "@ai-sdk/anthropic"
            base_url = anthropic_compatible.endpoint(self.config) + "/v1"  # the AI SDK wants /v1 here
        else:
            npm, base_url = "@ai-sdk/openai-compatible", self.config.base_url
        model = self.config.model
        return {
            "provider": {
                self.provider: {
                    "npm": npm,  # bundled in the binary: nothing is downloaded
                    "name": self.config.name,
                    "options": {
                        "baseURL": base_url,
                        "apiKey": "{env:" + KEY_VARIABLE + "}",
                        # timeout_seconds is the silence allowed, not the length of an answer: OpenCode's
                        # `timeout` caps the whole request (long thinking would be cut), chunkTimeout the gaps.
                        "timeout": False,
                        "chunkTimeout": int(self.config.timeout_seconds * 1000),
                    },
                    "models": {model: {"name": model, "options": self.model_options()}},
                }
            },
            "model": f"{self.provider}/{model}",
            "small_model": f"{self.provider}/{model}",
            "permission": {"*": "deny", "read": "allow", **self._search_permissions()},
            "snapshot": False,
            "autoupdate": False,
            "share": "disabled",
        }

    def _search_permissions(self) -> dict[str, str]:
        return {"grep": "allow", "glob": "allow", "list": "allow"} if self.searches else {}

    def model_options(self) -> dict[str, Any]:
        """Effort as the AI SDK provider options; OpenCode passes unknown keys into the request body."""
        effort = self.config.effort
        if self.anthropic_format:
            fields = anthropic_compatible.effort_fields(self.dialect, effort, self.config.max_tokens)
            thinking = dict(fields["thinking"])
            if "budget_tokens" in thinking:
                thinking["budgetTokens"] = thinking.pop("budget_tokens")
            options: dict[str, Any] = {"thinking": thinking}
            if "output_config" in fields:
                options["effort"] = fields["output_config"]["effort"]
            return options
        kwargs, extra_body = openai_compatible.effort_fields(self.dialect, effort)
        options = dict(extra_body)
        if "reasoning_effort" in kwargs:
            options["reasoningEffort"] = kwargs["reasoning_effort"]
        return options

    def invocation(self, prompt: str, max_tokens: int) -> Invocation:
        env = {
            "OPENCODE_CONFIG_CONTENT": json.dumps(self.settings()),
            # Needed: project config merges over ours (an opencode.json there can allow bash and edit).
            "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",  # no models.dev download at start
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "npm_config_offline": "true",  # the background plugin install fails at once, sending nothing
            KEY_VARIABLE: self._key or "no-key",
        }
        argv = (
            self._command, "run", "Do what the text below asks.",
            "--format", "json",
            "--title", "review",  # no extra title-generation request
            "--thinking",  # reasoning events, so that a check can see thinking happened
        )  # fmt: skip
        return Invocation(argv, env, prompt)

    def parse(self, finished: Finished) -> Completion:
        texts: list[str] = []
        reasoning: list[str] = []
        usage = Usage()
        finish = None
        for event in _json_lines(finished.stdout):
            part = event.get("part") or {}
            kind = event.get("type")
            if kind == "error":
                error = event.get("error") or {}
                data = error.get("data") or {}
                raise self._failure(str(data.get("message") or error.get("name") or error), data.get("statusCode"))
            if kind == "text":
                texts.append(str(part.get("text") or ""))
            elif kind == "reasoning":
                reasoning.append(str(part.get("text") or ""))
            elif kind == "step_finish":
                finish = part.get("reason")
                usage += _opencode_usage(part.get("tokens") or {})
        if finished.returncode != 0 or not texts:
            raise self._failure(finished.stderr or f"exit code {finished.returncode}, no answer", None)
        # The last text part is the answer; earlier ones narrate tool calls.
        return Completion(texts[-1], "\n".join(reasoning), usage, self.config.model, finish)


def _speaks_anthropic(config: BackendConfig) -> bool:
    """OpenCode talks the Anthropic format to an /anthropic endpoint or with the anthropic dialect."""
    return config.dialect == "anthropic" or config.base_url.rstrip("/").endswith("/anthropic")


def _opencode_usage(tokens: Mapping[str, Any]) -> Usage:
    """OpenCode counts input without cache reads, and output without reasoning."""
    cache = tokens.get("cache") or {}
    cached = int(cache.get("read") or 0)
    reasoning = int(tokens.get("reasoning") or 0)
    return Usage(
        requests=1,
        prompt_tokens=int(tokens.get("input") or 0) + cached + int(cache.get("write") or 0),
        cached_prompt_tokens=cached,
        completion_tokens=int(tokens.get("output") or 0) + reasoning,
        reasoning_tokens=reasoning,
    )


def _json_lines(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            value = decoded(line)  # NOT_JSON too for what is nested deeper than the stack (the agent's output)
            if isinstance(value, dict):
                events.append(value)
    return events


def _last_json_line(text: str, wanted: Any) -> dict[str, Any] | None:
    matching = [e for e in _json_lines(text) if wanted(e)]
    return matching[-1] if matching else None
