"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it (`github/codeql-action/upload-sarif`).

One rule per category and severity, so what code scanning reads from the rule
(its `security-severity`, its help) is right for every alert. Only findings
on the new side of a file of the change are results: an alert sits on a line
of the file as it is now, so a finding on a removed line, or in a file the
change does not touch (which may not exist), has no place there and is
counted in a notification instead. Within code scanning's limits (25,000
results per run, 10 MB gzip-compressed), most severe first.
"""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import quote

from reviewer import __version__
from reviewer.placement import PlacedFinding, Placement
from reviewer.review import Review
from reviewer.safe_text import printable
from reviewer.vocabulary import CATEGORIES, SEVERITIES, SEVERITY, severity_rank

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25000  # per run, as code scanning accepts
MAX_GZIP_BYTES = 10 * 1024 * 1024  # an upload, gzip-compressed
AUTOMATION_ID = "reviewer/"  # the analysis category: uploads with it replace each other's alerts
CATEGORY_TEXT = {
    "bug": "Code that does not do what it is meant to: wrong results, crashes, unhandled cases.",
    "security": "A weakness an attacker could use: injection, exposed secrets, missing checks.",
    "performance": "Work that is slower or heavier than it needs to be.",
    "maintainability": "Code that is hard to read, change or reuse safely.",
    "style": "Departures from the project's conventions.",
    "test": "Missing, wrong or fragile tests.",
}
SEVERITY_TEXT = {
    "critical": "Critical: must be fixed before merging.",
    "major": "Major: should be fixed before merging.",
    "minor": "Minor: worth fixing.",
    "nit": "Nit: optional polish.",
}


def _rule(category: str, severity: str) -> dict[str, Any]:
    text = f"{CATEGORY_TEXT[category]} {SEVERITY_TEXT[severity]}"
    properties: dict[str, Any] = {"tags": [category], "precision": "medium"}
    if category == "security":
        properties["tags"] = ["security"]
        properties["security-severity"] = SEVERITY[severity].security_severity  # code scanning reads it from a `security` rule
    return {
        "id": f"reviewer/{category}/{severity}",
        "name": f"{category.capitalize()}{severity.capitalize()}",
        "shortDescription": {"text": f"{severity.capitalize()} {category} finding from an AI code review"},
        "fullDescription": {"text": text},
        "help": {
            "text": f"{text} The alert's message says what reviewer found and why it matters.",
            "markdown": f"**{severity.capitalize()} {category} finding.** {text}\n\nThe alert's message says what reviewer found and why it matters.",
        },
        "defaultConfiguration": {"level": SEVERITY[severity].sarif_level},
        "properties": properties,
    }


RULES = [_rule(category, severity) for category in CATEGORIES for severity in SEVERITIES]
RULE_INDEX = {rule["id"]: i for i, rule in enumerate(RULES)}


def _result(placed: PlacedFinding) -> dict[str, Any]:
    f = placed.finding
    rule_id = f"reviewer/{f.category}/{f.severity}"
    # A URI: a space or `#` in a path must be percent-encoded, or `docs/my file#1.md` names another file.
    location = {
        "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": f.start_line or f.line, "endLine": f.line},
    }
    return {
        "ruleId": rule_id,
        "ruleIndex": RULE_INDEX[rule_id],
        "level": SEVERITY[f.severity].sarif_level,
        "message": {"text": printable(f"{f.title}\n\n{f.body}".strip())},  # shown as plain text: no control character survives
        "locations": [{"physicalLocation": location}],
        # Code scanning matches alerts across runs by `primaryLocationLineHash`; ours survives rewording and moved lines.
        "partialFingerprints": {"primaryLocationLineHash": placed.fingerprint, "reviewerFingerprint/v1": placed.fingerprint},
        "properties": {"severity": f.severity, "category": f.category},
    }


def to_dict(review: Review) -> dict[str, Any]:
    exportable = sorted(
        (p for p in review.findings if p.finding.side == "RIGHT" and p.placement is not Placement.OUTSIDE),
        key=lambda p: (severity_rank(p.finding.severity), p.finding.path, p.finding.line),
    )
    elsewhere = len(review.findings) - len(exportable)
    results = [_result(p) for p in exportable[:MAX_RESULTS]]
    document = _document(results, elsewhere, len(exportable) - len(results))
    # Over the size limit, the least severe results go until it fits (halving: a few compressions at most).
    while results and len(gzip.compress(json.dumps(document).encode())) > MAX_GZIP_BYTES:
        results = results[: len(results) // 2]
        document = _document(results, elsewhere, len(exportable) - len(results))
    return document


def _document(results: list[dict[str, Any]], elsewhere: int, over_limit: int) -> dict[str, Any]:
    notes = []
    if elsewhere:
        notes.append(f"{elsewhere} findings on removed lines or outside the change's files are not results: code scanning places alerts in the files as they are now")
    if over_limit:
        notes.append(f"{over_limit} less severe findings are left out: code scanning takes {MAX_RESULTS:,} results and 10 MB per upload")
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "reviewer", "version": __version__, "rules": RULES}},
        "automationDetails": {"id": AUTOMATION_ID},
        "results": results,
    }
    if notes:
        run["invocations"] = [
            {"executionSuccessful": True, "toolExecutionNotifications": [{"level": "note", "message": {"text": n}} for n in notes]}
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(review: Review, *, colour: bool = False) -> str:
    return json.dumps(to_dict(review), indent=2, ensure_ascii=False) + "\n"
