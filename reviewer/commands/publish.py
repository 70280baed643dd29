"""`reviewer publish FILE`: post a review saved by `reviewer pr --output FILE`.

So a job with a read-only token (a fork's PR) can review, and a trusted job
that never checks out PR code can post. The file came from an untrusted job,
so it is checked before anything is posted: it must be for this repository
and, with --head-sha, for the PR whose head GitHub reports as that commit.
Every body is made safe again when it is rendered.
"""

from __future__ import annotations

from pathlib import Path

import click

from reviewer.commands.common import RunOptions, build_config, config_option, environ, exit_code
from reviewer.commands.pr import deliver
from reviewer.errors import ConfigError


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--token", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option("--head-sha", metavar="SHA", help="Post only if the review is of this commit and it is still the PR's head (use workflow_run.head_sha).")
@config_option
def publish(file: Path, token: str | None, head_sha: str | None, config_path: Path | None) -> int:
    """Post a review saved earlier with `reviewer pr --output FILE`."""
    from reviewer.saved_review import load
    from reviewer.sources.github import PullRef, api_url, connect, github_errors, open_pull

    saved = load(file)
    env = environ()
    expected_repo = env.get("GITHUB_REPOSITORY")
    if expected_repo and saved.repo.lower() != expected_repo.lower():
        raise ConfigError(f"{file}: the review is for {saved.repo}, but this workflow runs in {expected_repo}; not posting it")
    opts = RunOptions(config_path, "text", None, None, None, None, None, False, None, None)
    config = build_config(opts, None)
    gh = connect(token or env.get("GITHUB_TOKEN"), api_url(env), config.github.seconds_between_writes)
    with github_errors():
        if head_sha:
            _, pull = open_pull(gh, PullRef(saved.repo, saved.number))
            if saved.head_sha != head_sha or pull.head.sha != head_sha:
                raise ConfigError(
                    f"{file}: the review is of {saved.head_sha[:7]} on #{saved.number}, whose head is {pull.head.sha[:7]}, "
                    f"not {head_sha[:7]}; not posting it"
                )
        deliver(gh, saved, config.github, env)
    review = saved.review
    return exit_code([p.finding.severity for p in review.findings], config.review.fail_on, review.incomplete)
