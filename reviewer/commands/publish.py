"""`reviewer publish FILE`: post a review saved by `reviewer pr --output FILE`.

So a job with a read-only token (a fork's PR) can review, and a trusted job
that never checks out PR code can post. The file came from an untrusted job,
so it is checked before anything is posted: it must be for this repository,
and the PR it names must be the one the `workflow_run` analyzed (its head
commit, head repository and head branch, passed by the workflow). The diff
that findings are placed against is fetched from GitHub, never read from the
file, and every body is made safe again when it is rendered.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import RunOptions, build_config, config_option, counted, environ, exit_code, note
from reviewer.errors import ConfigError

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

    from reviewer.github.comments import PullReview


@dataclasses.dataclass(frozen=True)
class Head:
    """What the workflow run analyzed, from its trusted event: `workflow_run.head_sha`, `.head_repository.full_name`, `.head_branch`."""

    sha: str
    repo: str
    branch: str


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--token", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option("--head-sha", metavar="SHA", required=True, help="The commit the review is of (workflow_run.head_sha); it must still be the PR's head.")
@click.option("--head-repo", metavar="OWNER/NAME", required=True, help="The PR's head repository (workflow_run.head_repository.full_name).")
@click.option("--head-branch", metavar="BRANCH", required=True, help="The PR's head branch (workflow_run.head_branch).")
@config_option
def publish(file: Path, token: str | None, head_sha: str, head_repo: str, head_branch: str, config_path: Path | None) -> int:
    """Post a review saved earlier with `reviewer pr --output FILE`, if it is of the PR the workflow run analyzed."""
    from reviewer.github.api import PullRef, api_url, connect, github_errors, same_api
    from reviewer.github.flow import deliver
    from reviewer.github.pull import GitHubPull
    from reviewer.github.saved import load
    from reviewer.placement import place
    from reviewer.redact import redact_diff

    saved = load(file)
    env = environ()
    expected_repo = env.get("GITHUB_REPOSITORY")
    if expected_repo and saved.repo.lower() != expected_repo.lower():
        raise ConfigError(f"{file}: the review is for {saved.repo}, but this workflow runs in {expected_repo}; not posting it")
    # Where the token goes is this run's to say (GITHUB_API_URL), never the file's: the file only has to agree.
    api = api_url(env)
    if saved.api_url and not same_api(saved.api_url, api):
        raise ConfigError(
            f"{file}: the review is of a pull request read from {saved.api_url}, but this run posts to {api}; "
            "set GITHUB_API_URL to the API of that host to post it there"
        )
    config = build_config(RunOptions(config_path), None, env=env)
    gh = connect(token or env.get("GITHUB_TOKEN"), api, config.github)
    with github_errors():
        pull = GitHubPull.open(gh, PullRef(saved.repo, saved.number))
        check_target(file, saved, pull.pull, Head(head_sha, head_repo, head_branch))
        # Findings are placed against GitHub's diff of this PR: the file's own account of where they sit is not trusted.
        # Redacted, as the review placed them: the same fingerprints, and the files' names as the findings give them.
        diff = redact_diff(pull.whole(None).diff)[0]
        placed = place([p.finding for p in saved.review.findings], diff, incremental=saved.since_sha is not None)
        posted = dataclasses.replace(saved, review=dataclasses.replace(saved.review, findings=placed))
        url = deliver(pull, posted, config.github, env, note, click.echo, saved_at=file)
    review = saved.review
    click.echo(f"reviewer: {url or 'nothing new posted'}")
    return exit_code(counted(review), config.review.fail_on, review.incomplete)


def check_target(file: Path, saved: PullReview, pull: PullRequest, head: Head) -> None:
    """Refuse a review whose PR is not the one the workflow run analyzed (an edited `number` would aim it elsewhere)."""
    head_repo = pull.head.repo.full_name if pull.head.repo is not None else "(a deleted repository)"
    actual = f"{head_repo}:{pull.head.ref} at {pull.head.sha[:7]}"
    if saved.head_sha != head.sha:
        raise ConfigError(f"{file}: the review is of {saved.head_sha[:7]}, but the workflow run analyzed {head.sha[:7]}; not posting it")
    if pull.head.sha != head.sha or head_repo.lower() != head.repo.lower() or pull.head.ref != head.branch:
        raise ConfigError(
            f"{file}: the review names #{saved.number}, whose head is {actual}, but the workflow run analyzed "
            f"{head.repo}:{head.branch} at {head.sha[:7]}; not posting it"
        )
