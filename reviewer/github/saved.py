"""A PR review saved to a file (`reviewer pr --output`) and read back (`reviewer publish`).

It holds what posting needs from the review, so reviewing and posting can
run in different jobs: the findings with their placement, the summary, usage
and cost, the head SHA reviewed; the review in the very shape `--format json`
prints. Not the PR's diff: the file may come from an untrusted job, so
`reviewer publish` fetches the diff from GitHub and places every finding
against it again. A run that saves nothing hands its review over in memory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reviewer.errors import ConfigError
from reviewer.filters import Skipped
from reviewer.findings import Finding
from reviewer.github.comments import PullReview
from reviewer.placement import PlacedFinding, Placement
from reviewer.publishers import json as json_publisher
from reviewer.review import Answered, Review
from reviewer.safe_text import printable
from reviewer.summary import FileNote, Summary
from reviewer.vocabulary import CATEGORIES, SEVERITIES, Usage

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
FORMAT = "reviewer-pr-review/2"


def dump(pr_review: PullReview) -> str:
    """The PR and commits the review is of, and the review exactly as `--format json` prints it."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "repo": pr_review.repo,
        "number": pr_review.number,
        "head_sha": pr_review.head_sha,
        "base_sha": pr_review.base_sha,
        "since_sha": pr_review.since_sha,
        "not_reviewed_reason": pr_review.not_reviewed_reason,
        "api_url": pr_review.api_url,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),  # `reviewer cost` sums runs by month
        "review": json_publisher.to_dict(pr_review.review),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def save(pr_review: PullReview, path: Path) -> None:
    try:
        path.write_text(dump(pr_review), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {path}: cannot write it ({exc.strerror})") from None


class NotSaved(ConfigError):
    """A file that is no saved review at all (not JSON, or JSON of another kind), as against a damaged one."""


class OtherVersion(ConfigError):
    """A review saved by another version of reviewer, in a format this one does not read."""


@dataclass(frozen=True)
class Saved:
    pull_review: PullReview
    saved_at: datetime | None  # None: a file that does not say (older ones), or says nonsense


def load(path: Path) -> PullReview:
    """The saved review, every field checked: the file may come from an untrusted job."""
    return read(path).pull_review


def read(path: Path) -> Saved:
    """The saved review and when it was saved, every field checked: the file may come from an untrusted job."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the stack
        raise NotSaved(f"{path}: not JSON ({exc})") from None
    kind = document.get("format") if isinstance(document, dict) else None
    if isinstance(kind, str) and kind != FORMAT and kind.startswith(FORMAT.split("/")[0] + "/"):
        # A saved review all the same (a run that was paid for): never passed over as another kind of file.
        raise OtherVersion(f"{path}: saved by another version of reviewer (format {printable(kind, newlines=False)}); this one reads {FORMAT}")
    if kind != FORMAT:
        raise NotSaved(f"{path}: not a review saved by `reviewer pr --output` (format {FORMAT})")
    try:
        pull_review = _from_document(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: damaged saved review ({type(exc).__name__}: {exc})") from None
    return Saved(pull_review, _saved_at(document.get("saved_at")))


def _saved_at(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value).astimezone(timezone.utc) if isinstance(value, str) else None
    except (ValueError, OverflowError):  # year 9999 at UTC-1 is past datetime's range
        return None


def _usage(u: dict[str, Any]) -> Usage:
    usage = Usage(**{k: v for k, v in u.items() if k != "context_tokens"})  # context_tokens: kept on the Review
    if not all(isinstance(getattr(usage, f.name), int) and getattr(usage, f.name) >= 0 for f in dataclasses.fields(usage)):
        raise ValueError("usage counts must be whole numbers")
    return usage


def _finding(f: dict[str, Any]) -> Finding:
    """A finding from the file, every field checked: the file may come from an untrusted job."""
    finding = Finding(**{k: v for k, v in f.items() if k not in ("placement", "fingerprint", "anchored")})
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


def _from_document(d: dict[str, Any]) -> PullReview:
    r = d["review"]
    findings = tuple(PlacedFinding(_finding(f), Placement(f["placement"]), str(f["fingerprint"])) for f in r["findings"])
    s = r.get("summary_parts")
    summary = (
        Summary(str(s["title"]), tuple(FileNote(str(n["path"]), str(n["summary"])) for n in s["walkthrough"]), tuple(map(str, s["risks"])), str(s.get("prose", "")))
        if s
        else None
    )
    answered = tuple(
        Answered(str(a["task"]), str(a["backend"]), str(a["model"]), tuple(map(str, a["paths"])), _usage(a["usage"]), float(a["cost_usd"]))
        for a in r.get("answered_by", [])
    )
    review = Review(
        findings=findings,
        summary=summary,
        usage=_usage(r["usage"]),
        cost_usd=_amount(r["cost_usd"]),
        skipped=tuple(Skipped(str(x["path"]), str(x["reason"])) for x in r["skipped"]),
        errors=tuple(map(str, r["errors"])),
        answered=answered,
        notes=tuple(map(str, r.get("notes", []))),
        incomplete=bool(r.get("incomplete", False)),
        context_tokens=int(r["usage"].get("context_tokens", 0)),
    )
    for key in ("head_sha", "base_sha", "since_sha"):
        if d.get(key) is not None and not _SHA.fullmatch(str(d[key])):
            raise ValueError(f"{key} is not a commit SHA")
    reason = d.get("not_reviewed_reason")
    api = d.get("api_url")
    return PullReview(
        repo=str(d["repo"]),
        number=int(d["number"]),
        head_sha=d["head_sha"],
        base_sha=d["base_sha"],
        review=review,
        since_sha=d.get("since_sha"),
        not_reviewed_reason=str(reason) if reason is not None else None,
        api_url=str(api) if api is not None else None,
    )


def _amount(value: Any) -> float:
    amount = float(value)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError("cost_usd must be a finite, non-negative amount")
    return amount
