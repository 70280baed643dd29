"""Prompt templates: found in the repository's `.reviewer/prompts/`, else packaged; rendered strictly.

A repository template of the same name replaces the packaged one and may
`{% extends "packaged/NAME" %}` it to override single blocks. Repository
templates are read through RepoFiles (the base branch on a pull request) and
handed to Jinja as text: rendering never opens a file of the repository.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import TemplateError
from reviewer.vocabulary import Message

if TYPE_CHECKING:
    import jinja2

    from reviewer.repo_files import RepoFiles

OVERRIDE_DIR = ".reviewer/prompts"
# (system template, user template) for each task
TASK_TEMPLATES: dict[str, tuple[str, str]] = {
    "review": ("review_system.j2", "review_user.j2"),
    "summarize": ("summarize_system.j2", "summarize_user.j2"),
}


def packaged_dir() -> Path:
    """`prompts/` inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "prompts", here.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise TemplateError(f"the packaged prompt templates are missing (looked in {here / 'prompts'}); reinstall reviewer")


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    origin: str  # "packaged", "repository", or an eval variant's folder
    location: str  # where it was read from, for people
    text: str


def overrides_from(files: RepoFiles | None, folder: str = OVERRIDE_DIR) -> dict[str, TemplateInfo]:
    """The `.j2` templates in `folder` of `files` (the repository's overrides, or an eval variant's folder)."""
    if files is None:
        return {}
    found: dict[str, TemplateInfo] = {}
    for name in files.list(folder):
        if name.endswith(".j2"):
            path = f"{folder}/{name}" if folder != "." else name
            text = files.read(path)
            if text is not None:
                found[name] = TemplateInfo(name, "repository", files.label(path), text)
    return found


class Templates:
    def __init__(self, overrides: Mapping[str, TemplateInfo] | None = None) -> None:
        """`overrides`: templates that take the place of the packaged ones of the same name."""
        self.packaged = packaged_dir()
        self.overrides = dict(overrides or {})
        self._env: jinja2.Environment | None = None

    def list(self) -> list[TemplateInfo]:
        infos = {
            p.name: TemplateInfo(p.name, "packaged", str(p), p.read_text(encoding="utf-8")) for p in sorted(self.packaged.glob("*.j2"))
        }
        infos.update(self.overrides)
        return sorted(infos.values(), key=lambda i: i.name)

    def source(self, name: str) -> TemplateInfo:
        for info in self.list():
            if info.name == name:
                return info
        known = ", ".join(i.name for i in self.list())
        raise TemplateError(f"no prompt template named {name!r} (known: {known})")

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        import jinja2
        import jinja2.sandbox

        env = self._environment()
        try:
            return env.get_template(name).render(**context).strip() + "\n"
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"prompt template {exc.name!r} not found (needed by {name})") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{_template_location(name)}: {exc.message}") from None
        except jinja2.sandbox.SecurityError as exc:
            raise TemplateError(f"{_template_location(name)}: not allowed in a prompt template: {exc}") from None

    def messages(self, task: str, context: Mapping[str, Any]) -> tuple[Message, ...]:
        system, user = TASK_TEMPLATES[task]
        return (Message("system", self.render(system, context)), Message("user", self.render(user, context)))

    def _environment(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2
            import jinja2.sandbox

            packaged = jinja2.FileSystemLoader(str(self.packaged))
            # The location as the file name, so a syntax error names the file the team edits.
            overrides = jinja2.FunctionLoader(
                lambda name: (info.text, info.location, lambda: True) if (info := self.overrides.get(name)) else None
            )
            prefixed = jinja2.PrefixLoader({"packaged": packaged})
            # Sandboxed: a repository's templates are its authors' text, and must not reach
            # Python internals (os.environ holds the keys in CI).
            self._env = jinja2.sandbox.SandboxedEnvironment(
                loader=jinja2.ChoiceLoader([prefixed, overrides, packaged]),
                undefined=jinja2.StrictUndefined,
                keep_trailing_newline=True,
                trim_blocks=True,
                lstrip_blocks=True,
                autoescape=False,
            )
            from reviewer.diff_text import quoted

            self._env.filters["quoted"] = quoted  # a file name on one line, as the diff headers show it
        return self._env


def _template_location(name: str) -> str:
    """The template file and line where rendering failed, from the traceback Jinja rewrites."""
    tb = sys.exc_info()[2]
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename.endswith(".j2"):
            return f"{frame.filename}:{frame.lineno}"
    return name
