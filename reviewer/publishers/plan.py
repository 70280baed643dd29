"""`--dry-run`: every request the run would send, with token and cost estimates."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from reviewer.config import Config
from reviewer.redact import redact_each
from reviewer.review import Plan, estimated_cost


def render(plan: Plan, config: Config, when: datetime, output_format: str, *, verbose: bool = False) -> str:
    """JSON holds every prompt; text is a table of the requests, and the prompts only when `verbose`.

    Files by their names as the prompts show them: a name can hold a secret."""
    rows: list[dict[str, Any]] = []
    for request in plan.requests:
        backend = config.backend(request.backends[0])
        rows.append(
            {
                "task": request.task,
                "backends": list(request.backends),
                "model": backend.model,
                "effort": backend.effort,
                "paths": redact_each(request.paths, plan.known),
                "prompt_tokens": request.prompt_tokens,
                "context_tokens": request.context_tokens,
                "estimated_cost_usd": round(estimated_cost(request, backend, when), 6),
                "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            }
        )
    total = sum(r["estimated_cost_usd"] for r in rows)
    paths, reasons = redact_each([s.path for s in plan.skipped], plan.known), redact_each([s.reason for s in plan.skipped], plan.known)
    skipped = [{"path": path, "reason": reason} for path, reason in zip(paths, reasons, strict=True)]
    if output_format == "json":
        context = sum(r["context_tokens"] for r in rows)
        document = {"dry_run": True, "requests": rows, "skipped": skipped, "context_tokens": context, "estimated_cost_usd": round(total, 6)}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    out = ["#  task       backend → fallbacks       prompt tokens  context  est. cost  files"] if rows else []
    for index, row in enumerate(rows, 1):
        files = ", ".join(row["paths"])
        out.append(
            f"{index:<2} {row['task']:<10} {' → '.join(row['backends'])[:24]:<24} {row['prompt_tokens']:>14,} {row['context_tokens']:>8,}  "
            f"${row['estimated_cost_usd']:>8.4f}  {files if len(files) <= 60 else files[:57] + '...'}"
        )
    if verbose:
        for index, row in enumerate(rows, 1):
            out += [
                "",
                f"=== request {index}/{len(rows)} · {row['task']} · {' → '.join(row['backends'])} "
                f"({row['model']}, effort {row['effort']}) · ~{row['prompt_tokens']:,} prompt tokens "
                f"(~{row['context_tokens']:,} of them code context) · est. ${row['estimated_cost_usd']:.4f}",
            ]
            for message in row["messages"]:
                out += [f"--- {message['role']} ---", message["content"].rstrip()]
    if rows:
        out.append("")
    for s in skipped:
        out.append(f"skipped {s['path']}: {s['reason']}")
    out.append(
        f"dry run: {len(rows)} request{'s' if len(rows) != 1 else ''}, "
        f"~{sum(r['prompt_tokens'] for r in rows):,} prompt tokens (~{sum(r['context_tokens'] for r in rows):,} code context), "
        f"estimated ${total:.4f} (output estimated by effort; nothing was sent)"
    )
    if not verbose and rows:
        out.append("the prompts in full: add --verbose, or --format json > FILE")
    return "\n".join(out) + "\n"
