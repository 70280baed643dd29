"""`reviewer pr`: review one GitHub pull request and post one review and one summary comment.

A thin wrapper: the flow is reviewer.github.flow, the run reviewer.pipeline.
What is shared with `reviewer action` and `reviewer summarize` lives here too:
opening a pull request with the settings of its base branch, and finishing a
run (save, print or post, then the exit code).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reviewer.commands.common import (
    RunOptions,
    build_config,
    cost_audit,
    counted,
    environ,
    exit_code,
    load_guidelines,
    note,
    progress_printer,
    render_review,
    review_options,
)
from reviewer.config import CONFIG_FILE, Config
from reviewer.publishers import ALL_FORMATS

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from reviewer.github.api import PullRef
    from reviewer.github.comments import PullReview
    from reviewer.github.flow import Reviewed, TreeSource
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup
    from reviewer.sources.checkout import PullHead


@dataclass(frozen=True)
class PrOutcome:
    exit_code: int
    findings: int = 0
    cost_usd: float = 0.0
    review_url: str = ""


F = TypeVar("F", bound=Callable[..., Any])


def pr_options(func: F) -> F:
    """Which PR, with which token, and the tree an agent backend reads: shared by `pr` and `summarize`."""
    options = [
        click.argument("url", required=False),
        click.option("--repo", metavar="OWNER/NAME", help="The repository (with --number), instead of a PR URL."),
        click.option("--number", type=int, metavar="N", help="The pull request number."),
        click.option("--token", help="GitHub token (default: $GITHUB_TOKEN)."),
        click.option("--no-post", is_flag=True, help="Print the result instead of posting it."),
        click.option(
            "--checkout",
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            help="A checkout of the PR's head for agent backends to read (default: a temporary worktree or clone).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@pr_options
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="Save the whole review as JSON (post it later with `reviewer publish FILE`).")
@click.option("--full", is_flag=True, help="Review the whole PR, not only what changed since the last reviewed head.")
@review_options(formats=ALL_FORMATS, omit=("trust_repo_config",))
def pr(
    opts: RunOptions,
    url: str | None,
    repo: str | None,
    number: int | None,
    token: str | None,
    no_post: bool,
    checkout: Path | None,
    output: Path | None,
    full: bool,
) -> int:
    """Review a GitHub pull request: one review with inline comments and one summary comment.

    Name it by URL (https://github.com/OWNER/NAME/pull/N) or with --repo and
    --number. The API base comes from GITHUB_API_URL (GitHub Enterprise Server).
    Settings, templates and guidelines come from the PR's base branch.
    """
    from reviewer.github.api import github_errors
    from reviewer.github.flow import review_pull
    from reviewer.review import Interrupted

    with github_errors():
        session = open_pr(url, repo, number, token, opts)
        try:
            reviewed = review_pull(
                session.pull, session.setup, session.env, full=full, explicit=False, checkout=session.clone,
                tree_source=local_tree(checkout, session.clone, session.env), dry_run=opts.dry_run, note=note, progress=progress_printer(),
            )
        except Interrupted as stop:  # Ctrl-C: what was answered is printed, nothing is posted; exit 130 (reviewer.cli)
            click.echo(render_review(stop.review, opts.output_format), nl=False)
            raise
        return finish(session.pull, reviewed, session.setup.config, opts, session.env, post=not no_post, output=output).exit_code


@dataclass(frozen=True)
class PrSession:
    """The PR named on the command line, read through GitHub, and how to review it (from its base branch)."""

    pull: GitHubPull
    setup: Setup
    env: Mapping[str, str]
    clone: Path | None  # the clone we run in, if any: fills in patches GitHub leaves out


def open_pr(url: str | None, repo: str | None, number: int | None, token: str | None, opts: RunOptions) -> PrSession:
    from reviewer.github.api import api_url, parse_ref
    from reviewer.sources.git import find_root

    ref = parse_ref(url, repo, number)
    env = environ()
    pull, setup = open_trusted(token or env.get("GITHUB_TOKEN"), api_url(env, ref), ref, opts, env)
    return PrSession(pull, setup, env, find_root(Path.cwd()))


def open_trusted(
    token: str | None, api: str, ref: PullRef, opts: RunOptions, env: Mapping[str, str], repo_config: str = CONFIG_FILE,
    *, plans: bool = True,
) -> tuple[GitHubPull, Setup]:
    """The pull request, and how to review it: the settings of its base branch, never its head's.

    A file named by --config (or the Action's absolute `config` input) is the user's choice and read as given.
    `plans`: the run reviews or summarizes the change (not only answers a comment), and so can read ahead
    beside a second process when the change is large.
    """
    from reviewer import read_ahead
    from reviewer.github.api import connect, connection_settings
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup
    from reviewer.prompts import Templates, overrides_from
    from reviewer.review import reads_aside

    preliminary = build_config(opts, None, env=env)  # yours alone: how to talk to GitHub while the base is read
    gh = connect(token, api, preliminary.github)
    pull = GitHubPull.open(gh, ref)
    if not opts.dry_run:  # the vocabulary and the backends' SDK (a large change's plan imports it), while GitHub answers
        read_ahead.start(preliminary, sdks=not (plans and reads_aside(pull.info.changed_lines)))
    files = pull.base_files
    config = build_config(opts, files, repo_trusted=True, repo_config=repo_config, env=env)
    if connection_settings(config.github) != connection_settings(preliminary.github):
        pull = GitHubPull.open(connect(token, api, config.github), ref)  # its objects carry the client that made them
    return pull, Setup(config, Templates(overrides_from(files)), load_guidelines(config, files))


def local_tree(checkout: Path | None, clone: Path | None, env: Mapping[str, str]) -> TreeSource:
    """`--checkout DIR` as given; else a temporary worktree of the clone we run in, or a temporary shallow clone."""
    from reviewer.sources import checkout as trees

    def source(head: PullHead) -> AbstractContextManager[Path]:
        if checkout is not None:
            return trees.given(checkout, head, "--checkout")
        return trees.temporary(clone, head, env)

    return source


def finish(pull: GitHubPull, reviewed: Reviewed, config: Config, opts: RunOptions, env: Mapping[str, str], *, post: bool, output: Path | None) -> PrOutcome:
    """Print a dry run's plan; save, post or print a review; the exit code from its findings."""
    from reviewer.diff import display_path
    from reviewer.github.flow import Undelivered, deliver
    from reviewer.github.saved import save
    from reviewer.publishers import plan as plan_publisher
    from reviewer.review import utc_now
    from reviewer.safe_text import printable

    if reviewed.plan is not None:
        click.echo(plan_publisher.render(reviewed.plan, config, utc_now(), opts.output_format, verbose=opts.verbose), nl=False)
        return PrOutcome(0)
    pr_review: PullReview | None = reviewed.pr_review
    if pr_review is None:
        if output:  # why was said above (a draft, nothing new); a workflow uploading the file finds none
            # One there already is an earlier run's (a runner that keeps its workspace): kept, as it may be counted
            # (reviewer cost), but said; `reviewer publish` refuses it for a head it was not made for.
            earlier = " (the file there is an earlier run's)" if output.is_file() else ""
            note(f"reviewer: nothing saved to {printable(display_path(str(output)), newlines=False)}: there is no review to post{earlier}")
        # Nothing new to review: the gate still reflects our comments that stand.
        return PrOutcome(exit_code(list(reviewed.standing), config.review.fail_on, False))
    url, undelivered = "", ""
    if output:
        save(pr_review, output)
    if post:
        try:
            url = deliver(pull, pr_review, config.github, env, note, click.echo, saved_at=output)
        except Undelivered as exc:
            undelivered = str(exc)
    elif not output:
        click.echo(render_review(pr_review.review, opts.output_format), nl=False)
    review = pr_review.review
    if post or output:  # nothing else tells a person at the terminal what the run did and cost
        from reviewer.publishers.terminal import cost_line, usage_line

        where = url or (f"saved to {output}" if output and not post else f"{pull.ref.repo}#{pull.ref.number}")
        count = len(review.findings)
        note(f"reviewer: {where}: {count} finding{'s' if count != 1 else ''} · {usage_line(review.usage)} · {cost_line(review)}")
    if undelivered:
        note(f"reviewer: error: {undelivered}")
    cost_audit(review, opts)
    # Findings at or above --fail-on give 1 even when posting failed (3): a blocking finding is certain either way.
    code = exit_code([*counted(review), *reviewed.standing], config.review.fail_on, review.incomplete or bool(undelivered))
    return PrOutcome(code, len(review.findings), review.cost_usd, url)
