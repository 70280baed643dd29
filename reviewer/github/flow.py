"""A pull request through the one run: whether to review it, what the change is, and delivering the result.

`review_pull` turns a GitHubPull into a pipeline Change (incremental since the
last reviewed head where it can be, the tree an agent reads when one is
routed) and runs it; `deliver` posts the result, falling back to annotations
and a job summary when the token cannot write. The commands (`pr`, `action`,
`summarize`) are thin wrappers around these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewer.config import Config, GitHubSettings
from reviewer.errors import PublishError
from reviewer.github.comments import PullReview

if TYPE_CHECKING:
    from reviewer.diff import Diff
    from reviewer.github.api import PullInfo
    from reviewer.github.comments import PostedState
    from reviewer.github.pull import GitHubPull
    from reviewer.pipeline import Setup
    from reviewer.review import Plan, Progress
    from reviewer.sources.checkout import PullHead

Note = Callable[[str], None]
# Gives the tree an agent backend reads for a PR's head, for as long as the run needs it.
TreeSource = Callable[["PullHead"], AbstractContextManager[Path]]


@dataclass(frozen=True)
class Reviewed:
    """What `review_pull` did: a review to deliver, a dry run's plan, or neither (skipped, nothing new)."""

    pr_review: PullReview | None = None
    plan: Plan | None = None
    # Severities of our earlier comments that still stand (not fixed, declined or conceded) and that this run
    # did not look at again: a rerun, or a push elsewhere, must not turn a failing --fail-on gate green.
    standing: tuple[str, ...] = ()


def standing(state: PostedState, reviewed_paths: frozenset[str] | None) -> tuple[str, ...]:
    """Severities of our earlier comments still open, outside `reviewed_paths` (None: all of them)."""
    gone = state.memory.fixed | state.memory.dismissed
    return tuple(
        c.severity
        for c in state.comments
        if c.severity and not (c.dismissed or c.wrong or c.acknowledged or c.fingerprint in gone)
        and (reviewed_paths is None or c.path not in reviewed_paths)
    )


class Undelivered(PublishError):
    """GitHub did not take the review; it is saved, and the run still reports its findings."""


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
    """Why the PR is too large to review by the line or file limits (off unless set; by default the
    gate is the cost: pipeline.over_limit); the summary comment says so."""
    if settings.max_files and info.changed_files > settings.max_files:
        return f"{info.changed_files:,} changed files, over github.max_files = {settings.max_files:,}"
    if settings.max_changed_lines and info.changed_lines > settings.max_changed_lines:
        return f"{info.changed_lines:,} changed lines, over github.max_changed_lines = {settings.max_changed_lines:,}"
    return None


def settings_note(diff: Diff, config: Config) -> tuple[str, ...]:
    """A PR that edits the reviewer's own settings is reviewed by the base branch's; the summary says so."""
    from reviewer.redact import redact_each
    from reviewer.repo_files import settings_paths

    changed = [f.path for f in diff.files if f.path in settings_paths(config) or f.path.startswith(".reviewer/")]
    if not changed:
        return ()
    # Named as everywhere we write a file's name: redacted, each on its own (in a sentence, some patterns would miss it).
    return (
        f"this pull request changes the reviewer's settings ({', '.join(redact_each(changed))}); changes to review rules "
        "take effect after merge: this review followed the base branch's",
    )


def review_pull(
    pull: GitHubPull,
    setup: Setup,
    env: Mapping[str, str],
    *,
    tasks: tuple[str, ...] = ("review", "summarize"),
    full: bool,
    explicit: bool,
    checkout: Path | None,  # a local clone that can fill in patches GitHub leaves out
    tree_source: TreeSource,
    dry_run: bool,
    note: Note,
    progress: Progress | None = None,
) -> Reviewed:
    """Review the PR (or only what is new since our last review), or say why not."""
    from reviewer import read_ahead
    from reviewer.diff import within
    from reviewer.pipeline import Change, needs_tree, run, wants_tree
    from reviewer.review import Review, reads_aside
    from reviewer.sources.checkout import optional
    from reviewer.vocabulary import Usage

    config, info, ref = setup.config, pull.info, pull.ref
    skipped_why = skip_reason(info, config.github, explicit=explicit)
    if skipped_why:
        note(f"reviewer: not reviewing {ref.repo}#{ref.number}: {skipped_why}")
        return Reviewed()
    too_large = size_reason(info, config.github)
    if too_large:
        note(f"reviewer: not reviewing {ref.repo}#{ref.number}: {too_large}")
        if dry_run:  # a dry run writes nothing, not even the summary that says so
            return Reviewed()
        empty = Review((), None, Usage(), 0.0, (), ())
        return Reviewed(PullReview(ref.repo, ref.number, info.head_sha, info.base_sha, empty, not_reviewed_reason=too_large, api_url=pull.api))
    state = pull.state(config.github.bot_login) if "review" in tasks else None
    last_head = state.last_head if state else None
    if state and last_head == info.head_sha and not full:
        note(f"reviewer: {info.head_sha[:7]} was reviewed already; nothing new to review (--full reviews it again)")
        return Reviewed(standing=standing(state, None))
    if not dry_run and not reads_aside(info.changed_lines):  # else planning imports them, beside a second process
        read_ahead.start(config, tasks=tasks)  # the SDKs of the base branch's settings, while the files are read
    tree_context: AbstractContextManager[Path | None] = nullcontext(None)
    if needs_tree(config, tasks) and not dry_run:
        tree_context = tree_source(pull.head())
    elif wants_tree(config, tasks):  # code context and tools read the head's files when a checkout can be had
        tree_context = optional(lambda: tree_source(pull.head()), note, "code context and tools")
    with tree_context as tree:
        whole = pull.whole(tree or checkout)
        target, since = whole, None
        if last_head and not full:
            changed = pull.since(last_head, tree or checkout)
            if changed is None:
                note(f"reviewer: {last_head[:7]} is no longer in the branch's history (force-push?); reviewing the whole PR")
            else:
                target, since = dataclasses.replace(changed, diff=within(changed.diff, whole.diff)), last_head
        change = Change(
            diff=target.diff,
            description=info.description,
            skipped=tuple(dict.fromkeys(whole.skipped + target.skipped)),  # a file can be in both diffs
            whole=whole.diff if since else None,  # the walkthrough describes the whole PR; comments are placed on it
            tree=tree,
            notes=settings_note(whole.diff, config),
        )
        result = run(change, setup, env, tasks, dry_run=dry_run, progress=progress)
    if result.review is None:
        return Reviewed(plan=result.plan)
    if result.refused:  # over the cost limit: the summary says what the review would have cost
        note(f"reviewer: not reviewing {ref.repo}#{ref.number}: {result.refused}")
        return Reviewed(PullReview(ref.repo, ref.number, info.head_sha, info.base_sha, result.review, not_reviewed_reason=result.refused, api_url=pull.api))
    pr_review = PullReview(ref.repo, ref.number, info.head_sha, info.base_sha, result.review, since_sha=since, api_url=pull.api)
    # An incremental run looked again only at the files it reviewed; our comments elsewhere still stand.
    earlier = standing(state, frozenset(f.path for f in target.diff.files)) if state and since else ()
    return Reviewed(pr_review, standing=earlier)


def deliver(
    pull: GitHubPull, pr_review: PullReview, settings: GitHubSettings, env: Mapping[str, str], note: Note, echo: Note, *, saved_at: Path | None = None
) -> str:
    """Post the review, or show it where the token cannot write; return the URL of what this run posted ("" for nothing new).

    When GitHub's rate limit asks for a longer wait than the run may still spend,
    the review is saved (to `saved_at` if it is in a file already) and written to
    the job summary, and the run ends with exit 3 and the time to rerun.
    """
    from reviewer.github.comments import ReadOnly
    from reviewer.github.posting import publish, publish_not_reviewed

    try:
        if pr_review.not_reviewed_reason:
            publish_not_reviewed(pull, pr_review, settings, note)
            return ""
        published = publish(pull, pr_review, settings, note)
    except ReadOnly as exc:
        note(f"reviewer: {exc}; showing the findings as annotations and in the job summary instead")
        _show_unposted(pr_review, env, "the token cannot write to this pull request", note, echo)
        return ""
    except PublishError as exc:
        # Rate-limited past the cap, or GitHub kept failing: the review was paid for, so it is kept.
        from reviewer.github.saved import save

        path = saved_at or Path(env.get("RUNNER_TEMP") or ".") / f"reviewer-review-{pr_review.number}-{pr_review.head_sha[:7]}.json"
        if saved_at is None:
            save(pr_review, path)
        where = f"{path}" + (" and in the job summary" if _show_unposted(pr_review, env, str(exc), note, None) else "")
        head = pull.pull.head
        command = (
            f"reviewer publish {path} --head-sha {pr_review.head_sha} "
            f"--head-repo {head.repo.full_name if head.repo else pull.ref.repo} --head-branch {head.ref}"
        )
        raise Undelivered(f"{exc}; the review is saved in {where}; post it later with: {command}") from None
    note(
        f"reviewer: posted {published.inline} comment{'s' if published.inline != 1 else ''}, "
        f"{published.demoted} in the summary, {published.already_posted} already posted earlier"
        + (f", {published.resolved} earlier thread{'s' if published.resolved != 1 else ''} marked fixed" if published.resolved else "")
    )
    return published.review_url or published.first_comment_url or ""


def _show_unposted(pr_review: PullReview, env: Mapping[str, str], reason: str, note: Note, echo: Note | None) -> bool:
    """The review in the job summary, and as annotations when `echo` prints them; whether a job summary was written."""
    from reviewer.github.comments import Demoted, summary_body
    from reviewer.publishers import annotations

    demoted = [Demoted(p, reason) for p in pr_review.review.findings]
    body = summary_body(pr_review, demoted, posted=0, already_posted=0, review_url=None, heading_note=f"Not posted: {reason}.")
    written = annotations.write_step_summary(env, body)
    if not written:
        note("reviewer: GITHUB_STEP_SUMMARY is not set; no job summary written")
    if echo is not None:
        for line in annotations.workflow_commands(pr_review.review.findings, elsewhere="the job summary" if written else None):
            echo(line)
    return written
