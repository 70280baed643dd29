"""`reviewer publish FILE`: post a review saved by `reviewer pr --output FILE`.

So a job with a read-only token (a fork's PR) can review, and a trusted job
that never checks out PR code can post.
"""

from __future__ import annotations

from pathlib import Path

import click

from reviewer.commands.common import build_config, config_option, environ, exit_code
from reviewer.commands.common import RunOptions
from reviewer.commands.pr import deliver


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--token", help="GitHub token (default: $GITHUB_TOKEN).")
@config_option
def publish(file: Path, token: str | None, config_path: Path | None) -> int:
    """Post a review saved earlier with `reviewer pr --output FILE`."""
    from reviewer.saved_review import load
    from reviewer.sources.github import api_url, connect

    saved = load(file)
    env = environ()
    opts = RunOptions(config_path, "text", None, None, None, None, None, False, None, None)
    config = build_config(opts, None)
    gh = connect(token or env.get("GITHUB_TOKEN"), api_url(env), config.github.seconds_between_writes)
    deliver(gh, saved, config.github, env)
    review = saved.review
    return exit_code([p.finding.severity for p in review.findings], config.review.fail_on, review.incomplete)
