"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it (`github/codeql-action/upload-sarif`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from reviewer import __version__
from reviewer.review import Review
from reviewer.safe_text import printable
from reviewer.vocabulary import CATEGORIES, SEVERITY

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def to_dict(review: Review) -> dict[str, Any]:
    rules = [
        {
            "id": f"reviewer/{category}",
            "name": category.capitalize(),
            "shortDescription": {"text": f"{category} finding from an AI code review"},
            "properties": {"tags": [category]},
        }
        for category in CATEGORIES
    ]
    results = []
    for placed in review.findings:
        f = placed.finding
        # A URI: a space or `#` in a path must be percent-encoded, or `docs/my file#1.md` names another file.
        location: dict[str, Any] = {"artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"}}
        text = f"{f.title}\n\n{f.body}".strip()
        if f.side == "RIGHT":
            location["region"] = {"startLine": f.start_line or f.line, "endLine": f.line}
        else:
            # Regions count in the file as it is now, and code scanning requires one: a removed
            # line has no place there, so the file's start stands in and the message says where.
            location["region"] = {"startLine": 1}
            text = f"(on removed line {f.line} of the old file) {text}"
        results.append(
            {
                "ruleId": f"reviewer/{f.category}",
                "ruleIndex": CATEGORIES.index(f.category),
                "level": SEVERITY[f.severity].sarif_level,
                "message": {"text": printable(text)},  # shown as plain text: no control character survives
                "locations": [{"physicalLocation": location}],
                "partialFingerprints": {"reviewerFingerprint/v1": placed.fingerprint},
                "properties": {"severity": f.severity, "security-severity": SEVERITY[f.severity].security_severity},
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reviewer",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def render(review: Review, *, colour: bool = False) -> str:
    return json.dumps(to_dict(review), indent=2, ensure_ascii=False) + "\n"
