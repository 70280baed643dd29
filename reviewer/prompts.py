"""Prompt templates: found in the repository's `.reviewer/prompts/`, else packaged; rendered strictly.

A repository template of the same name replaces the packaged one and may
`{% extends "packaged/NAME" %}` it to override single blocks. Repository
templates are read through RepoFiles (the base branch on a pull request) and
handed to Jinja as text: rendering never opens a file of the repository.
"""

from __future__ import annotations

import difflib
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import TemplateError
from reviewer.vocabulary import Message

if TYPE_CHECKING:
    import jinja2

    from reviewer.repo_files import RepoFiles

OVERRIDE_DIR = ".reviewer/prompts"
PACKAGED = "packaged"  # the prefix that reaches a packaged template from an override: {% extends "packaged/NAME" %}
# (system template, user template) for each task
TASK_TEMPLATES: dict[str, tuple[str, str]] = {
    "review": ("review_system.j2", "review_user.j2"),
    "summarize": ("summarize_system.j2", "summarize_user.j2"),
    "judge": ("judge_system.j2", "judge_user.j2"),
    "verify": ("verify_system.j2", "verify_user.j2"),
    "chat": ("chat_system.j2", "chat_user.j2"),
    # A review request that also summarizes its chunk (reviewer.review.COMBINED_TEMPLATES)
    "review+summarize": ("review_summarize_system.j2", "review_summarize_user.j2"),
}
# The packaged partial that states each task's answer: what its parser reads. It cannot be overridden,
# and a system message that lacks it gets it appended. A chat answer is prose, parsed by nobody: its
# partial says what the answer may be (one comment, no claim to have approved or resolved anything),
# which a repository's template must not talk the model out of either.
ANSWER_FORMATS: dict[str, str] = {
    "review": "_answer_format.j2", "summarize": "_summary_format.j2", "judge": "_judge_format.j2", "verify": "_verify_format.j2",
    "chat": "_chat_format.j2",
    "review+summarize": "_review_summary_format.j2",
}


def packaged_dir() -> Path:
    """`prompts/` inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "prompts", here.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise TemplateError(f"the packaged prompt templates are missing (looked in {here / 'prompts'}); reinstall reviewer")


@dataclass(frozen=True)
class Outline:
    """What a template is made of, for `prompts list`."""

    extends: str | None
    blocks: tuple[str, ...]  # its own blocks (for an override that extends: the ones it replaces)
    variables: tuple[str, ...]  # what it reads from the context, with what it includes or extends
    answer_format_appended: bool  # a task's system template that does not include the answer format


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
        for name in ANSWER_FORMATS.values():
            if name in self.overrides:
                raise TemplateError(
                    f"{self.overrides[name].location}: the answer format cannot be replaced: answers are parsed in "
                    f"exactly that shape. Remove the file; word the rest of the prompt in its other templates"
                )
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
        names = [i.name for i in self.list()]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TemplateError(f"no prompt template named {name!r}{hint} (known: {', '.join(names)})")

    def outline(self, name: str) -> Outline:
        """What `name` is made of: the template it extends, its blocks, and every variable it (or what it uses) reads."""
        from jinja2 import meta, nodes

        ast = self._parse(name)
        parent = next((n.template.value for n in ast.find_all(nodes.Extends) if isinstance(n.template, nodes.Const)), None)
        used = self._closure(name)
        variables: set[str] = set()
        declared: set[str] = set()
        for each in used:
            tree = self._parse(each)
            variables |= meta.find_undeclared_variables(tree)
            declared |= _declared_names(tree)
        task = next((t for t, (system, _) in TASK_TEMPLATES.items() if system == name), None)
        answer_format = ANSWER_FORMATS[task] if task else None
        return Outline(
            extends=parent,
            blocks=tuple(dict.fromkeys(b.name for b in ast.find_all(nodes.Block))),
            variables=tuple(sorted(variables - declared)),
            answer_format_appended=answer_format is not None and not ({answer_format, f"{PACKAGED}/{answer_format}"} & used),
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        env = self._environment()
        with _errors(name):
            return env.get_template(name).render(**context).strip() + "\n"
        raise AssertionError("unreachable: _errors re-raises")  # for the type checker

    def combinable(self) -> bool:
        """Whether one request may review and summarize: not when the team has its own summary templates."""
        return not any(name in self.overrides for name in TASK_TEMPLATES["summarize"])

    def messages(self, task: str, context: Mapping[str, Any]) -> tuple[Message, ...]:
        """The task's system and user messages. The answer format always reaches the model: a system
        template that left it out (a full replacement, or an emptied block) gets it appended."""
        system_name, user_name = TASK_TEMPLATES[task]
        system = self.render(system_name, context)
        answer_format = self.render(f"{PACKAGED}/{ANSWER_FORMATS[task]}", context).strip()
        if answer_format not in system:
            system = f"{system.rstrip()}\n\n{answer_format}\n"
        return (Message("system", system), Message("user", self.render(user_name, context)))

    def _parse(self, name: str) -> jinja2.nodes.Template:
        env = self._environment()
        assert env.loader is not None
        with _errors(name):
            source, filename, _ = env.loader.get_source(env, name)
            return env.parse(source, name, filename)
        raise AssertionError("unreachable: _errors re-raises")

    def _closure(self, name: str) -> set[str]:
        """`name` and every template it extends, includes or imports, as their loader names."""
        from jinja2 import meta

        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending += [t for t in meta.find_referenced_templates(self._parse(current)) if t is not None]
        return seen

    def _check_blocks(self) -> None:
        """An override that extends a template may only fill blocks that template has: a misspelt
        block would otherwise be ignored without a word."""
        for name, info in self.overrides.items():
            outline = self.outline(name)
            if outline.extends is None:
                continue
            known = {b for parent in self._closure(outline.extends) for b in self.outline(parent).blocks}
            for block in outline.blocks:
                if block not in known:
                    close = difflib.get_close_matches(block, sorted(known), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise TemplateError(
                        f"{info.location}: block {block!r}{hint} is not a block of {outline.extends}; "
                        f"its blocks are: {', '.join(self.outline(outline.extends).blocks) or 'none'}"
                    )

    def _environment(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2
            import jinja2.sandbox

            packaged = jinja2.FileSystemLoader(str(self.packaged))
            # The location as the file name, so a syntax error names the file the team edits.
            overrides = jinja2.FunctionLoader(
                lambda name: (info.text, info.location, lambda: True) if (info := self.overrides.get(name)) else None
            )
            prefixed = jinja2.PrefixLoader({PACKAGED: packaged})
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
            try:
                self._check_blocks()
            except TemplateError:
                self._env = None  # checked again, and refused again, on the next use
                raise
        return self._env


def _declared_names(tree: jinja2.nodes.Template) -> set[str]:
    """Names a template sets or imports itself (Jinja counts one used inside a block as undeclared)."""
    from jinja2 import nodes

    names = {n.name for n in tree.find_all(nodes.Macro)}
    names |= {n if isinstance(n, str) else n[-1] for i in tree.find_all(nodes.FromImport) for n in i.names}
    for assign in tree.find_all((nodes.Assign, nodes.AssignBlock)):
        target: nodes.Node = assign.target  # type: ignore[attr-defined]  # both kinds have one
        names |= {n.name for n in (target, *target.find_all(nodes.Name)) if isinstance(n, nodes.Name)}
    names |= {i.target for i in tree.find_all(nodes.Import)}
    return names


@contextmanager
def _errors(name: str) -> Iterator[None]:
    """Jinja's failures as TemplateErrors naming the file and line the team edits."""
    import jinja2
    import jinja2.sandbox

    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"prompt template {exc.name!r} not found (needed by {name})") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_template_location(name)}: {exc.message}") from None
    except jinja2.sandbox.SecurityError as exc:
        raise TemplateError(f"{_template_location(name)}: not allowed in a prompt template: {exc}") from None


def _template_location(name: str) -> str:
    """The template file and line where rendering failed, from the traceback Jinja rewrites."""
    tb = sys.exc_info()[2]
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename.endswith(".j2"):
            return f"{frame.filename}:{frame.lineno}"
    return name
