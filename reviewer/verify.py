"""The verification pass (`[routes] verify`): each candidate finding goes back, with its code, to a verifier.

The verifier answers per the contract (`{"verdicts": [{"id", "keep", "reason"}]}`).
A rejected finding leaves the review's findings (so it is neither posted nor
counted by --fail-on) and is listed under `dropped` with the reason. A finding
the verifier gave no verdict on, or one it could not be sent (no backend may
see its file, the request failed), stays as it was, and a note says so: a
failing verifier never costs a finding. Our own secret findings are facts, not
claims, and are never sent.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from reviewer import routing, threads
from reviewer.diff import Diff
from reviewer.diff_text import render_files
from reviewer.known import Known
from reviewer.placement import PlacedFinding, place
from reviewer.prompts import Templates
from reviewer.redact import known_values, redact, redact_diff
from reviewer.review import BackendPool, Budget, Clock, Dropped, Plan, Request, Review, ask, secret_findings, utc_now
from reviewer.tokens import count as count_tokens
from reviewer.vocabulary import Message, Usage

BATCH = 20  # findings per verification request


def verify(
    review: Review,
    plan: Plan,
    diff: Diff,
    templates: Templates,
    pool: BackendPool,
    budget: Budget,
    *,
    tree: Path | None = None,
    clock: Clock = utc_now,
) -> Review:
    config = pool.config
    if not config.routes.verify or not review.findings:
        return review
    diff, found = redact_diff(diff)
    known = Known({**plan.known.values, **known_values(found)})  # masked in what else is sent: code read for context, a team's template
    ours = {p.fingerprint for p in place(secret_findings(plan.secrets), diff)}
    groups: dict[tuple[str, ...], list[PlacedFinding]] = {}
    unsent: list[PlacedFinding] = []
    for placed in review.findings:
        if placed.fingerprint in ours:
            continue
        file = diff.file(placed.path)
        names, _ = routing.candidates(config, "verify", placed.path, *([file.old_path] if file and file.old_path else []))
        (groups.setdefault(names, []) if names else unsent).append(placed)
    requests = [
        _request(batch, names, diff, templates, pool, tree, known)
        for names, found in groups.items()
        for batch in (found[i : i + BATCH] for i in range(0, len(found), BATCH))
    ]
    outcomes = threads.each(lambda r: ask(r, pool, clock, budget), [r for r, _ in requests], config.review.concurrency)
    dropped: dict[str, Dropped] = {}
    notes = [f"verification: {len(unsent)} finding(s) kept unverified: no verify backend may see their files"] if unsent else []
    for (_, ids), outcome in zip(requests, outcomes, strict=True):
        if outcome.answered is None:
            problem = outcome.errors[-1] if outcome.errors else "the request failed"
            notes.append(f"verification failed for {len(ids)} finding(s), reported unverified: {problem}")
            continue
        notes += outcome.notes
        for verdict in outcome.verdicts:
            rejected = ids.get(verdict.id)
            if rejected is not None and not verdict.keep:
                dropped[rejected.fingerprint + rejected.finding.title] = Dropped(rejected, redact(verdict.reason, known) or "rejected by the verifier")
    usage = sum((o.usage for o in outcomes), Usage())
    cost = sum(o.cost_usd for o in outcomes)
    if dropped:
        notes.append(f"verification dropped {len(dropped)} of {len(review.findings)} finding(s); --format json lists them under `dropped`")
    return dataclasses.replace(
        review,
        findings=tuple(p for p in review.findings if p.fingerprint + p.finding.title not in dropped),
        dropped=review.dropped + tuple(dropped.values()),
        usage=review.usage + usage,
        cost_usd=review.cost_usd + cost,
        verify_usage=review.verify_usage + usage,
        verify_cost_usd=review.verify_cost_usd + cost,
        answered=review.answered + tuple(o.answered for o in outcomes if o.answered is not None),
        notes=review.notes + tuple(redact(n, known) for n in notes),
    )


def _request(
    batch: list[PlacedFinding],
    names: tuple[str, ...],
    diff: Diff,
    templates: Templates,
    pool: BackendPool,
    tree: Path | None,
    known: Known,
) -> tuple[Request, dict[str, PlacedFinding]]:
    """One verification request for `batch`, and the findings by the ids the prompt gives them."""
    import secrets

    from reviewer.context import CodeContext, code_context
    from reviewer.source_tree import SourceTree

    config = pool.config
    ids = {f"F{i}": placed for i, placed in enumerate(batch, 1)}
    paths = tuple(dict.fromkeys(p.finding.path for p in batch))  # as shown: the request's output names them
    files = [f for path in dict.fromkeys(p.path for p in batch) if (f := diff.file(path)) is not None]
    around = CodeContext()
    if tree is not None and config.review.context_tokens > 0:
        hidden = [routing.withheld(config, name, diff) for name in names]
        source = SourceTree(tree, lambda path: not any(h(path) for h in hidden))
        focus = [(p.path, p.finding.line) for p in batch if p.finding.side == "RIGHT"]
        around = code_context(files, source, config.review.context_tokens, 0, focus)
    candidates = "\n".join(json.dumps({"id": i, **_shown(p)}, ensure_ascii=False) for i, p in ids.items())
    context = {"nonce": secrets.token_hex(8), "code_context": around.text, "diff": render_files(files), "candidates": candidates}
    # A last pass over what is sent, as for review requests: a team's verify template can hold a secret too.
    messages = tuple(Message(m.role, redact(m.content, known)) for m in templates.messages("verify", context))
    tokens = sum(count_tokens(m.content) for m in messages)
    return Request("verify", messages, names, paths, tokens, context, around.tokens), ids


def _shown(placed: PlacedFinding) -> dict[str, object]:
    f = placed.finding
    shown: dict[str, object] = {"path": f.path, "line": f.line, "side": f.side, "severity": f.severity, "category": f.category}
    if f.start_line is not None:
        shown["start_line"] = f.start_line
    shown |= {"title": f.title, "body": f.body}
    if f.suggestion:
        shown["suggestion"] = f.suggestion
    return shown
