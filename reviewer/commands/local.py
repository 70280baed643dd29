"""`reviewer local`: review the change of this checkout before it is pushed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from reviewer.commands.common import (
    LocalWork,
    RunOptions,
    build_config,
    cost_audit,
    counted,
    environ,
    exit_code,
    load_guidelines,
    local_change,
    note,
    progress_printer,
    range_options,
    render_review,
    review_options,
)
from reviewer.publishers import ALL_FORMATS

if TYPE_CHECKING:
    from reviewer.config import Config


@click.command()
@range_options
@click.option("--summary", "with_summary", is_flag=True, help="Also summarize the change (one more request).")
@review_options(formats=ALL_FORMATS)
def local(
    opts: RunOptions, base: str | None, staged: bool, commit_range: str | None, with_summary: bool
) -> int:
    """Review the changes of this checkout before you push.

    By default: everything between the merge base with the base branch and the
    working tree (commits not yet on the base, staged and unstaged edits of
    tracked files).
    """
    from reviewer.repo_files import WorkingTree

    work = local_change(base, staged, commit_range)
    config = build_config(opts, WorkingTree(work.root))
    tasks = ("review", "summarize") if with_summary else ("review",)
    return execute(work, config, opts, tasks)


def execute(work: LocalWork, config: Config, opts: RunOptions, tasks: tuple[str, ...]) -> int:
    """The local change through the one run: print the plan (--dry-run), or the review."""
    from reviewer.filters import Skipped
    from reviewer.pipeline import Change, Setup, run
    from reviewer.prompts import Templates, overrides_from
    from reviewer.publishers import plan as plan_publisher
    from reviewer.redact import redact_each
    from reviewer.repo_files import WorkingTree
    from reviewer.review import Interrupted, utc_now

    if work.diff.empty:
        note(f"reviewer: nothing to review: {work.description} has no changes")
        if opts.output_format == "text" and not work.untracked:
            return 0  # that one line says it all; other formats still print their (empty) document
    files = WorkingTree(work.root)
    # Only tracked files are in the diff; say which new files were left out rather than drop them silently.
    # Named redacted (a name can hold a secret): in the sentence of the reason, the last pass would miss some patterns.
    untracked = tuple(Skipped(n, f"untracked: `git add -N {n}` to review it") for n in redact_each(work.untracked))
    change = Change(work.diff, work.description, skipped=untracked, tree=work.root, tree_exact=work.exact)
    setup = Setup(config, Templates(overrides_from(files)), load_guidelines(config, files))
    try:
        result = run(change, setup, environ(), tasks, dry_run=opts.dry_run, progress=progress_printer())
    except Interrupted as stop:  # Ctrl-C: what was answered, then exit 130 (reviewer.cli)
        click.echo(render_review(stop.review, opts.output_format), nl=False)
        raise
    if result.review is None:
        click.echo(plan_publisher.render(result.plan, config, utc_now(), opts.output_format, verbose=opts.verbose), nl=False)
        return 0
    click.echo(render_review(result.review, opts.output_format), nl=False)
    cost_audit(result.review, opts)
    return exit_code(counted(result.review), config.review.fail_on, result.review.incomplete)
