"""`reviewer summarize`: title, walkthrough per file and risk notes for the local change."""

from __future__ import annotations

import click

from reviewer.commands.common import RunOptions, build_config, local_change, range_options, review_options
from reviewer.commands.local import execute


@click.command()
@range_options
@review_options()
def summarize(opts: RunOptions, base: str | None, staged: bool, commit_range: str | None) -> int:
    """Summarize the local change without reviewing it (the `summarize` route)."""
    work = local_change(base, staged, commit_range)
    config = build_config(opts, work.root)
    return execute(work, config, opts, ("summarize",))
