"""`--format json`: the contract's shape, plus who answered and whether the run was complete."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from reviewer.placement import PlacedFinding
from reviewer.review import Review


def finding_dict(p: PlacedFinding) -> dict[str, Any]:
    return {
        "path": p.finding.path,
        "line": p.finding.line,
        "start_line": p.finding.start_line,
        "side": p.finding.side,
        "severity": p.finding.severity,
        "category": p.finding.category,
        "title": p.finding.title,
        "body": p.finding.body,
        "suggestion": p.finding.suggestion,
        "anchored": p.anchored,
        "placement": p.placement.value,
        "fingerprint": p.fingerprint,
    }


def to_dict(review: Review) -> dict[str, Any]:
    return {
        "findings": [finding_dict(p) for p in review.findings],
        "dropped": [{**finding_dict(d.finding), "reason": d.reason} for d in review.dropped],
        "summary": review.summary.markdown() if review.summary else None,
        "summary_parts": asdict(review.summary) if review.summary else None,
        "usage": {**asdict(review.usage), "context_tokens": review.context_tokens},
        "cost_usd": round(review.cost_usd, 6),
        "skipped": [{"path": s.path, "reason": s.reason} for s in review.skipped],
        "errors": list(review.errors),
        "answered_by": [
            {
                "task": a.task, "backend": a.backend, "model": a.model, "paths": list(a.paths),
                "usage": asdict(a.usage), "cost_usd": round(a.cost_usd, 6),
            }
            for a in review.answered
        ],
        "notes": list(review.notes),
        "incomplete": review.incomplete,
    }


def render(review: Review, *, colour: bool = False) -> str:
    return json.dumps(to_dict(review), indent=2, ensure_ascii=False) + "\n"
