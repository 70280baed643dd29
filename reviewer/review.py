"""One run, top to bottom: select files, plan requests, ask backends, parse, place, total.

`run_review` does no I/O of its own: the backends it is handed do.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import backends as backend_registry
from reviewer import forked, pricing, read_ahead, routing, threads, tokens
from reviewer.backends.base import Backend, effort_gap
from reviewer.budget import expected_output_tokens, plan_chunks
from reviewer.config import BackendConfig, Config
from reviewer.diff import Diff, FileDiff
from reviewer.diff_text import counted_text, quoted, render_files
from reviewer.errors import BackendError, ReviewerError
from reviewer.filters import Selection, Skipped, select
from reviewer.findings import Finding, parse_answer
from reviewer.known import Known
from reviewer.placement import PlacedFinding, place
from reviewer.prompts import Templates
from reviewer.redact import Exposed, Secret, known_values, redact, redact_diff, redact_each, scan_diff
from reviewer.summary import FileNote, Summary, parse_summary
from reviewer.tokens import Count
from reviewer.verdicts import Verdict, parse_verdicts
from reviewer.vocabulary import CATEGORIES, SEVERITIES, Message, Usage

if TYPE_CHECKING:
    from reviewer.backends.tools import ToolBox
    from reviewer.progress import Status

Clock = Callable[[], datetime]
Progress = Callable[[str], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Request:
    task: str  # "review" | "summarize" | "verify" | "chat"
    messages: tuple[Message, ...]
    backends: tuple[str, ...]  # fallback order
    paths: tuple[str, ...]
    prompt_tokens: int  # estimated
    context: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # what the templates saw
    context_tokens: int = 0  # of prompt_tokens, the code shown around the hunks (estimated)
    # A review that also describes its chunk in the same answer: one backend serves both tasks, so the
    # diff is read (and paid for) once, and nothing waits for another request to fill the cache.
    summarizes: bool = False
    # A request planned alone (an answer to a question): the secrets of its diff, value → placeholder, to mask in
    # what its backend reads (tools, an agent's tree) and answers too. A review's are its Plan's.
    known: Known = field(default_factory=lambda: Known({}), compare=False, repr=False)


@dataclass(frozen=True)
class Plan:
    requests: tuple[Request, ...]
    selection: Selection
    skipped: tuple[Skipped, ...]  # filtered out, or no backend may see them
    secrets: tuple[Exposed, ...] = ()  # found in the diff (skipped files too) and redacted from every request
    # The diff planned, and it redacted: findings are placed on the latter without redacting it again.
    source: Diff | None = field(default=None, compare=False, repr=False)
    redacted: Diff | None = field(default=None, compare=False, repr=False)
    # Every secret the diff holds (skipped files too), value to placeholder: masked wherever else it shows up (the
    # description, a file a backend reads, the answers, the notes). Not what the description marks: it would mask
    # the same text in the code, and a pull request's body could hide code from review that way.
    known: Known = field(default_factory=lambda: Known({}), compare=False, repr=False)


@dataclass(frozen=True)
class Answered:
    """Who answered which request: the run's output says so."""

    task: str
    backend: str
    model: str
    paths: tuple[str, ...]
    usage: Usage
    cost_usd: float
    rate: str | None = None  # pricing.rate: "peak", "off-peak", "unknown" (no price), None (a set price)


@dataclass(frozen=True)
class Dropped:
    """A finding the verification pass rejected, and the verifier's reason."""

    finding: PlacedFinding
    reason: str


@dataclass(frozen=True)
class Review:
    findings: tuple[PlacedFinding, ...]
    summary: Summary | None
    usage: Usage
    cost_usd: float
    skipped: tuple[Skipped, ...]
    errors: tuple[str, ...]
    answered: tuple[Answered, ...] = ()
    notes: tuple[str, ...] = ()  # failures that a fallback backend recovered from; efforts a backend cannot honour
    incomplete: bool = False  # a request failed or was not sent: some files went unreviewed
    description: str = ""
    context_tokens: int = 0  # prompt tokens sent as code around the hunks (estimated; in usage.prompt_tokens too)
    dropped: tuple[Dropped, ...] = ()  # rejected by the verification pass
    verify_usage: Usage = Usage()  # the verification pass's share of usage and cost_usd
    verify_cost_usd: float = 0.0


class BackendPool:
    """Backends by name, created on first use (a missing key fails only the requests that need it)."""

    def __init__(
        self,
        config: Config,
        environ: Mapping[str, str],
        factory: Callable[..., Backend] = backend_registry.create,
        workdir: Path | None = None,  # the repository root, where agent backends (claude-code, opencode) run
        diff: Diff | None = None,  # the change under review: renames out of a rule's paths stay withheld
        exact_tree: bool = True,  # whether workdir holds exactly the files after the change (tools read it only then)
        known: Known | None = None,  # the change's secrets (Plan.known): masked in every file a backend reads
    ) -> None:
        self.config = config
        self._environ = environ
        self._factory = factory
        self._workdir = workdir
        self._diff = diff
        self._exact_tree = exact_tree
        self._known = known.values if known else None
        self._made: dict[str, Backend] = {}
        self._toolboxes: dict[str, ToolBox] = {}
        self._trees: list[Any] = []  # the temporary copies the tools read, removed with the pool
        self._lock = threading.Lock()

    def preflight(self, requests: tuple[Request, ...]) -> None:
        """Fail before anything is sent when some request has no backend that can even be set up (no key...)."""
        for request in requests:
            problems: list[ReviewerError] = []
            for name in request.backends:
                try:
                    self.get(name)
                    break
                except ReviewerError as exc:
                    problems.append(exc)
            else:
                if problems:
                    raise problems[0]

    def effort_notes(self) -> tuple[str, ...]:
        """For each backend used so far that cannot run at its configured effort, the output says so."""
        with self._lock:
            made = list(self._made.values())
        return tuple(sorted(gap for backend in made if (gap := effort_gap(backend))))

    def tools(self, name: str) -> ToolBox | None:
        """Read-only tools for backend `name`, when `[review] tools` is on and there is a tree; over a copy of it without
        what a routing rule withholds from that backend (as an agent backend gets)."""
        from reviewer import scratch
        from reviewer.backends.agent_cli import review_tree
        from reviewer.backends.tools import ToolBox
        from reviewer.source_tree import SourceTree

        settings = self.config.review
        if not settings.tools or self._workdir is None or not self._exact_tree or not self.get(name).uses_tools:
            return None
        with self._lock:
            if name not in self._toolboxes:
                holder = scratch.folder("reviewer-tools-")
                self._trees.append(holder)
                tree = review_tree(self._workdir, Path(holder.name), routing.withheld(self.config, name, self._diff), self._known)
                self._toolboxes[name] = ToolBox(SourceTree(tree), settings.tool_rounds, settings.tool_tokens)
            return self._toolboxes[name]

    def get(self, name: str) -> Backend:
        with self._lock:
            if name not in self._made:
                backend = self.config.backend(name)
                if self._workdir is None:
                    self._made[name] = self._factory(backend, self._environ)
                else:
                    hidden = routing.withheld(self.config, name, self._diff)
                    self._made[name] = self._factory(backend, self._environ, workdir=self._workdir, withheld=hidden, known=self._known)
            return self._made[name]


def plan_review(
    diff: Diff,
    config: Config,
    templates: Templates,
    *,
    description: str,
    guidelines: str,
    tasks: tuple[str, ...] = ("review",),
    tree: Path | None = None,  # the files after the change, where code context is read
    meanwhile: Callable[[], None] | None = None,  # what the run needs next: done while a large diff is read aside
) -> Plan:
    """Every request the run would send, built but not sent (this is also --dry-run).

    The templates fence the change's text (diff, names, description) between markers carrying
    `nonce`, drawn here once for all the plan's requests: the author of that text cannot know it.
    Secrets are redacted before anything is rendered: in the diff (line for line, so
    numbers stay right, and in its files' names), the description and the guidelines.
    """
    from reviewer.context import code_contexts
    from reviewer.team_rules import instructions_for

    nonce = secrets.token_hex(8)
    source = diff
    count: Count = tokens.count
    if meanwhile and reads_aside(sum(file.added + file.removed for file in diff.files)):
        read_ahead.finish()  # what it reads the child needs too, and no thread may run at the fork
        with forked.start(functools.partial(_read_diff, diff, config)) as reading:
            meanwhile()
            read = reading.result()
        diff, found = redact_diff(diff, read.secrets)
        count = _counting(source, read)
    else:
        diff, found = redact_diff(diff)
    # A value found in the diff is masked wherever else it shows (a password only its assignment marks, in the
    # description or a file read for context); in the diff's lines and names it is already (reviewer.redact.find_each).
    known = Known(known_values(found))
    description, guidelines = redact(description, known), redact(guidelines, known)
    selection = select(diff, config.review.ignore, skip_generated=config.review.skip_generated)
    requests: list[Request] = []
    counted = functools.cache(tokens.count)  # the text around each chunk's diff repeats from request to request
    scanned = functools.cache(functools.partial(redact, known=known))
    unroutable: dict[str, Skipped] = {}
    routed = {task: routing.group(config, task, selection.files) for task in tasks}
    for _, refused in routed.values():
        for s in refused:
            unroutable.setdefault(s.path, s)
    together = _combined(routed, config, templates)
    for task, (groups, _) in routed.items():
        # Parts are counted, and paths listed, per route group: a request never names a file that a
        # data-sovereignty rule keeps from its backends (a path can tell as much as the code).
        for route in groups:
            if task == "summarize" and route in together:
                continue  # answered by the review requests of the same files
            tree_files = _context_tree(config, tree, route.backends, diff) if task == "review" else None
            names = _listed(route.files, nonce, scanned)
            chunks = plan_chunks(
                route.files, config.review.max_chunk_tokens, slots=config.review.concurrency,
                min_tokens=config.review.min_chunk_tokens, count=count,
            )
            contexts = code_contexts(chunks, tree_files, config.review.context_tokens, config.review.call_sites)
            for index, (chunk, around) in enumerate(zip(chunks, contexts, strict=True), 1):
                context: dict[str, Any] = {
                    "code_context": around.text,
                    "tools": config.review.tools,
                    "path_instructions": instructions_for(config.review.path_instructions, chunk.paths),
                    "description": description,
                    "guidelines": guidelines,
                    "diff": render_files(chunk.files),
                    "files": chunk.files,
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                    "all_paths": [f.name for f in route.files],
                    "skipped": selection.skipped,
                    "severities": SEVERITIES,
                    "categories": CATEGORIES,
                    "nonce": nonce,
                }
                summarizes = task == "review" and route in together
                # A last pass over what is sent: a template's own text (a team's override) can hold a secret too.
                # Scanned and counted already: the chunk's diff, and the list of the change's files as the
                # packaged template shows it (the same in every request; a template that shows it otherwise
                # has it scanned and counted with the rest).
                done = {context["diff"]: chunk.tokens, **names}
                rendered = templates.messages(COMBINED_TEMPLATES if summarizes else task, context)
                sent = [_sent(m.content, done, scanned, counted) for m in rendered]
                messages = tuple(Message(m.role, text) for m, (text, _) in zip(rendered, sent, strict=True))
                prompt = sum(message_tokens for _, message_tokens in sent)
                requests.append(Request(task, messages, route.backends, chunk.paths, prompt, context, around.tokens, summarizes))
    reported = found if "review" in tasks else ()  # a summary alone reports no findings
    return Plan(tuple(requests), selection, selection.skipped + tuple(unroutable.values()), reported, source, diff, known)


COMBINED_TEMPLATES = "review+summarize"
# From here, a diff's secrets and tokens are read in a second process (reviewer.forked) while this one does the
# run's `meanwhile` (importing its SDK: ~0.35 s). Measured at zero model latency: −0.15 s of 1.4 s at 26,000
# changed lines, −0.045 s of 0.9 s at 8,000, nothing to tell at 6,000.
_ASIDE_LINES = 5_000


def reads_aside(changed_lines: int) -> bool:
    """Whether planning a change of this size reads its diff in a second process, and so has the time to do the
    run's `meanwhile` beside it: then nothing need read the run's SDK ahead on a thread (reviewer.read_ahead)."""
    return changed_lines >= _ASIDE_LINES and forked.possible()


@dataclass(frozen=True)
class _DiffRead:
    """What planning reads of every line of a diff: its secrets, and the tokens of the lines it reviews."""

    secrets: list[tuple[Secret, ...]]  # reviewer.redact.scan_diff
    files: list[int]  # the files the review takes (reviewer.filters.select), by their place in the diff
    line_tokens: list[int]  # tokens of each of their lines' counted_text, in order


def _read_diff(diff: Diff, config: Config) -> _DiffRead:
    taken = {f.path for f in select(diff, config.review.ignore, skip_generated=config.review.skip_generated).files}
    files = [i for i, f in enumerate(diff.files) if f.path in taken]
    return _DiffRead(scan_diff(diff), files, [tokens.count(text) for text in _counted_texts(diff, files)])


def _counting(diff: Diff, read: _DiffRead) -> Count:
    """reviewer.tokens.count, answering at once for the lines `read` counted (a line a secret changed is counted anew)."""
    known = dict(zip(_counted_texts(diff, read.files), read.line_tokens, strict=True))

    def count(text: str) -> int:
        known_tokens = known.get(text)
        return tokens.count(text) if known_tokens is None else known_tokens

    return count


def _counted_texts(diff: Diff, files: list[int]) -> Iterator[str]:
    """What reviewer.diff_text.line_tokens counts of each line of the files at `files` in the diff, in order."""
    return (counted_text(line) for i in files for hunk in diff.files[i].hunks for line in hunk.lines)


def _sent(text: str, known: Mapping[str, int], redact: Callable[[str], str], count: Callable[[str], int]) -> tuple[str, int]:
    """`text` as it is sent, every secret masked, and its tokens. The `known` parts of it are redacted and counted
    already, and fenced between marker lines (no secret spans their edges): only the text around them is
    scanned and counted, not they again."""
    out: list[str] = []
    total = 0
    for part, is_known in _cut(text, known):
        shown = part if is_known else redact(part)
        out.append(shown)
        total += known[part] if is_known else count(shown) if shown else 0
    return "".join(out), total


def _cut(text: str, known: Mapping[str, int]) -> list[tuple[str, bool]]:
    """`text` in pieces, each known part cut out once where it stands as whole lines (as a fenced block
    does): never inside a line, where it would split a secret in the text around it from the last pass."""
    pieces: list[tuple[str, bool]] = [(text, False)]
    for part in known:
        for index, (piece, is_known) in enumerate(pieces):
            at = -1 if is_known or not part else _as_lines(piece, part)
            if at >= 0:
                pieces[index : index + 1] = [(piece[:at], False), (part, True), (piece[at + len(part) :], False)]
                break
    return pieces


def _as_lines(text: str, part: str) -> int:
    """Where `part` first occurs in `text` starting a line and ending one (or -1)."""
    at = text.find(part)
    while at >= 0:
        end = at + len(part)
        if (at == 0 or text[at - 1] == "\n") and (end == len(text) or text[end] == "\n" or part.endswith("\n")):
            return at
        at = text.find(part, at + 1)
    return -1


def _listed(files: Sequence[FileDiff], nonce: str, redact: Callable[[str], str]) -> dict[str, int]:
    """The change's file names as the packaged templates list them (reviewer.diff_text.quoted, one a line, in
    a fenced block), with their tokens: known to `_sent` when nothing in them is a secret."""
    names = "\n".join(quoted(f.name) for f in files).replace(nonce, "[marker id removed]").strip()
    return {names: tokens.count(names)} if names and redact(names) == names else {}


def _combined(routed: Mapping[str, tuple[list[routing.RouteGroup], list[Skipped]]], config: Config, templates: Templates) -> list[routing.RouteGroup]:
    """The route groups whose review requests also summarize: the same files go to the same backends for both.

    Not when the team has its own summary templates: a combined answer would ignore them.
    """
    if not config.review.combine_summary or set(routed) != {"review", "summarize"} or not templates.combinable():
        return []
    summaries = routed["summarize"][0]
    return [route for route in routed["review"][0] if route in summaries]


def _context_tree(config: Config, tree: Path | None, backends: tuple[str, ...], diff: Diff) -> Any:
    """The tree code context is read from for a route group: without what a rule keeps from any of its backends."""
    if tree is None or config.review.context_tokens <= 0:
        return None
    from reviewer.source_tree import SourceTree

    hidden = [routing.withheld(config, name, diff) for name in backends]
    return SourceTree(tree, lambda path: not any(h(path) for h in hidden))


def estimated_cost(request: Request, backend: BackendConfig, when: datetime) -> float:
    """What sending `request` once to `backend` is expected to cost (output estimated by effort and size)."""
    output = expected_output_tokens(backend.effort, request.prompt_tokens, files=len(request.paths) if request.summarizes or request.task == "summarize" else 0)
    usage = Usage(1, request.prompt_tokens, 0, min(output, backend.max_tokens), 0)
    return pricing.cost(backend, usage, when)


def estimated_total(plan: Plan, config: Config, when: datetime) -> float:
    """What the plan is expected to cost, each request on its first backend: --dry-run's figure, and the gate's."""
    return sum(estimated_cost(r, config.backend(r.backends[0]), when) for r in plan.requests)


@dataclass
class _Outcome:
    request: Request
    answered: Answered | None = None
    findings: tuple[Finding, ...] = ()
    summary: Summary | None = None
    verdicts: tuple[Verdict, ...] = ()
    text: str = ""  # a chat answer: prose, not parsed
    context_tokens: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: Usage = Usage()
    cost_usd: float = 0.0

    def charge(self, backend: BackendConfig, usage: Usage, when: datetime) -> float:
        cost = pricing.cost(backend, usage, when)
        self.usage += usage
        self.cost_usd += cost
        return cost


class Budget:
    """Stops sending once the next request could pass max_cost_usd."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, estimate: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + estimate > self.limit:
                return False
            self.reserved += estimate
            return True

    def settle(self, estimate: float, actual: float) -> None:
        with self._lock:
            self.reserved -= estimate
            self.spent += actual


def run_review(
    plan: Plan,
    diff: Diff,
    pool: BackendPool,
    *,
    description: str = "",
    clock: Clock = utc_now,
    on_progress: Progress | None = None,
    budget: Budget | None = None,  # shared across runs (an eval suite); else max_cost_usd for this run
    incremental: bool = False,  # `diff` is more than the model saw: see placement.place_one
) -> Review:
    """Send the plan's requests (in parallel), and gather one Review, with a finding for each secret committed.

    Findings are placed on the redacted diff (the same lines as `diff`), so their
    fingerprints never hash a secret; the whole Review is redacted once, here.
    """
    from reviewer.progress import Status

    config = pool.config
    budget = budget or Budget(config.review.max_cost_usd)
    status = on_progress if isinstance(on_progress, Status) else None
    done = 0
    done_lock = threading.Lock()

    def work(request: Request) -> _Outcome:
        nonlocal done
        outcome = ask(request, pool, clock, budget, status)
        with done_lock:
            done += 1
            if on_progress and status is None:
                on_progress(f"{done}/{len(plan.requests)} requests answered")
        return outcome

    if status and plan.requests:
        status.begin(len(plan.requests))
    executor = ThreadPoolExecutor(max_workers=config.review.concurrency)
    # Largest first: when there are more requests than slots, a short one fills in after a long one, and
    # the last to finish is close to the average rather than a long one started late.
    order = sorted(range(len(plan.requests)), key=lambda i: -plan.requests[i].prompt_tokens)
    submitted = {i: executor.submit(work, plan.requests[i]) for i in order}
    futures = [submitted[i] for i in range(len(plan.requests))]
    try:
        outcomes = threads.results(futures)
    except KeyboardInterrupt:
        # Stop at once: what is answered is reported; requests in flight are abandoned with their threads.
        executor.shutdown(wait=False, cancel_futures=True)
        answered = [f.result() if f.done() and not f.cancelled() and f.exception() is None else None for f in futures]
        outcomes = [o or _Outcome(r, errors=["interrupted before it was answered"]) for o, r in zip(answered, plan.requests, strict=True)]
        review = _gathered(plan, diff, pool, outcomes, description, clock, budget, incremental)
        left = answered.count(None)
        note = f"interrupted: {left} request{'s' if left != 1 else ''} abandoned; nothing more is billed once their connections close"
        raise Interrupted(dataclasses.replace(review, errors=tuple(dict.fromkeys(review.errors)), notes=(*review.notes, note))) from None
    finally:
        if status and plan.requests:
            status.end()
    executor.shutdown()
    return _gathered(plan, diff, pool, outcomes, description, clock, budget, incremental)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: `review` holds what was answered, for the command to report before it exits 130."""

    def __init__(self, review: Review) -> None:
        super().__init__("interrupted")
        self.review = review


def _gathered(
    plan: Plan, diff: Diff, pool: BackendPool, outcomes: list[_Outcome], description: str, clock: Clock, budget: Budget, incremental: bool
) -> Review:
    """One Review of the outcomes: findings placed once, summaries merged, what failed listed as not reviewed."""
    config = pool.config
    placed_on = plan.redacted if plan.source is diff and plan.redacted is not None else redact_diff(diff)[0]
    findings = _unique(place([*secret_findings(plan.secrets), *(f for o in outcomes for f in o.findings)], placed_on, incremental=incremental))
    summaries = [o.summary for o in outcomes if o.summary is not None]
    summary = None
    for s in summaries:
        summary = s if summary is None else summary.merged(s)
    failed_paths = {p: o for o in outcomes if o.answered is None for p in o.request.paths}
    skipped = plan.skipped + tuple(
        Skipped(p, f"not reviewed: {o.errors[-1] if o.errors else 'request failed'}")
        for p, o in failed_paths.items()
        if o.request.task == "review"
    )
    usage = sum((o.usage for o in outcomes), Usage())
    return redact_review(Review(
        findings=findings,
        summary=summary,
        usage=usage,
        cost_usd=sum(o.cost_usd for o in outcomes),
        skipped=skipped,
        errors=tuple(e for o in outcomes for e in o.errors),
        answered=tuple(o.answered for o in outcomes if o.answered is not None),
        notes=plan.selection.notes + pool.effort_notes() + _unpriced_notes(plan, config, budget, clock()) + tuple(n for o in outcomes for n in o.notes),
        incomplete=bool(failed_paths),
        description=description,
        context_tokens=sum(o.context_tokens for o in outcomes),
    ), plan.known)


def secret_findings(secrets: tuple[Exposed, ...]) -> tuple[Finding, ...]:
    """Our own finding for each secret the change adds: on an added line, or in a name it gives a file; the value is in none of it.

    A name's finding is on the file's line 1, where the file starts: inline there when the diff shows that
    line (an added file), else a comment on the file (a rename, a binary or empty file).
    """
    findings = []
    for exposed in secrets:
        secret = exposed.secret
        guess = secret.kind == "high-entropy"  # a guess: flagged, but below critical
        what = f"{'what looks like ' if guess else ''}a secret ({secret.label}, shown here as `{secret.placeholder}`)"
        if exposed.line is None:
            if not exposed.new_name or secret.continued:
                continue  # a name the file had before this change (not one it commits), or a value reported where found
            line, where = 1, " in the file name"
            found = f"This file's name holds {what}."
            instead = "Name the file without it."
        elif exposed.line.kind == "+" and exposed.line.new_no is not None and not secret.continued:
            line, where = exposed.line.new_no, ""
            found = f"This line adds {what}."
            instead = "Load it from a secret store or the environment instead."
        else:
            continue
        findings.append(
            Finding(
                path=exposed.path,
                line=line,
                side="RIGHT",
                severity="major" if guess else "critical",
                category="security",
                title=f"{'Possible secret' if guess else 'Secret'} committed: {secret.label}{where}",
                body=(
                    f"{found} Treat it as leaked: revoke or rotate it now, then remove it from the history "
                    "(`git filter-repo`, BFG); deleting it in a later commit leaves it in every clone. "
                    f"{instead} Its value was not sent to any model."
                ),
            )
        )
    return tuple(findings)


def redact_review(review: Review, known: Mapping[str, str] | Known | None = None) -> Review:
    """Every text of a review fit to print, save or post: a secret the model quoted, or an error carried, is masked.

    `known` maps the secrets found in the diff to their placeholders: masked wherever they show up.
    """
    values = Known.of(known)

    def mask(text: str) -> str:
        return redact(text, values)

    # Paths too, for a name can hold a secret; a large change has many (skipped files): scanned in one pass.
    notes = review.summary.walkthrough if review.summary else ()
    paths = [p.finding.path for p in review.findings] + [s.path for s in review.skipped] + [n.path for n in notes]
    paths = list(dict.fromkeys(paths + [path for a in review.answered for path in a.paths]))
    named = dict(zip(paths, redact_each(paths, values), strict=True))
    findings = tuple(
        dataclasses.replace(
            p,
            finding=dataclasses.replace(
                p.finding,
                path=named[p.finding.path],
                title=mask(p.finding.title),
                body=mask(p.finding.body),
                # A suggestion is applied as code: one holding a placeholder would break the file.
                suggestion=None if p.finding.suggestion and mask(p.finding.suggestion) != p.finding.suggestion else p.finding.suggestion,
            ),
        )
        for p in review.findings
    )
    summary = review.summary and Summary(
        mask(review.summary.title),
        tuple(FileNote(named[n.path], mask(n.summary)) for n in notes),
        tuple(mask(r) for r in review.summary.risks),
        mask(review.summary.prose),
    )
    return dataclasses.replace(
        review,
        findings=findings,
        summary=summary,
        skipped=tuple(Skipped(named[s.path], mask(s.reason)) for s in review.skipped),
        answered=tuple(dataclasses.replace(a, paths=tuple(named[path] for path in a.paths)) for a in review.answered),
        errors=tuple(mask(e) for e in review.errors),
        notes=tuple(mask(n) for n in review.notes),
        description=mask(review.description),
    )


def ask(request: Request, pool: BackendPool, clock: Clock, budget: Budget, status: Status | None = None) -> _Outcome:
    """Try each backend in order; an unusable answer is asked again once before moving on.

    Every attempt, on every backend, is reserved against the budget at that
    backend's price before it is sent, so fallbacks and re-asks cannot pass it.
    """
    outcome = _Outcome(request)
    for name in request.backends:
        try:
            backend = pool.get(name)
        except ReviewerError as exc:
            outcome.errors.append(str(exc))
            continue
        for attempt in (1, 2):
            estimate = estimated_cost(request, backend.config, clock())
            if not budget.reserve(estimate):
                outcome.errors.append(_over_budget(request, estimate, budget))
                return outcome
            outcome.context_tokens += request.context_tokens
            if status:
                status.sending()
            try:
                box = pool.tools(name) if request.task == "review" else None
                completion = backend.complete(request.messages, tools=box) if box else backend.complete(request.messages)
            except BackendError as exc:
                outcome.errors.append(str(exc))
                spent = outcome.charge(backend.config, exc.usage, clock()) if exc.usage else 0.0
                budget.settle(estimate, spent)
                if status:
                    status.answered(exc.usage or Usage(), spent)
                break
            spent = outcome.charge(backend.config, completion.usage, clock())
            budget.settle(estimate, spent)
            if status:
                status.answered(completion.usage, spent)
            if request.summarizes:
                outcome.summary = parse_summary(completion.text)
            if request.task == "summarize":
                outcome.summary = parse_summary(completion.text)
                usable = True
            elif request.task == "chat":
                outcome.text = completion.text.strip()
                usable = bool(outcome.text)
                if not usable and attempt == 2:
                    outcome.errors.append(f"{name}: answered nothing twice")
            elif request.task == "verify":
                verdicts = parse_verdicts(completion.text)
                usable = verdicts is not None
                outcome.verdicts = verdicts or ()
                if not usable and attempt == 2:
                    outcome.errors.append(f"{name}: answered no verdicts twice")
            else:
                parsed = parse_answer(completion.text)
                usable = parsed.usable
                if usable:
                    outcome.findings = parsed.findings
                    outcome.errors.extend(f"{name}: {e}" for e in parsed.errors)
                elif attempt == 2:
                    outcome.errors.append(f"{name}: answered nothing usable twice ({parsed.errors[0]})")
            if usable:
                # Earlier backends' failures were survived: they become notes, not errors.
                outcome.notes = [e for e in outcome.errors if not e.startswith(f"{name}: ")]
                outcome.errors = [e for e in outcome.errors if e.startswith(f"{name}: ")]
                outcome.answered = Answered(
                    request.task, name, completion.model, request.paths, outcome.usage, outcome.cost_usd,
                    pricing.rate(backend.config, clock()),
                )
                return outcome
    return outcome


def _unpriced_notes(plan: Plan, config: Config, budget: Budget, when: datetime) -> tuple[str, ...]:
    """A cost limit counts an unpriced backend as free: say so rather than let it look enforced."""
    if budget.limit is None:
        return ()
    names = sorted({n for r in plan.requests for n in r.backends if pricing.price_for(config.backend(n), when) is None})
    return tuple(
        f"max_cost_usd cannot limit backend {n!r}: its price is unknown (set price_input and price_output)" for n in names
    )


def _over_budget(request: Request, estimate: float, budget: Budget) -> str:
    return (
        f"not sent: the {request.task} request for {', '.join(request.paths)} is estimated at ${estimate:.4f}, "
        f"and ${budget.spent + budget.reserved:.4f} of the max_cost_usd limit of ${budget.limit or 0:.4f} is spent or "
        "committed already; raise it with --max-cost"
    )


def _unique(findings: tuple[PlacedFinding, ...]) -> tuple[PlacedFinding, ...]:
    """Findings in file order, a repeated one (same code, category and title) once.

    The fingerprint alone is not enough: two different problems on one line share it.
    """
    seen: dict[tuple[str, str], PlacedFinding] = {}
    for f in findings:
        seen.setdefault((f.fingerprint, " ".join(f.finding.title.lower().split())), f)
    return tuple(sorted(seen.values(), key=lambda p: (p.finding.path, p.finding.line, p.finding.side)))
