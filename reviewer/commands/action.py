"""`reviewer action`: the GitHub Action's entry point.

Reads the event and does what it calls for: a review on pull_request opened,
synchronize, reopened and ready_for_review; a review or a walkthrough on a
`/review` or `/summarize` comment from someone with write access; one answer
to a reply in our review threads, a review comment naming the reviewer, or
`/ask QUESTION`, from someone `[chat]` allows; anything else is a no-op with
a one-line reason. Writes `findings`, `cost-usd` and `review-url` (for an
answer: its URL) to `$GITHUB_OUTPUT`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import RunOptions, environ, note, progress_printer
from reviewer.config import CONFIG_FILE, Config
from reviewer.errors import ConfigError
from reviewer.vocabulary import EFFORTS, FAIL_ON

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from github import Github

    from reviewer.commands.pr import PrOutcome
    from reviewer.github.event import Asked, Decision
    from reviewer.github.flow import TreeSource
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup
    from reviewer.sources.checkout import PullHead

WRITE_PERMISSIONS = ("admin", "maintain", "write")


@click.command()
def action() -> int:
    """Run as the GitHub Action: read GITHUB_EVENT_PATH and the INPUT_* variables, and act on the event."""
    from reviewer.commands.pr import PrOutcome, open_trusted
    from reviewer.github import event as gha
    from reviewer.github.api import PullRef, api_url, github_errors

    env = environ()
    event_name, payload = gha.read_event(env)
    decision = gha.decide(event_name, payload)
    outcome = PrOutcome(0)
    if decision.task == "learn":
        outcome = _learn(env)
        gha.write_outputs(env, _outputs(outcome))
        return outcome.exit_code
    if decision.task == "skip" or decision.number is None:
        click.echo(f"reviewer: nothing to do: {decision.reason}")
        gha.write_outputs(env, _outputs(outcome))
        return 0
    opts, repo_config = _options(env)
    token = gha.action_input(env, "token") or env.get("GITHUB_TOKEN")
    ref = PullRef(gha.repository(env), decision.number)
    with github_errors():
        # The workflow's checkout holds the PR's code: settings come from the base branch, through the API.
        pull, setup = open_trusted(token, api_url(env), ref, opts, env, repo_config, plans=decision.task != "chat")
        outcome = _act(pull, setup, decision, opts, env, gha.checkout(env))
    gha.write_outputs(env, _outputs(outcome))
    return outcome.exit_code


def _act(pull: GitHubPull, setup: Setup, decision: Decision, opts: RunOptions, env: Mapping[str, str], workspace: Path | None) -> PrOutcome:
    from reviewer.commands.pr import PrOutcome, finish
    from reviewer.commands.summarize import summarize_pr
    from reviewer.github.flow import review_pull
    from reviewer.publishers.annotations import write_step_summary

    ref, config = pull.ref, setup.config
    if decision.commenter and not _can_write(pull.gh, ref.repo, decision.commenter):
        click.echo(f"reviewer: nothing to do: {decision.commenter} has no write access to {ref.repo}")
        return PrOutcome(0)
    if decision.task == "chat" and decision.asked is not None:
        return _answer(pull, setup, decision.asked, env, workspace)
    if decision.fork and not _has_key(config, env, "review"):
        # Secrets never reach a workflow triggered from a fork: say so and pass, rather than fail every fork PR.
        message = (
            f"not reviewing {ref.repo}#{ref.number}: it comes from a fork, and GitHub passes no secrets "
            "(no model API key) to such runs; see the two-step pattern for forks in the README"
        )
        click.echo(f"reviewer: {message}")
        write_step_summary(env, f"### reviewer\n\n{message[0].upper()}{message[1:]}.\n")
        return PrOutcome(0)
    note(f"reviewer: {decision.reason}: {decision.task} {ref.repo}#{ref.number}")
    tree_source = workspace_tree(workspace)
    if decision.task == "summarize":
        return summarize_pr(pull, setup, env, opts, post=True, checkout=workspace, tree_source=tree_source)
    reviewed = review_pull(
        pull, setup, env, full=decision.explicit, explicit=decision.explicit, checkout=workspace, tree_source=tree_source,
        dry_run=False, note=note, progress=progress_printer(),
    )
    return finish(pull, reviewed, config, opts, env, post=True, output=None)


def _answer(pull: GitHubPull, setup: Setup, asked: Asked, env: Mapping[str, str], workspace: Path | None) -> PrOutcome:
    """One answer to a person's comment, or a line saying why there is none."""
    from reviewer.commands.pr import PrOutcome
    from reviewer.errors import ExitCode
    from reviewer.github.answering import respond

    ref = pull.ref
    if not _has_key(setup.config, env, "chat"):
        click.echo(f"reviewer: not answering {asked.login} on {ref.repo}#{ref.number}: no backend of the chat route has its key here (a fork's run gets no secrets)")
        return PrOutcome(0)
    note(f"reviewer: comment {asked.comment_id} from {asked.login}: answering on {ref.repo}#{ref.number} if it asks us")
    done = respond(pull, setup, asked, env, checkout=workspace, tree_source=workspace_tree(workspace), note=note)
    if done.skipped:
        click.echo(f"reviewer: not answering: {done.skipped}")
        return PrOutcome(0)
    if done.error:
        note(f"reviewer: no answer to comment {asked.comment_id}: {done.error}")
        return PrOutcome(ExitCode.INCOMPLETE, cost_usd=done.cost_usd)
    note(f"reviewer: answered {asked.login} with {done.backend}: {done.url} · cost ${done.cost_usd:.4f}")
    return PrOutcome(0, cost_usd=done.cost_usd, review_url=done.url)


def _learn(env: Mapping[str, str]) -> PrOutcome:
    """`reviewer learn` for the repository, with the default branch's settings; with `[learn] open_pull_request`,
    the file is proposed in a pull request (never pushed to a branch people use)."""
    from datetime import datetime, timedelta, timezone

    from reviewer.commands.common import build_config
    from reviewer.commands.learn import render
    from reviewer.commands.pr import PrOutcome
    from reviewer.github import event as gha
    from reviewer.github.api import api_url, connect, github_errors
    from reviewer.github.base_files import BaseBranchFiles
    from reviewer.github.comments import BODY_LIMIT
    from reviewer.github.feedback import collect
    from reviewer.github.learnings_pull import propose_learnings
    from reviewer.learnings import propose
    from reviewer.publishers.annotations import write_step_summary

    opts, repo_config = _options(env)
    token = gha.action_input(env, "token") or env.get("GITHUB_TOKEN")
    name = gha.repository(env)
    url = None
    with github_errors():
        gh = connect(token, api_url(env), build_config(opts, None, env=env).github)
        repo = gh.get_repo(name)
        branch = repo.default_branch
        sha = repo.get_branch(branch).commit.sha
        config = build_config(opts, BaseBranchFiles(repo, sha), repo_trusted=True, repo_config=repo_config, env=env)
        settings = config.learn
        since = datetime.now(timezone.utc) - timedelta(days=settings.days)
        read = collect(gh, name, since=since, limit=settings.max_pulls, bot_login=config.github.bot_login, note=note)
        proposals = propose(read.evidence, settings.min_evidence)
        if proposals and settings.open_pull_request:
            body = render(proposals, read, "text", None, "review the file in this pull request: reviews follow it once it is merged")
            url = propose_learnings(repo, branch, sha, settings.branch, proposals, body[:BODY_LIMIT], note)
    step = "proposed in " + url if url else "set [learn] open_pull_request = true to have them proposed in a pull request"
    report = render(proposals, read, "text", None, step if proposals and (url or not settings.open_pull_request) else "")
    click.echo(report, nl=False)
    write_step_summary(env, f"### reviewer learn\n\n{report}")
    return PrOutcome(0, review_url=url or "")


def workspace_tree(workspace: Path | None) -> TreeSource:
    """The workflow's own checkout is what an agent reads; it must hold the PR's head (or its merge commit)."""
    from reviewer.sources import checkout as trees

    def source(head: PullHead) -> AbstractContextManager[Path]:
        if workspace is None:
            raise ConfigError(f"GITHUB_WORKSPACE holds no checkout of the pull request's head; {trees.CHECKOUT_HINT}")
        return trees.given(workspace, head, "GITHUB_WORKSPACE")

    return source


def _options(env: Mapping[str, str]) -> tuple[RunOptions, str]:
    """The run's options from the action's inputs, and the configuration file to read from the base branch.

    An absolute `config` path outside the checkout is a file the workflow made (read as given); a
    relative one, or one inside GITHUB_WORKSPACE (the PR's checkout), is a path in the repository,
    read from the base branch like the default `.reviewer.toml`.
    """
    from reviewer.github.event import action_input

    effort = action_input(env, "effort")
    fail_on = action_input(env, "fail-on")
    if effort and effort not in EFFORTS:
        raise ConfigError(f"input effort: {effort!r} is not one of: {', '.join(EFFORTS)}")
    if fail_on and fail_on not in FAIL_ON:
        raise ConfigError(f"input fail-on: {fail_on!r} is not one of: {', '.join(FAIL_ON)}")
    config = _in_repository(action_input(env, "config"), env.get("GITHUB_WORKSPACE"))
    absolute = bool(config) and Path(config or "").is_absolute()
    options = RunOptions(
        config_path=Path(config) if config and absolute else None,
        output_format="text",
        backend=None,
        base_url=action_input(env, "base-url"),
        model=action_input(env, "model"),
        effort=effort,
        fail_on=fail_on,
        dry_run=False,
        concurrency=None,
        max_cost=None,
    )
    return options, config if config and not absolute else CONFIG_FILE


def _in_repository(config: str | None, workspace: str | None) -> str | None:
    """An absolute path into the workflow's checkout named as the repository path it is (the PR's copy is not read)."""
    if not config or not workspace or not Path(config).is_absolute():
        return config
    resolved, root = Path(os.path.realpath(config)), Path(os.path.realpath(workspace))
    return resolved.relative_to(root).as_posix() if resolved == root or root in resolved.parents else config


def _has_key(config: Config, env: Mapping[str, str], task: str) -> bool:
    """Whether some backend of the task's route can be used here: self-hosted, keyless, or its key is set."""
    for name in config.routes.for_task(task):
        backend = config.backend(name)
        if backend.is_self_hosted or not backend.api_key_env or env.get(backend.api_key_env):
            return True
    return False


def _can_write(gh: Github, repo: str, login: str) -> bool:
    from github import GithubException

    try:
        permission = gh.get_repo(repo).get_collaborator_permission(login)
    except GithubException:
        return False
    return permission in WRITE_PERMISSIONS


def _outputs(outcome: PrOutcome) -> dict[str, str]:
    return {"findings": str(outcome.findings), "cost-usd": f"{outcome.cost_usd:.4f}", "review-url": outcome.review_url}
