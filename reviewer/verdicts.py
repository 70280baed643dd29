"""The verifier's answer: `{"verdicts": [{"id": "F1", "keep": true, "reason": "..."}]}`, extracted and checked.

Like a review answer, it is the model's text: read leniently, never trusted to
be well formed. An entry without a usable id or `keep` is ignored (its finding
stays); an answer with no `verdicts` list at all is unusable (asked again).
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewer.findings import extract_json


@dataclass(frozen=True)
class Verdict:
    id: str
    keep: bool
    reason: str


def parse_verdicts(text: str) -> tuple[Verdict, ...] | None:
    data = extract_json(text, "verdicts")
    entries = data.get("verdicts") if data else None
    if not isinstance(entries, list):
        return None
    verdicts = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("keep"), bool):
            reason = entry.get("reason")
            verdicts.append(Verdict(entry["id"].strip(), entry["keep"], reason.strip() if isinstance(reason, str) else ""))
    return tuple(verdicts)
