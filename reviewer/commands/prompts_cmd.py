"""`reviewer prompts list|show|render`: the templates in effect, and what the model will get."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import (
    RunOptions,
    build_config,
    config_option,
    load_guidelines,
    local_change,
    range_options,
    trust_option,
)

if TYPE_CHECKING:
    from reviewer.prompts import Templates

EXAMPLE_QUESTION = "What could go wrong with this change?"


@click.group()
def prompts() -> None:
    """List, show and render the prompt templates in effect.

    A file .reviewer/prompts/NAME in the repository replaces the packaged
    template NAME, and may {% extends "packaged/NAME" %} it to override single
    blocks.
    """


def _templates() -> Templates:
    from reviewer.prompts import Templates, overrides_from
    from reviewer.repo_files import WorkingTree
    from reviewer.sources.git import find_root

    root = find_root(Path.cwd())
    return Templates(overrides_from(WorkingTree(root) if root else None))


@prompts.command("list")
def list_templates() -> int:
    """List the templates in effect, where each comes from, its blocks and the variables it reads.

    \b
    An override that {% extends %} a template may fill only that template's
    blocks (listed under it). A task's system template that leaves out the
    answer format gets it appended: answers are parsed in that shape.
    """
    templates = _templates()
    for info in templates.list():
        outline = templates.outline(info.name)
        click.echo(f"{info.name:24} {info.origin:10} {info.location}")
        if outline.extends:
            click.echo(f"    extends: {outline.extends}")
        if outline.blocks:
            click.echo(f"    {'overrides' if outline.extends else 'blocks'}: {', '.join(outline.blocks)}")
        if outline.variables:
            click.echo(f"    variables: {', '.join(outline.variables)}")
        if outline.answer_format_appended:
            click.echo("    answer format: not included, so appended to the rendered message")
    return 0


@prompts.command()
@click.argument("name")
def show(name: str) -> int:
    """Print one template's source."""
    info = _templates().source(name)
    click.echo(info.text, nl=False)
    return 0


@prompts.command()
@click.argument("name")
@range_options
@config_option
@trust_option
def render(name: str, base: str | None, staged: bool, commit_range: str | None, config_path: Path | None, trust_repo_config: bool) -> int:
    """Render one template on the local change, exactly as the model would get it (one per request)."""
    from reviewer.prompts import TASK_TEMPLATES, Templates, overrides_from
    from reviewer.redact import redact, redact_each
    from reviewer.repo_files import WorkingTree
    from reviewer.review import plan_review

    task = next((t for t, names in TASK_TEMPLATES.items() if name in names), "review")
    if task == "judge":
        return _render_judge(name)
    work = local_change(base, staged, commit_range)
    files = WorkingTree(work.root)
    config = build_config(RunOptions(config_path, trust_repo_config=trust_repo_config), files)
    templates = Templates(overrides_from(files))
    templates.source(name)  # a clear error for an unknown name
    if task == "chat":
        from reviewer.chat import Conversation, plan_answer

        request = plan_answer(Conversation(EXAMPLE_QUESTION, "a-person", description=work.description), work.diff, config, templates, load_guidelines(config, files))
        click.echo(f"(an example question, as `/ask {EXAMPLE_QUESTION}` on your local change)", err=True)
        click.echo(request.messages[TASK_TEMPLATES["chat"].index(name)].content, nl=False)
        return 0
    plan = plan_review(
        work.diff,
        config,
        templates,
        description=work.description,
        guidelines=load_guidelines(config, files),
        tasks=(task,),
    )
    if not plan.requests:
        click.echo(f"nothing to render: {work.description} has no reviewable changes", err=True)
        return 0
    position = TASK_TEMPLATES[task].index(name) if name in TASK_TEMPLATES[task] else None
    for index, request in enumerate(plan.requests, 1):
        if len(plan.requests) > 1:
            click.echo(f"=== request {index}/{len(plan.requests)}: {', '.join(redact_each(request.paths, plan.known))}")
        if position is None:  # a part of a message: with the last pass over what is sent, as the message has
            click.echo(redact(templates.render(name, request.context), plan.known), nl=False)
        else:
            click.echo(request.messages[position].content, nl=False)
    return 0


def _render_judge(name: str) -> int:
    """The eval judge's templates judge an eval case, not the local change: shown on a made-up one."""
    from reviewer import judge
    from reviewer.evaluation import Golden
    from reviewer.findings import Finding
    from reviewer.prompts import TASK_TEMPLATES

    golden = (Golden("The user's name is put into the SQL text unescaped: SQL injection.", "high"),)
    findings = (Finding("app/db.py", 12, "RIGHT", "critical", "security", "SQL injection in find_user", "The name is formatted into the query."),)
    messages = _templates().messages("judge", judge.context(golden, findings, "0123456789abcdef"))
    click.echo("(an example eval case: one golden comment, one finding)", err=True)
    click.echo(messages[TASK_TEMPLATES["judge"].index(name)].content, nl=False)
    return 0
