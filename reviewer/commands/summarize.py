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
    ALL_FORMATS,
    RunOptions,
    build_config,
    load_guidelines,
    local_change,
    note,
    range_options,
    render_review,
    review_options,
)
from reviewer.commands.local import execute
from reviewer.commands.pr import PrOutcome, open_pr, pr_options

if TYPE_CHECKING:
    from github import Github

    from reviewer.config import Config
    from reviewer.repo_files import RepoFiles
    from reviewer.sources.github import PullRef


@click.command()
@pr_options
@range_options
@review_options(formats=ALL_FORMATS)
def summarize(
    opts: RunOptions,
    url: str | None,
    repo: str | None,
    number: int | None,
    token: str | None,
    no_post: bool,
    base: str | None,
    staged: bool,
    commit_range: str | None,
) -> int:
    """Summarize the local change, or a pull request (URL, or --repo and --number), without reviewing it."""
    if not (url or repo or number):
        from reviewer.repo_files import WorkingTree

        work = local_change(base, staged, commit_range)
        return execute(work, build_config(opts, WorkingTree(work.root)), opts, ("summarize",))
    from reviewer.sources.github import github_errors

    with github_errors():
        session = open_pr(url, repo, number, token, opts)
        return run_summarize_pr(
            session.gh, session.ref, session.config, session.files, opts, session.env, post=not no_post, checkout=session.checkout
        ).exit_code


def run_summarize_pr(
    gh: Github, ref: PullRef, config: Config, files: RepoFiles, opts: RunOptions, env: Mapping[str, str], *, post: bool, checkout: Path | None
) -> PrOutcome:
    from reviewer.prompts import Templates, overrides_from
    from reviewer.publishers.github_review import refresh_walkthrough
    from reviewer.review import BackendPool, plan_review, run_review
    from reviewer.saved_review import SavedReview
    from reviewer.sources.github import open_pull, pull_diff, pull_info

    _, pull = open_pull(gh, ref)
    info = pull_info(pull, ref.repo)
    whole = pull_diff(pull, info, checkout)
    plan = plan_review(
        whole.diff, config, Templates(overrides_from(files)), description=info.description, guidelines=load_guidelines(config, files),
        tasks=("summarize",),
    )
    pool = BackendPool(config, env)
    pool.preflight(plan.requests)
    review = run_review(plan, whole.diff, pool, description=info.description)
    if not post:
        click.echo(render_review(review, opts.output_format), nl=False)
        return PrOutcome(0, 0, review.cost_usd)
    saved = SavedReview(ref.repo, ref.number, info.head_sha, info.base_sha, review, whole.raw)
    url = refresh_walkthrough(gh, saved, config.github) or ""
    note(f"reviewer: walkthrough refreshed on {ref.repo}#{ref.number}")
    return PrOutcome(3 if review.incomplete else 0, 0, review.cost_usd, url)
