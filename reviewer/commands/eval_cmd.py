"""`reviewer eval SUITE`: run an evaluation suite through each template variant and backend, and score it."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import RunOptions, build_config, environ, load_guidelines, progress_printer, review_options
from reviewer.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from reviewer.config import Config
    from reviewer.evaluation import Case, CaseRun, VariantRun
    from reviewer.pipeline import Setup
    from reviewer.prompts import Templates
    from reviewer.repo_files import RepoFiles
    from reviewer.review import BackendPool, Budget

DEFAULT_VARIANT = "default"
# What the prompt says the change is. Never the case's folder name: that often names the bug to find.
CASE_DESCRIPTION = "a proposed change"


@dataclass(frozen=True)
class Arm:
    """One column of the comparison: a template variant on a backend."""

    name: str
    setup: Setup
    pool: BackendPool  # shared by the arm's cases; an agent arm's only sets its backends up (each case has its own tree)
    agents: bool


@dataclass(frozen=True)
class Job:
    arm: int  # index into the arms
    case: Case


@click.command("eval")
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
@review_options(omit=("backend", "fail_on", "dry_run"))
def eval_suite(opts: RunOptions, suite: Path, variant_specs: tuple[str, ...], backend_names: tuple[str, ...]) -> int:
    """Run the evaluation suite SUITE and print recall, noise, tokens, cost and time per variant.

    \b
    SUITE holds one folder per case, each with diff.patch (as `git diff` writes
    it) and expected.json ({"must_find": [...], "must_not_flag": [...]}). The
    variant "default" is the templates in effect; --variant adds others.
    Exit 0 when every case was scored, 3 when a backend failure left some
    unscored (the rest is still printed), 2 for a bad suite or option.
    """
    from reviewer.evaluation import load_suite
    from reviewer.pipeline import Change, plan
    from reviewer.publishers import evaluation as report
    from reviewer.repo_files import WorkingTree
    from reviewer.review import Budget
    from reviewer.sources.git import find_root

    cases = load_suite(suite)
    root = find_root(Path.cwd())
    files = WorkingTree(root) if root else None
    base = build_config(opts, files)
    arms = _arms(opts, files, base, _variants(files, variant_specs), backend_names, load_guidelines(base, files))
    # Every prompt is built, and every backend set up, before the first request: a bad template or a
    # missing key stops the run at once rather than after half the suite has been paid for.
    jobs = []
    for index, arm in enumerate(arms):
        for case in cases:
            arm.pool.preflight(plan(Change(case.diff, CASE_DESCRIPTION), arm.setup, ("review",)).requests)
            jobs.append(Job(index, case))
    runs = _run(jobs, arms, base.review.concurrency, Budget(base.review.max_cost_usd), progress_printer())
    click.echo(report.render(runs, opts.output_format), nl=False)
    return ExitCode.INCOMPLETE if any(r.unscored for r in runs) else ExitCode.OK


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
    guidelines: str,
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
    return [Arm(name + suffix, Setup(config, templates, guidelines), pool, agents) for name, templates in variants for suffix, config, pool, agents in arms]


def _one_case_at_a_time(config: Config) -> Config:
    """Within a case, one request at a time and no cost limit of its own.

    The run spreads --concurrency across cases and holds --max-cost for the whole suite;
    a case that kept its own would multiply both.
    """
    review = dataclasses.replace(config.review, concurrency=1, max_cost_usd=None)
    return dataclasses.replace(config, review=review)


def _run(
    jobs: list[Job], arms: list[Arm], concurrency: int, budget: Budget, progress: Callable[[str], None] | None
) -> list[VariantRun]:
    from reviewer.evaluation import VariantRun

    done = 0
    lock = threading.Lock()

    def work(job: Job) -> CaseRun:
        nonlocal done
        result = _run_case(job, arms[job.arm], budget)
        with lock:
            done += 1
            if progress:
                progress(f"{done}/{len(jobs)} cases reviewed ({arms[job.arm].name}: {job.case.name})")
        return result

    with ThreadPoolExecutor(max_workers=concurrency) as executor:
        results = list(executor.map(work, jobs))
    return [
        VariantRun(arm.name, tuple(r for job, r in zip(jobs, results, strict=True) if job.arm == index))
        for index, arm in enumerate(arms)
    ]


def _run_case(job: Job, arm: Arm, budget: Budget) -> CaseRun:
    from reviewer.evaluation import CaseRun, score
    from reviewer.pipeline import Change, run
    from reviewer.sources.diff_tree import materialise

    started = time.monotonic()
    change = Change(job.case.diff, CASE_DESCRIPTION)
    # One budget for the whole suite: every request of every case is reserved against it.
    if arm.agents:
        with tempfile.TemporaryDirectory(prefix="reviewer-case-") as holder:
            tree = materialise(job.case.diff, Path(holder) / "tree")
            review = run(dataclasses.replace(change, tree=tree), arm.setup, environ(), ("review",), budget=budget).review
    else:
        review = run(change, arm.setup, environ(), ("review",), pool=arm.pool, budget=budget).review
    assert review is not None  # not a dry run
    seconds = time.monotonic() - started
    findings = tuple(p.finding for p in review.findings)
    scored = None if review.incomplete else score(findings, job.case.expected, job.case.changed_lines)
    return CaseRun(job.case.name, scored, findings, review.usage.prompt_tokens, review.cost_usd, seconds, review.errors)
