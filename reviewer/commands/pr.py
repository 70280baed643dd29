"""`reviewer pr`: review one GitHub pull request and post one review and one summary comment.

`run_pr` is the whole flow, shared with `reviewer action`: read the PR and what
earlier runs left on it, skip what should be skipped, review (only what changed
since the last reviewed head SHA, when that is possible), then save, print or
post. `deliver` posts and falls back to annotations and a job summary when the
token cannot write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reviewer.commands.common import (
    ALL_FORMATS,
    RunOptions,
    build_config,
    environ,
    exit_code,
    load_guidelines,
    note,
    progress_printer,
    render_review,
    review_options,
)
from reviewer.config import CONFIG_FILE, Config, GitHubSettings

if TYPE_CHECKING:
    from github import Github

    from reviewer.diff import Diff
    from reviewer.repo_files import RepoFiles
    from reviewer.saved_review import SavedReview
    from reviewer.sources.github import PullInfo, PullRef


@dataclass(frozen=True)
class PrOutcome:
    exit_code: int
    findings: int = 0
    cost_usd: float = 0.0
    review_url: str = ""


F = TypeVar("F", bound=Callable[..., Any])


def pr_options(func: F) -> F:
    """Which PR, and with which token: shared by `pr` and `summarize`."""
    options = [
        click.argument("url", required=False),
        click.option("--repo", metavar="OWNER/NAME", help="The repository (with --number), instead of a PR URL."),
        click.option("--number", type=int, metavar="N", help="The pull request number."),
        click.option("--token", help="GitHub token (default: $GITHUB_TOKEN)."),
        click.option("--no-post", is_flag=True, help="Print the result instead of posting it."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@pr_options
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="Save the whole review as JSON (post it later with `reviewer publish FILE`).")
@click.option("--full", is_flag=True, help="Review the whole PR, not only what changed since the last reviewed head.")
@review_options(formats=ALL_FORMATS)
def pr(
    opts: RunOptions, url: str | None, repo: str | None, number: int | None, token: str | None, no_post: bool, output: Path | None, full: bool
) -> int:
    """Review a GitHub pull request: one review with inline comments and one summary comment.

    Name it by URL (https://github.com/OWNER/NAME/pull/N) or with --repo and
    --number. The API base comes from GITHUB_API_URL (GitHub Enterprise Server).
    """
    from reviewer.sources.github import github_errors

    with github_errors():
        session = open_pr(url, repo, number, token, opts)
        return run_pr(
            session.gh, session.ref, session.config, session.files, opts, session.env,
            post=not no_post, output=output, full=full, checkout=session.checkout,
        ).exit_code


@dataclass(frozen=True)
class PrSession:
    """A connection to the PR named on the command line, with the configuration its base branch has."""

    gh: Github
    ref: PullRef
    config: Config
    files: RepoFiles  # the base branch: where the configuration, templates and guidelines come from
    env: Mapping[str, str]
    checkout: Path | None


def open_pr(url: str | None, repo: str | None, number: int | None, token: str | None, opts: RunOptions) -> PrSession:
    from reviewer.sources.git import find_root
    from reviewer.sources.github import api_url, parse_ref

    ref = parse_ref(url, repo, number)
    env = environ()
    gh, config, files = trusted_setup(token or env.get("GITHUB_TOKEN"), api_url(env, ref.host), ref, opts, env)
    return PrSession(gh, ref, config, files, env, find_root(Path.cwd()))


def trusted_setup(
    token: str | None, api: str, ref: PullRef, opts: RunOptions, env: Mapping[str, str], repo_config: str = CONFIG_FILE
) -> tuple[Github, Config, RepoFiles]:
    """A connection, and the configuration of the PR's base branch (never its head: a PR cannot steer its own review).

    A file named by --config (or the Action's absolute `config` input) is the user's choice and read as given.
    """
    from reviewer.sources.github import connect, open_pull
    from reviewer.sources.github_files import BaseBranchFiles

    preliminary = build_config(opts, None, env=env)  # yours alone: how fast to write while the base is read
    gh = connect(token, api, preliminary.github.seconds_between_writes)
    repo, pull = open_pull(gh, ref)
    files = BaseBranchFiles(repo, pull.base.sha)
    config = build_config(opts, files, repo_trusted=True, repo_config=repo_config, env=env)
    if config.github.seconds_between_writes != preliminary.github.seconds_between_writes:
        gh = connect(token, api, config.github.seconds_between_writes)
    return gh, config, files


def skip_reason(info: PullInfo, settings: GitHubSettings, *, explicit: bool) -> str | None:
    """Why this PR gets no review at all (a person's /review still reviews a draft)."""
    if settings.skip_label and settings.skip_label in info.labels:
        return f"labelled {settings.skip_label!r}"
    if explicit:
        return None
    if settings.skip_drafts and info.draft:
        return "a draft (set github.skip_drafts = false to review drafts)"
    if settings.skip_bots and info.author_is_bot:
        return f"opened by the bot {info.author}"
    return None


def size_reason(info: PullInfo, settings: GitHubSettings) -> str | None:
    """Why the PR is too large to review; the summary comment says so."""
    if settings.max_files and info.changed_files > settings.max_files:
        return f"{info.changed_files:,} changed files, over github.max_files = {settings.max_files:,}"
    if settings.max_changed_lines and info.changed_lines > settings.max_changed_lines:
        return f"{info.changed_lines:,} changed lines, over github.max_changed_lines = {settings.max_changed_lines:,}"
    return None


def settings_note(diff: Diff, config: Config) -> tuple[str, ...]:
    """A PR that edits the reviewer's own settings is reviewed by the base branch's; the summary says so."""
    from reviewer.repo_files import settings_paths

    changed = [f.path for f in diff.files if f.path in settings_paths(config) or f.path.startswith(".reviewer/")]
    if not changed:
        return ()
    return (
        f"this pull request changes the reviewer's settings ({', '.join(changed)}); changes to review rules "
        "take effect after merge: this review followed the base branch's",
    )


def run_pr(
    gh: Github,
    ref: PullRef,
    config: Config,
    files: RepoFiles,
    opts: RunOptions,
    env: Mapping[str, str],
    *,
    post: bool,
    output: Path | None,
    full: bool,
    checkout: Path | None,
    explicit: bool = False,
) -> PrOutcome:
    from reviewer.backends.base import Usage
    from reviewer.diff import within
    from reviewer.prompts import Templates, overrides_from
    from reviewer.publishers import plan as plan_publisher
    from reviewer.publishers.github_review import read_state
    from reviewer.review import BackendPool, Review, plan_review, run_review, utc_now
    from reviewer.saved_review import SavedReview
    from reviewer.sources.github import changes_since, open_pull, pull_diff, pull_info

    repo, pull = open_pull(gh, ref)
    info = pull_info(pull, ref.repo)
    skipped_why = skip_reason(info, config.github, explicit=explicit)
    if skipped_why:
        note(f"reviewer: not reviewing {ref.repo}#{ref.number}: {skipped_why}")
        return PrOutcome(0)
    state = read_state(gh, pull, config.github)
    empty = Review((), None, Usage(), 0.0, (), ())
    too_large = size_reason(info, config.github)
    if too_large:
        note(f"reviewer: not reviewing {ref.repo}#{ref.number}: {too_large}")
        saved = SavedReview(ref.repo, ref.number, info.head_sha, info.base_sha, empty, "", not_reviewed_reason=too_large)
        return _finish(gh, saved, config, opts, env, post=post, output=output)
    if state.last_head == info.head_sha and not full:
        note(f"reviewer: {info.head_sha[:7]} was reviewed already; nothing new to review (--full reviews it again)")
        return PrOutcome(0)
    whole = pull_diff(pull, info, checkout)
    target, since = whole, None
    if state.last_head and not full:
        changed = changes_since(repo, state.last_head, info, [f.path for f in whole.diff.files], checkout)
        if changed is None:
            note(f"reviewer: {state.last_head[:7]} is no longer in the branch's history (force-push?); reviewing the whole PR")
        else:
            target, since = dataclasses.replace(changed, diff=within(changed.diff, whole.diff)), state.last_head
    templates, guidelines = Templates(overrides_from(files)), load_guidelines(config, files)
    # The review sees only what is new; the walkthrough always describes the whole PR.
    reviewing = plan_review(target.diff, config, templates, description=info.description, guidelines=guidelines, tasks=("review",))
    summarizing = plan_review(whole.diff, config, templates, description=info.description, guidelines=guidelines, tasks=("summarize",))
    plan = dataclasses.replace(reviewing, requests=reviewing.requests + summarizing.requests)
    if opts.dry_run:
        click.echo(plan_publisher.render(plan, config, utc_now(), opts.output_format), nl=False)
        return PrOutcome(0)
    pool = BackendPool(config, env)
    pool.preflight(plan.requests)
    # Run even with nothing to send: a secret in a skipped file (.env) is still reported.
    review = run_review(plan, target.diff, pool, description=info.description, on_progress=progress_printer())
    skipped = tuple(dict.fromkeys(whole.skipped + target.skipped + review.skipped))  # a file can be in both diffs
    notes = review.notes + settings_note(whole.diff, config)
    review = dataclasses.replace(review, skipped=skipped, notes=notes)
    saved = SavedReview(ref.repo, ref.number, info.head_sha, info.base_sha, review, whole.raw, since_sha=since)
    return _finish(gh, saved, config, opts, env, post=post, output=output)


def _finish(gh: Github, saved: SavedReview, config: Config, opts: RunOptions, env: Mapping[str, str], *, post: bool, output: Path | None) -> PrOutcome:
    from reviewer.saved_review import save

    url = ""
    if output:
        save(saved, output)
    if post:
        url = deliver(gh, saved, config.github, env)
    elif not output:
        click.echo(render_review(saved.review, opts.output_format), nl=False)
    review = saved.review
    code = exit_code([p.finding.severity for p in review.findings], config.review.fail_on, review.incomplete)
    return PrOutcome(code, len(review.findings), review.cost_usd, url)


def deliver(gh: Github, saved: SavedReview, settings: GitHubSettings, env: Mapping[str, str]) -> str:
    """Post the review; when the token cannot write, annotations and a job summary instead. Returns the review's URL."""
    from reviewer.publishers import annotations
    from reviewer.publishers.github_review import Demoted, ReadOnly, publish, publish_not_reviewed, summary_body

    try:
        if saved.not_reviewed_reason:
            return publish_not_reviewed(gh, saved, settings) or ""
        published = publish(gh, saved, settings, note)
    except ReadOnly as exc:
        note(f"reviewer: {exc}; showing the findings as annotations and in the job summary instead")
        for line in annotations.workflow_commands(saved.review.findings):
            click.echo(line)
        reason = "the token cannot write to this pull request"
        demoted = [Demoted(p, reason) for p in saved.review.findings]
        body = summary_body(saved, demoted, posted=0, already_posted=0, review_url=None, heading_note=f"Not posted: {reason}.")
        if not annotations.write_step_summary(env, body):
            note("reviewer: GITHUB_STEP_SUMMARY is not set; no job summary written")
        return ""
    note(
        f"reviewer: posted {published.inline} comment{'s' if published.inline != 1 else ''}, "
        f"{published.demoted} in the summary, {published.already_posted} already posted earlier"
    )
    return published.review_url or published.summary_url or ""
