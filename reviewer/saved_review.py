"""A PR review saved to a file (`reviewer pr --output`) and read back (`reviewer publish`).

It holds what posting needs from the review, so reviewing and posting can
run in different jobs: the findings with their placement, the summary, usage
and cost, the head SHA reviewed. Not the PR's diff: the file may come from an
untrusted job, so `reviewer publish` fetches the diff from GitHub and places
every finding against it again (a `diff` in files of earlier versions is
ignored).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reviewer.backends.base import Usage
from reviewer.config import CATEGORIES, SEVERITIES
from reviewer.errors import ConfigError
from reviewer.filters import Skipped
from reviewer.findings import Finding
from reviewer.placement import PlacedFinding, Placement
from reviewer.redact import redact_diff_text
from reviewer.review import Answered, Review
from reviewer.summary import FileNote, Summary

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
FORMAT = "reviewer-pr-review/1"


@dataclass(frozen=True)
class SavedReview:
    repo: str  # owner/name
    number: int
    head_sha: str
    base_sha: str
    review: Review
    diff: str  # the PR's whole diff, as parsed when the review ran; not saved (`load` leaves it empty)
    since_sha: str | None = None  # set when only the changes since this SHA were reviewed
    not_reviewed_reason: str | None = None  # the whole PR was skipped (too large...): say so in the summary

    def __post_init__(self) -> None:
        # Held, saved and placed against redacted: the same lines and numbers, no secret in the file.
        object.__setattr__(self, "diff", redact_diff_text(self.diff))


def dump(saved: SavedReview) -> str:
    review = saved.review
    document: dict[str, Any] = {
        "format": FORMAT,
        "repo": saved.repo,
        "number": saved.number,
        "head_sha": saved.head_sha,
        "base_sha": saved.base_sha,
        "since_sha": saved.since_sha,
        "not_reviewed_reason": saved.not_reviewed_reason,
        "findings": [
            {**asdict(p.finding), "placement": p.placement.value, "fingerprint": p.fingerprint} for p in review.findings
        ],
        "summary": asdict(review.summary) if review.summary else None,
        "usage": asdict(review.usage),
        "cost_usd": review.cost_usd,
        "skipped": [asdict(s) for s in review.skipped],
        "errors": list(review.errors),
        "notes": list(review.notes),
        "answered_by": [asdict(a) for a in review.answered],
        "incomplete": review.incomplete,
        "description": review.description,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def save(saved: SavedReview, path: Path) -> None:
    try:
        path.write_text(dump(saved), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {path}: cannot write it ({exc.strerror})") from None


def load(path: Path) -> SavedReview:
    """The saved review, every field checked; its `diff` is empty: the caller fetches the PR's diff from GitHub."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a review saved by `reviewer pr --output` (format {FORMAT})")
    try:
        return _from_document(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: damaged saved review ({type(exc).__name__}: {exc})") from None


def _usage(u: dict[str, Any]) -> Usage:
    usage = Usage(**u)
    if not all(isinstance(getattr(usage, f.name), int) and getattr(usage, f.name) >= 0 for f in dataclasses.fields(usage)):
        raise ValueError("usage counts must be whole numbers")
    return usage


def _finding(f: dict[str, Any]) -> Finding:
    """A finding from the file, every field checked: the file may come from an untrusted job."""
    finding = Finding(**{k: v for k, v in f.items() if k not in ("placement", "fingerprint")})
    checks = {
        "severity": finding.severity in SEVERITIES,
        "category": finding.category in CATEGORIES,
        "side": finding.side in ("RIGHT", "LEFT"),
        "line": isinstance(finding.line, int) and finding.line >= 1,
        "start_line": finding.start_line is None or (isinstance(finding.start_line, int) and 1 <= finding.start_line),
        "path": isinstance(finding.path, str) and bool(finding.path),
        "title": isinstance(finding.title, str),
        "body": isinstance(finding.body, str),
        "suggestion": finding.suggestion is None or isinstance(finding.suggestion, str),
    }
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"finding {finding.path!r}:{finding.line!r} has an invalid {', '.join(bad)}")
    return finding


def _from_document(d: dict[str, Any]) -> SavedReview:
    findings = tuple(
        PlacedFinding(_finding(f), Placement(f["placement"]), str(f["fingerprint"])) for f in d["findings"]
    )
    s = d.get("summary")
    summary = (
        Summary(s["title"], tuple(FileNote(**n) for n in s["walkthrough"]), tuple(s["risks"]), s.get("prose", ""))
        if s
        else None
    )
    answered = tuple(
        Answered(a["task"], a["backend"], a["model"], tuple(a["paths"]), _usage(a["usage"]), float(a["cost_usd"]))
        for a in d.get("answered_by", [])
    )
    review = Review(
        findings=findings,
        summary=summary,
        usage=_usage(d["usage"]),
        cost_usd=float(d["cost_usd"]),
        skipped=tuple(Skipped(**x) for x in d["skipped"]),
        errors=tuple(d["errors"]),
        answered=answered,
        notes=tuple(d.get("notes", [])),
        incomplete=bool(d.get("incomplete", False)),
        description=d.get("description", ""),
    )
    for key in ("head_sha", "base_sha", "since_sha"):
        if d.get(key) is not None and not _SHA.fullmatch(str(d[key])):
            raise ValueError(f"{key} is not a commit SHA")
    return SavedReview(
        repo=d["repo"],
        number=int(d["number"]),
        head_sha=d["head_sha"],
        base_sha=d["base_sha"],
        review=review,
        diff="",
        since_sha=d.get("since_sha"),
        not_reviewed_reason=d.get("not_reviewed_reason"),
    )
