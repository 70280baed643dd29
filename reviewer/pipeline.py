"""The one run every command shares: a Change in, a plan and (unless it is a dry run) a Review out.

Sources (the local checkout, a GitHub pull request, an eval case) each turn
what they read into a `Change`; commands render what `run` returns. So there
is one place that builds prompts, one that sets up backends (with the tree
agent backends read), and one that honours --dry-run: a dry run builds every
request and returns before any backend is even created.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewer.chat import Answer, Conversation
    from reviewer.config import Config
    from reviewer.diff import Diff
    from reviewer.filters import Skipped
    from reviewer.prompts import Templates
    from reviewer.review import BackendPool, Budget, Plan, Progress, Review

AGENT_PROTOCOLS = frozenset({"claude-code", "opencode"})


@dataclass(frozen=True)
class Change:
    """What a source hands the run."""

    diff: Diff  # what is reviewed
    description: str  # the author's words (PR title and body, or how the local range was chosen): untrusted
    skipped: tuple[Skipped, ...] = ()  # changed files the source could not put into the diff, each with why
    whole: Diff | None = None  # what the walkthrough describes, when more than `diff` (an incremental PR review)
    tree: Path | None = None  # the files after the change, for agent backends; None where there is none
    # False when `tree` is only near the change's new side (a local --staged or --range review reads the working
    # tree): agents still read it, but code context and tools, which cite its line numbers, do not.
    tree_exact: bool = True
    notes: tuple[str, ...] = ()  # what the source wants said in the output


@dataclass(frozen=True)
class Setup:
    """How to review: the trusted configuration, templates and guidelines."""

    config: Config
    templates: Templates
    guidelines: str


@dataclass(frozen=True)
class Run:
    plan: Plan
    review: Review | None  # None for a dry run: nothing was sent
    refused: str | None = None  # why nothing was sent: the estimate is over max_cost_usd (the review says so too)


def over_limit(planned: Plan, config: Config) -> str | None:
    """Why the whole run is not sent: the estimate (as --dry-run makes it) is over max_cost_usd; else None."""
    from reviewer.review import estimated_total, utc_now

    limit = config.review.max_cost_usd
    estimate = estimated_total(planned, config, utc_now())
    if limit is None or estimate <= limit:
        return None
    count = len(planned.requests)
    return (
        f"not sent: the review is estimated at ${estimate:.4f} ({count} request{'s' if count != 1 else ''}, before sending any), "
        f"more than all of the max_cost_usd limit of ${limit:.4f}; raise it with --max-cost (or review.max_cost_usd)"
    )


def code_tree(change: Change) -> Path | None:
    """The tree code context is read from: the change's, when it holds exactly the files after the change."""
    return change.tree if change.tree_exact else None


def wants_tree(config: Config, tasks: tuple[str, ...]) -> bool:
    """Whether a review would read the change's tree for code context or tools, when there is one (not required)."""
    return "review" in tasks and (config.review.context_tokens > 0 or config.review.tools)


def needs_tree(config: Config, tasks: tuple[str, ...]) -> bool:
    """Whether a backend routed for these tasks is an agent, which reads the repository itself."""
    names = {n for task in tasks for n in config.routes.for_task(task)}
    from reviewer.config import ROUTED

    # A rule may send its files to a backend another task routes (routing.candidates): count those too.
    routed = {n for task in ROUTED for n in config.routes.for_task(task)}
    names |= {n for rule in config.routes.rules for n in rule.backends if n in routed}
    return any(config.backend(n).protocol in AGENT_PROTOCOLS for n in names)


def plan(change: Change, setup: Setup, tasks: tuple[str, ...], meanwhile: Callable[[], None] | None = None) -> Plan:
    """Every request of the run, built and not sent. The walkthrough is of the whole change.

    When the review and the walkthrough are of the same diff they are planned together, so that
    one request can answer both where one backend serves both tasks. `meanwhile` is done while
    a large diff is read (reviewer.review.reads_aside).
    """
    from reviewer.known import Known
    from reviewer.review import plan_review

    def one(diff: Diff, tasks: tuple[str, ...]) -> Plan:
        return plan_review(
            diff, setup.config, setup.templates, description=change.description, guidelines=setup.guidelines, tasks=tasks,
            tree=code_tree(change), meanwhile=meanwhile,
        )

    if change.whole is None:
        parts = [one(change.diff, tasks)]
    else:
        parts = [one(change.whole if task == "summarize" else change.diff, (task,)) for task in tasks]
    skipped = tuple(dict.fromkeys(s for p in parts for s in p.skipped))  # a file can be skipped for both tasks
    # The secrets of the whole change, not only of what is reviewed again: the trees and the answers mask them all.
    known = parts[0].known if len(parts) == 1 else Known({value: shown for p in parts for value, shown in p.known.values.items()})
    return dataclasses.replace(
        parts[0], requests=tuple(r for p in parts for r in p.requests), skipped=tuple(dict.fromkeys(change.skipped + skipped)), known=known
    )


def run(
    change: Change,
    setup: Setup,
    env: Mapping[str, str],
    tasks: tuple[str, ...],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    pool: BackendPool | None = None,  # an eval arm shares one across its cases
    budget: Budget | None = None,  # an eval suite holds one cost limit across its cases
) -> Run:
    from reviewer import read_ahead
    from reviewer.filters import Skipped
    from reviewer.redact import redact
    from reviewer.review import BackendPool, Budget, run_review
    from reviewer.verify import verify

    planned = plan(change, setup, tasks, meanwhile=None if dry_run else functools.partial(read_ahead.read, setup.config))
    if dry_run:
        return Run(planned, None)
    pool = pool or BackendPool(
        setup.config, env, workdir=change.tree, diff=change.whole or change.diff, exact_tree=change.tree_exact, known=planned.known
    )
    refused = None if budget is not None else over_limit(planned, setup.config)  # an eval suite's budget spans its cases
    if refused:
        # Nothing is sent; the secrets committed are still reported (they need no request). The files left out are
        # listed through the run's redaction (a name can hold a secret).
        left_out = tuple(Skipped(p, f"not reviewed: {refused}") for p in dict.fromkeys(p for r in planned.requests for p in r.paths))
        unsent = dataclasses.replace(planned, requests=(), skipped=planned.skipped + left_out)
        review = run_review(unsent, change.whole or change.diff, pool, description=change.description)
        review = dataclasses.replace(review, errors=(refused,), incomplete=True)
        return Run(planned, review, refused)
    budget = budget or Budget(setup.config.review.max_cost_usd)  # the verification pass spends from it too
    pool.preflight(planned.requests)
    if planned.requests and progress:
        files = len({p for r in planned.requests for p in r.paths})
        progress(f"sending {len(planned.requests)} request(s) for {files} file(s); thinking can take minutes")
    # With nothing to send (only a .env changed) the review still reports the secrets committed. Findings are
    # placed once, against the whole change (a PR's diff as GitHub has it): that is what gets posted.
    review = run_review(
        planned, change.whole or change.diff, pool, description=change.description, on_progress=progress, budget=budget,
        incremental=change.whole is not None,
    )
    review = verify(review, planned, change.whole or change.diff, setup.templates, pool, budget, tree=code_tree(change))
    if change.notes:  # the source's words can name a file, and a name can hold a secret: masked as the review was
        review = dataclasses.replace(review, notes=review.notes + tuple(redact(n, planned.known) for n in change.notes))
    return Run(planned, review)


def answer(conversation: Conversation, diff: Diff, setup: Setup, env: Mapping[str, str], *, tree: Path | None = None) -> Answer:
    """One answer to a person's question on a change (`[routes] chat`), with the same backends, fallbacks and cost limit as a review."""
    from reviewer.chat import Answer, plan_answer
    from reviewer.redact import redact
    from reviewer.review import BackendPool, Budget, ask, utc_now

    request = plan_answer(conversation, diff, setup.config, setup.templates, setup.guidelines, tree)
    pool = BackendPool(setup.config, env, workdir=tree, diff=diff, known=request.known)
    pool.preflight((request,))
    outcome = ask(request, pool, utc_now, Budget(setup.config.review.max_cost_usd))
    if outcome.answered is None:
        error = redact(outcome.errors[-1] if outcome.errors else "the request failed", request.known)
        return Answer("", None, outcome.cost_usd, error)
    return Answer(redact(outcome.text, request.known), outcome.answered.backend, outcome.cost_usd)
