"""`reviewer summarize`: title, walkthrough per file and risk notes, for the local change or a PR.

On a PR it refreshes the walkthrough section of the summary comment alone
(and the PR description, between markers, where `github.update_description`
asks), leaving the findings and everything the author wrote untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import (
    RunOptions,
    build_config,
    local_change,
    note,
    progress_printer,
    range_options,
    review_options,
)
from reviewer.commands.local import execute
from reviewer.commands.pr import PrOutcome, finish, local_tree, open_pr, pr_options
from reviewer.errors import ConfigError
from reviewer.publishers import ALL_FORMATS

if TYPE_CHECKING:
    from reviewer.github.flow import TreeSource
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup


@click.command()
@pr_options
@range_options
@review_options(formats=ALL_FORMATS, omit=("fail_on",))  # a summary has no findings to fail on
def summarize(
    opts: RunOptions,
    url: str | None,
    repo: str | None,
    number: int | None,
    token: str | None,
    no_post: bool,
    checkout: Path | None,
    base: str | None,
    staged: bool,
    commit_range: str | None,
) -> int:
    """Summarize the local change, or a pull request (URL, or --repo and --number), without reviewing it."""
    if not (url or repo or number):
        from reviewer.repo_files import WorkingTree

        pr_only = [flag for flag, given in (("--checkout", checkout), ("--no-post", no_post), ("--token", token)) if given]
        if pr_only:
            raise ConfigError(f"{', '.join(pr_only)} apply to a pull request (name one by URL, or --repo and --number); the local change needs none")
        work = local_change(base, staged, commit_range)
        return execute(work, build_config(opts, WorkingTree(work.root)), opts, ("summarize",))
    from reviewer.github.api import github_errors

    local_only = [flag for flag, given in (("--base", base), ("--staged", staged), ("--range", commit_range)) if given]
    if local_only:
        raise ConfigError(f"{', '.join(local_only)} choose a local change; a pull request's change is the pull request")
    with github_errors():
        session = open_pr(url, repo, number, token, opts)
        tree_source = local_tree(checkout, session.clone, session.env)
        return summarize_pr(
            session.pull, session.setup, session.env, opts, post=not no_post, checkout=session.clone, tree_source=tree_source
        ).exit_code


def summarize_pr(
    pull: GitHubPull, setup: Setup, env: Mapping[str, str], opts: RunOptions, *, post: bool, checkout: Path | None, tree_source: TreeSource
) -> PrOutcome:
    """The walkthrough of the whole PR: printed, or written into our summary comment (and the description)."""
    from reviewer.github.flow import review_pull
    from reviewer.github.posting import refresh_walkthrough

    reviewed = review_pull(
        pull, setup, env, tasks=("summarize",), full=True, explicit=True, checkout=checkout, tree_source=tree_source,
        dry_run=opts.dry_run, note=note, progress=progress_printer(),
    )
    if not post or reviewed.pr_review is None or reviewed.pr_review.not_reviewed_reason:
        outcome = finish(pull, reviewed, setup.config, opts, env, post=False, output=None)
        return PrOutcome(0, 0, outcome.cost_usd)  # a walkthrough has no findings to fail on
    review = reviewed.pr_review.review
    url = refresh_walkthrough(pull, reviewed.pr_review, setup.config.github, note) or ""
    note(f"reviewer: walkthrough refreshed on {pull.ref.repo}#{pull.ref.number}: {url}")
    return PrOutcome(3 if review.incomplete else 0, 0, review.cost_usd)  # no review posted: the review-url output stays empty
