"""`reviewer eval SUITE`: run an evaluation suite through each template variant and backend, and score it.

Each case goes through the one run (`pipeline.run`) as a `Change`; cases with
golden comments are then judged by the `[routes] judge` backend. A saved
`--format json` run can be scored again without a request (`--replay`) and
compared with the current one (`--baseline`). `reviewer eval import` makes a
suite from the Martian code-review benchmark's golden comments.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer import scratch, threads
from reviewer.commands.common import RunOptions, build_config, environ, load_guidelines, progress_printer, review_options
from reviewer.errors import ConfigError, ExitCode
from reviewer.learnings import LEARNINGS_FILE

if TYPE_CHECKING:
    from reviewer.config import Config
    from reviewer.evaluation import Case, CaseRun, VariantRun
    from reviewer.findings import Finding
    from reviewer.pipeline import Change, Setup
    from reviewer.prompts import Templates
    from reviewer.repo_files import RepoFiles
    from reviewer.review import BackendPool, Budget

DEFAULT_VARIANT = "default"
NO_LEARNINGS = "-no-learnings"  # the suffix of a variant run without .reviewer/learnings.md (--compare-learnings)
# What the prompt says the change is. Never the case's folder name: that often names the bug to find.
CASE_DESCRIPTION = "a proposed change"
DEFAULT_THRESHOLD = 0.05

COLUMNS_HELP = """
\b
Columns (per variant; `total` sums every variant's cases):
  variant    the templates (default, or --variant NAME), @backend with
             --backend; "(N unscored)" when a failure left cases unscored
  recall     expected issues found: golden comments the judge matched and
             must_find entries hit, of all of them
  precision  findings that match an expected issue, of all findings on
             cases that expect one
  F1         2 x precision x recall / (precision + recall)
  false pos  clean cases (no golden comment, no must_find) with any
             finding, of all clean cases
  per case   findings per scored case
  cost       what the review requests cost (the judge's is on its line)
  time       seconds, summed over cases
Below the table, one line per case: issues found, findings, what was missed.
"""


@dataclass(frozen=True)
class Arm:
    """One column of the comparison: a template variant on a backend."""

    name: str
    setup: Setup
    pool: BackendPool  # shared by the arm's cases; an agent arm's only sets its backends up (each case has its own tree)
    agents: bool


@dataclass(frozen=True)
class Judge:
    """Who decides whether a finding matches a golden comment: the judge route, with the judge templates."""

    label: str  # "backend (model)", named in the output
    backends: tuple[str, ...]  # fallback order
    pool: BackendPool
    templates: Templates


@dataclass(frozen=True)
class Job:
    arm: int  # index into the arms
    case: Case


@click.command("eval", epilog=COLUMNS_HELP)
@click.argument("suite", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--variant",
    "variant_specs",
    multiple=True,
    metavar="NAME=DIR",
    help="Also run the templates in DIR (laid out like .reviewer/prompts/; may extend packaged/NAME). Repeatable.",
)
@click.option(
    "--backend",
    "backend_names",
    multiple=True,
    metavar="NAME",
    help="Run every variant on this configured backend, named VARIANT@NAME. Repeatable.",
)
@click.option(
    "--compare-learnings",
    is_flag=True,
    help="Run every variant twice: with the repository's .reviewer/learnings.md (NAME) and without it (NAME-no-learnings).",
)
@click.option("--replay", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Score the answers saved in FILE (an earlier --format json run) again; send nothing.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Compare with FILE (an earlier --format json run); exit 1 on a regression.")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="With --baseline: how far recall or precision may fall, or the false-positive rate rise, before it is a regression.",
)
@review_options(omit=("backend", "fail_on", "dry_run", "verbose", "compare"))
def eval_suite(
    opts: RunOptions,
    suite: Path,
    variant_specs: tuple[str, ...],
    backend_names: tuple[str, ...],
    compare_learnings: bool,
    replay: Path | None,
    baseline: Path | None,
    threshold: float,
) -> int:
    """Run the evaluation suite SUITE and print recall, precision, F1 and false positives per variant.

    \b
    SUITE holds one folder per case, each with diff.patch (as `git diff` writes
    it) and expected.json ({"must_find": [...], "must_not_flag": [...],
    "golden": [{"comment": "...", "severity": "high"}]}). Golden comments are
    matched by an LLM judge (the [routes] judge backend; it follows review
    unless set). The variant "default" is the templates in effect; --variant
    adds others. `reviewer eval import FOLDER SUITE` makes a suite from the
    Martian code-review benchmark's golden comments.
    Save a run with --format json > run.json: --replay run.json scores it again
    offline, --baseline run.json gates a later run in CI.
    Exit 0 when every case was scored, 1 on a regression against --baseline,
    3 when a backend failure left some cases unscored, 2 for a bad suite or
    option.
    """
    from reviewer import eval_saved
    from reviewer.evaluation import load_suite
    from reviewer.publishers import evaluation as report

    cases = load_suite(suite)
    before = eval_saved.read(baseline) if baseline else None
    if replay:
        if variant_specs or backend_names or compare_learnings or opts.base_url or opts.model or opts.effort:
            raise ConfigError("--replay scores a saved run again: --variant, --backend, --compare-learnings, --base-url, --model and --effort do not apply")
        runs = eval_saved.replay(eval_saved.read(replay), cases, str(replay))
    else:
        runs = _evaluate(opts, cases, variant_specs, backend_names, compare_learnings)
    comparison = eval_saved.compare(before, runs, threshold, str(baseline)) if before is not None else None
    click.echo(report.render(runs, opts.output_format, comparison), nl=False)
    if comparison is not None and comparison.regressions:
        return ExitCode.FINDINGS
    return ExitCode.INCOMPLETE if any(r.unscored for r in runs) else ExitCode.OK


def _evaluate(
    opts: RunOptions, cases: tuple[Case, ...], variant_specs: tuple[str, ...], backend_names: tuple[str, ...], compare_learnings: bool
) -> list[VariantRun]:
    from reviewer import pipeline
    from reviewer.repo_files import WorkingTree
    from reviewer.review import Budget
    from reviewer.sources.git import find_root

    root = find_root(Path.cwd())
    files = WorkingTree(root) if root else None
    base = build_config(opts, files)
    guidelines = [("", load_guidelines(base, files))]
    if compare_learnings:
        without = load_guidelines(base, files, learnings=False)
        if without == guidelines[0][1]:
            raise ConfigError(f"--compare-learnings: there are no learnings to compare ({LEARNINGS_FILE} is missing or empty, or [review] learnings is off)")
        guidelines.append((NO_LEARNINGS, without))
    variants = _variants(files, variant_specs)
    arms = _arms(opts, files, base, variants, backend_names, guidelines)
    judge = _judge(base, variants[0][1]) if any(c.expected.golden for c in cases) else None
    # Every prompt is built, and every backend set up, before the first request: a bad template or a
    # missing key stops the run at once rather than after half the suite has been paid for.
    jobs = []
    for index, arm in enumerate(arms):
        for case in cases:
            arm.pool.preflight(pipeline.plan(_change(case), arm.setup, ("review",)).requests)
            jobs.append(Job(index, case))
    if judge is not None:
        _set_up(judge)
    runs = _run(jobs, arms, judge, base.review.concurrency, Budget(base.review.max_cost_usd), progress_printer())
    return [dataclasses.replace(r, judge=judge.label if judge else None) for r in runs]


def _change(case: Case) -> Change:
    from reviewer.pipeline import Change

    return Change(case.diff, CASE_DESCRIPTION)


def _variants(files: RepoFiles | None, specs: tuple[str, ...]) -> list[tuple[str, Templates]]:
    from reviewer.prompts import Templates, overrides_from
    from reviewer.repo_files import WorkingTree

    variants = [(DEFAULT_VARIANT, Templates(overrides_from(files)))]
    for spec in specs:
        name, sep, folder = spec.partition("=")
        name = name.strip()
        if not sep or not name or not folder:
            raise ConfigError(f"--variant {spec!r}: write it as NAME=DIR, e.g. --variant terse=prompts-terse")
        if "@" in name:  # the backend's suffix would make two variants' names ambiguous
            raise ConfigError(f"--variant {spec!r}: a variant name cannot contain '@'")
        if name in (n for n, _ in variants):
            raise ConfigError(f"--variant {spec!r}: there is already a variant named {name!r}")
        if not Path(folder).is_dir():
            raise ConfigError(f"--variant {spec!r}: {folder} is not a folder of templates")
        variants.append((name, Templates(overrides_from(WorkingTree(Path(folder)), "."))))
    return variants


def _arms(
    opts: RunOptions,
    files: RepoFiles | None,
    base: Config,
    variants: list[tuple[str, Templates]],
    backend_names: tuple[str, ...],
    guidelines: list[tuple[str, str]],  # (name suffix, guidelines): with the learnings, and without them when compared
) -> list[Arm]:
    from reviewer.pipeline import Setup, needs_tree
    from reviewer.review import BackendPool

    if backend_names and opts.base_url:
        raise ConfigError("--backend and --base-url exclude each other: --base-url is the one backend of the run")
    configs = [(f"@{b}", _one_case_at_a_time(build_config(dataclasses.replace(opts, backend=b), files))) for b in backend_names]
    arms = []
    for suffix, config in configs or [("", _one_case_at_a_time(base))]:
        agents = needs_tree(config, ("review",))
        # An agent backend is only set up here (executable, key); each case gives it a tree of its own.
        pool = BackendPool(config, environ(), workdir=Path.cwd() if agents else None)
        arms += [(suffix, config, pool, agents)]
    return [
        Arm(name + learned + suffix, Setup(config, templates, text), pool, agents)
        for name, templates in variants
        for learned, text in guidelines
        for suffix, config, pool, agents in arms
    ]


def _judge(base: Config, templates: Templates) -> Judge:
    """The judge route (it follows review unless set), with the default templates whatever the variant:
    a variant changes what is judged, never the judge."""
    from reviewer import routing
    from reviewer.review import BackendPool

    names, why_not = routing.candidates(base, "judge")
    if not names:
        raise ConfigError(f"no backend may judge golden comments: {why_not}")
    first = base.backend(names[0])
    return Judge(f"{first.name} ({first.model})", names, BackendPool(_one_case_at_a_time(base), environ()), templates)


def _set_up(judge: Judge) -> None:
    """A judge route none of whose backends can even be set up (no key...) stops the run before it starts."""
    from reviewer.errors import ReviewerError

    problems: list[ReviewerError] = []
    for name in judge.backends:
        try:
            judge.pool.get(name)
            return
        except ReviewerError as exc:
            problems.append(exc)
    raise problems[0]


def _one_case_at_a_time(config: Config) -> Config:
    """Within a case, one request at a time and no cost limit of its own.

    The run spreads --concurrency across cases and holds --max-cost for the whole suite;
    a case that kept its own would multiply both.
    """
    review = dataclasses.replace(config.review, concurrency=1, max_cost_usd=None)
    return dataclasses.replace(config, review=review)


def _run(
    jobs: list[Job], arms: list[Arm], judge: Judge | None, concurrency: int, budget: Budget, progress: Callable[[str], None] | None
) -> list[VariantRun]:
    from reviewer.evaluation import VariantRun

    done = 0
    lock = threading.Lock()
    env = environ()

    def work(job: Job) -> CaseRun:
        nonlocal done
        result = _run_case(job, arms[job.arm], judge, budget, env)
        with lock:
            done += 1
            if progress:
                progress(f"{done}/{len(jobs)} cases reviewed ({arms[job.arm].name}: {job.case.name})")
        return result

    results = threads.each(work, jobs, concurrency)  # Ctrl-C waits for no case still thinking
    return [
        VariantRun(arm.name, tuple(r for job, r in zip(jobs, results, strict=True) if job.arm == index))
        for index, arm in enumerate(arms)
    ]


def _run_case(job: Job, arm: Arm, judge: Judge | None, budget: Budget, env: Mapping[str, str]) -> CaseRun:
    from reviewer import pipeline
    from reviewer.evaluation import CaseRun, score
    from reviewer.sources.diff_tree import materialise

    started = time.monotonic()
    change = _change(job.case)
    # One budget for the whole suite: every request of every case is reserved against it.
    if arm.agents:
        with scratch.folder("reviewer-case-") as holder:
            tree = materialise(job.case.diff, Path(holder) / "tree")
            review = pipeline.run(dataclasses.replace(change, tree=tree), arm.setup, env, ("review",), budget=budget).review
    else:
        review = pipeline.run(change, arm.setup, env, ("review",), pool=arm.pool, budget=budget).review
    assert review is not None  # not a dry run
    seconds = time.monotonic() - started
    findings = tuple(p.finding for p in review.findings)
    # Shown (and saved) by the names the model was shown, redacted; scored on the files' paths, as expected.json gives them.
    on_real_paths = tuple(dataclasses.replace(p.finding, path=p.path) for p in review.findings)
    verify = review.verify_usage
    run = CaseRun(
        job.case.name, None, findings, review.usage.prompt_tokens, review.cost_usd, seconds, review.errors,
        answered_by=tuple(dict.fromkeys(a.backend for a in review.answered)),
        context_tokens=review.context_tokens, verify_tokens=verify.prompt_tokens + verify.completion_tokens, verify_cost_usd=review.verify_cost_usd,
    )
    if review.incomplete:
        return run
    verdict = _ask_judge(judge, job.case, findings, budget) if judge and job.case.expected.golden and findings else None
    if verdict is not None and verdict.matches is None:
        return dataclasses.replace(run, errors=run.errors + verdict.errors, judge_prompt_tokens=verdict.prompt_tokens, judge_cost_usd=verdict.cost_usd)
    matches = verdict.matches if verdict else ()
    return dataclasses.replace(
        run,
        score=score(on_real_paths, job.case.expected, job.case.changed_lines, matches or ()),
        matches=matches if job.case.expected.golden else None,
        judged=tuple(g.comment for g in job.case.expected.golden),
        judge_prompt_tokens=verdict.prompt_tokens if verdict else 0,
        judge_cost_usd=verdict.cost_usd if verdict else 0.0,
    )


@dataclass(frozen=True)
class Verdict:
    matches: tuple[tuple[int, int], ...] | None  # None: no usable answer
    prompt_tokens: int
    cost_usd: float
    errors: tuple[str, ...]


def _ask_judge(judge: Judge, case: Case, findings: tuple[Finding, ...], budget: Budget) -> Verdict:
    """The judge's matches for one case: each backend of the route in turn, an unusable answer asked again once."""
    import secrets

    from reviewer import judge as judging
    from reviewer import pricing
    from reviewer.backends.base import Usage
    from reviewer.budget import expected_output_tokens
    from reviewer.errors import BackendError, ReviewerError
    from reviewer.review import utc_now
    from reviewer.tokens import count as count_tokens

    messages = judge.templates.messages("judge", judging.context(case.expected.golden, findings, secrets.token_hex(8)))
    tokens = sum(count_tokens(m.content) for m in messages)
    usage, cost, errors = Usage(), 0.0, []
    for name in judge.backends:
        try:
            backend = judge.pool.get(name)
        except ReviewerError as exc:
            errors.append(f"judge: {exc}")
            continue
        for _attempt in (1, 2):
            estimate = pricing.cost(backend.config, Usage(1, tokens, 0, expected_output_tokens(backend.config.effort, tokens), 0), utc_now())
            if not budget.reserve(estimate):
                errors.append(
                    f"judge: not sent: the judge request for {case.name} is estimated at ${estimate:.4f}, over what is left "
                    f"of the max_cost_usd limit of ${budget.limit or 0:.4f}; raise it with --max-cost"
                )
                return Verdict(None, usage.prompt_tokens, cost, tuple(errors))
            try:
                completion = backend.complete(messages)
            except BackendError as exc:
                spent = pricing.cost(backend.config, exc.usage, utc_now()) if exc.usage else 0.0
                budget.settle(estimate, spent)
                usage, cost = usage + (exc.usage or Usage()), cost + spent
                errors.append(f"judge: {exc}")
                break
            spent = pricing.cost(backend.config, completion.usage, utc_now())
            budget.settle(estimate, spent)
            usage, cost = usage + completion.usage, cost + spent
            matches = judging.parse_matches(completion.text, len(findings), len(case.expected.golden))
            if matches is not None:
                return Verdict(matches, usage.prompt_tokens, cost, ())
        else:
            errors.append(f"judge: {name} answered without a usable \"matches\" object twice")
    return Verdict(None, usage.prompt_tokens, cost, tuple(errors))


@click.command("eval import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("suite", type=click.Path(path_type=Path, file_okay=False))
@click.option("--token", help="GitHub token (default: $GITHUB_TOKEN).")
def eval_import(folder: Path, suite: Path, token: str | None) -> int:
    """Make a suite from a folder of the Martian code-review benchmark's golden comments.

    \b
    FOLDER holds golden_comments/*.json (or the JSON files themselves): per
    pull request its URL and the comments a human reviewer made, each with a
    severity. Each pull request becomes a case folder in SUITE, FILE-NUMBER,
    with its diff fetched through the GitHub API (GITHUB_API_URL is honoured)
    and its golden comments in expected.json. A case folder that exists
    already is kept, so an interrupted import picks up where it stopped.
    """
    import json

    from reviewer.commands.common import note
    from reviewer.config import GitHubSettings
    from reviewer.diff import parse_diff
    from reviewer.eval_import import read_folder
    from reviewer.evaluation import DIFF_FILE, EXPECTED_FILE
    from reviewer.github.api import api_url, connect, github_errors, parse_ref
    from reviewer.github.pull import GitHubPull

    pulls = read_folder(folder)
    env = environ()
    made = kept = 0
    with github_errors():
        for pull in pulls:
            target = suite / pull.case
            if target.exists():
                kept += 1
                continue
            ref = parse_ref(pull.url, None, None)
            diff = GitHubPull.open(connect(token or env.get("GITHUB_TOKEN"), api_url(env, ref), GitHubSettings(seconds_between_writes=0.0)), ref).text(None)
            if parse_diff(diff.text).empty:
                note(f"reviewer: {pull.url}: GitHub sent no diff this reviewer can read; no case made")
                continue
            target.mkdir(parents=True)
            (target / DIFF_FILE).write_text(diff.text, encoding="utf-8")
            (target / EXPECTED_FILE).write_text(json.dumps({"golden": list(pull.golden)}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            for skipped in diff.skipped:
                note(f"reviewer: {pull.case}: {skipped.path} left out: {skipped.reason}")
            made += 1
    note(f"reviewer: {made} case(s) made in {suite}, {kept} kept as they were")
    return ExitCode.OK
