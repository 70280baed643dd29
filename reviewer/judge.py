"""The eval judge: does a finding describe the same underlying issue as a golden comment?

Pure: the judge request's template context, and its answer parsed into
(finding, golden) index pairs. The eval command sends the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from reviewer.evaluation import Golden, Matches
from reviewer.findings import Finding, extract_json

_ID = re.compile(r"^([FG])(\d+)$")


def context(golden: Sequence[Golden], findings: Sequence[Finding], nonce: str) -> dict[str, Any]:
    """What judge_user.j2 gets: golden comments ("G1"...) and findings ("F1"...), one JSON object a line."""
    return {
        "golden": [json.dumps({"id": f"G{i}", "comment": g.comment}, ensure_ascii=False) for i, g in enumerate(golden, 1)],
        "findings": [json.dumps({"id": f"F{i}", "title": f.title, "body": f.body}, ensure_ascii=False) for i, f in enumerate(findings, 1)],
        "nonce": nonce,
    }


def parse_matches(text: str, findings: int, golden: int) -> Matches | None:
    """The pairs the judge named, as 0-based indices; None when the answer is not the JSON asked for.

    An id that names no finding or golden comment is ignored (the judge's text is untrusted); a finding
    named twice counts once, with the first golden comment given for it.
    """
    document = extract_json(text, "matches")
    if document is None or not isinstance(document.get("matches"), list):
        return None
    pairs: dict[int, int] = {}
    for item in document["matches"]:
        if not isinstance(item, dict):
            continue
        f, g = _index(item.get("finding"), "F", findings), _index(item.get("golden"), "G", golden)
        if f is not None and g is not None:
            pairs.setdefault(f, g)
    return tuple(sorted(pairs.items()))


def _index(value: Any, kind: str, count: int) -> int | None:
    match = _ID.match(str(value).strip()) if isinstance(value, str) else None
    if not match or match[1] != kind:
        return None
    number = int(match[2])
    return number - 1 if 1 <= number <= count else None
