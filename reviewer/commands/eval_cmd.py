"""`reviewer eval SUITE`: run an evaluation suite through each template variant and backend, and score it."""

from __future__ import annotations

import dataclasses
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
    from reviewer.prompts import Templates
    from reviewer.repo_files import RepoFiles
    from reviewer.review import BackendPool, Budget, Plan

DEFAULT_VARIANT = "default"
# What the prompt says the change is. Never the case's folder name: that often names the bug to find.
CASE_DESCRIPTION = "a proposed change"


@dataclass(frozen=True)
class Arm:
    """One column of the comparison: a template variant on a backend."""

    name: str
    templates: Templates
    pool: BackendPool


@dataclass(frozen=True)
class Job:
    arm: int  # index into the arms
    case: Case
    plan: Plan


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
@review_options(omit=("backend", "fail_on", "dry_run", "verbose"))
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
    from reviewer.publishers import evaluation as report
    from reviewer.repo_files import WorkingTree
    from reviewer.review import Budget, plan_review
    from reviewer.sources.git import find_root

    cases = load_suite(suite)
    root = find_root(Path.cwd())
    files = WorkingTree(root) if root else None
    base = build_config(opts, files)
    arms = _arms(opts, files, base, _variants(files, variant_specs), backend_names)
    guidelines = load_guidelines(base, files)
    # Every prompt is built, and every backend set up, before the first request: a bad template or a
    # missing key stops the run at once rather than after half the suite has been paid for.
    jobs = []
    for index, arm in enumerate(arms):
        for case in cases:
            plan = plan_review(case.diff, arm.pool.config, arm.templates, description=CASE_DESCRIPTION, guidelines=guidelines)
            arm.pool.preflight(plan.requests)
            jobs.append(Job(index, case, plan))
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
    opts: RunOptions, files: RepoFiles | None, base: Config, variants: list[tuple[str, Templates]], backend_names: tuple[str, ...]
) -> list[Arm]:
    from reviewer.review import BackendPool

    if backend_names and opts.base_url:
        raise ConfigError("--backend and --base-url exclude each other: --base-url is the one backend of the run")
    configs = [(f"@{b}", build_config(dataclasses.replace(opts, backend=b), files)) for b in backend_names]
    pools = [(suffix, BackendPool(_one_case_at_a_time(c), environ())) for suffix, c in configs or [("", base)]]
    return [Arm(name + suffix, templates, pool) for name, templates in variants for suffix, pool in pools]


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
        result = _run_case(job, arms[job.arm].pool, budget)
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


def _run_case(job: Job, pool: BackendPool, budget: Budget) -> CaseRun:
    from reviewer.evaluation import CaseRun, score
    from reviewer.review import run_review

    started = time.monotonic()
    # One budget for the whole suite: every request of every case is reserved against it.
    review = run_review(job.plan, job.case.diff, pool, description=CASE_DESCRIPTION, budget=budget)
    seconds = time.monotonic() - started
    findings = tuple(p.finding for p in review.findings)
    scored = None if review.incomplete else score(findings, job.case.expected, job.case.changed_lines)
    return CaseRun(job.case.name, scored, findings, review.usage.prompt_tokens, review.cost_usd, seconds, review.errors)
