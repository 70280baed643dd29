"""`reviewer local`: review the change of this checkout before it is pushed."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import (
    ALL_FORMATS,
    LocalWork,
    RunOptions,
    build_config,
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
    """Plan, then print the plan (--dry-run) or send it and print the review."""
    from reviewer.filters import Skipped
    from reviewer.prompts import Templates, overrides_from
    from reviewer.publishers import plan as plan_publisher
    from reviewer.review import BackendPool, plan_review, run_review, utc_now

    if work.diff.empty:
        note(f"reviewer: nothing to review ({work.description} has no changes)")
    from reviewer.repo_files import WorkingTree

    files = WorkingTree(work.root)
    templates = Templates(overrides_from(files))
    guidelines = load_guidelines(config, files)
    plan = plan_review(work.diff, config, templates, description=work.description, guidelines=guidelines, tasks=tasks)
    if work.untracked:
        # Only tracked files are in the diff; say which new files were left out rather than drop them silently.
        untracked = tuple(Skipped(p, f"untracked: `git add -N {p}` to review it") for p in work.untracked)
        plan = dataclasses.replace(plan, skipped=plan.skipped + untracked)
    if opts.dry_run:
        click.echo(plan_publisher.render(plan, config, utc_now(), opts.output_format), nl=False)
        return 0
    pool = BackendPool(config, environ(), workdir=work.root, diff=work.diff)
    pool.preflight(plan.requests)
    progress = progress_printer()
    if plan.requests and progress:
        count = len({p for r in plan.requests for p in r.paths})
        progress(f"sending {len(plan.requests)} request(s) for {count} file(s); thinking can take minutes")
    # Even with nothing to send (only a .env changed), the review reports the secrets committed.
    review = run_review(plan, work.diff, pool, description=work.description, on_progress=progress)
    click.echo(render_review(review, opts.output_format), nl=False)
    return exit_code([p.finding.severity for p in review.findings], config.review.fail_on, review.incomplete)
