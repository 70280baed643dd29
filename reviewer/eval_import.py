"""Suites from the open Martian code-review benchmark (withmartian/code-review-benchmark).

Its `golden_comments/` folder holds one JSON file per repository: a list of
pull requests, each `{"pr_title", "url", "comments": [{"comment", "severity"}]}`
with severities Low, Medium, High, Critical. Each pull request becomes a case
named after the file and the PR number; its diff is fetched through the GitHub
API by the command, not here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.errors import ConfigError
from reviewer.evaluation import GOLDEN_SEVERITIES

GOLDEN_FOLDER = "golden_comments"


@dataclass(frozen=True)
class BenchmarkPull:
    case: str  # the case folder's name: FILE-NUMBER
    url: str
    title: str
    golden: tuple[dict[str, str], ...]  # as expected.json holds them


def read_folder(folder: Path) -> tuple[BenchmarkPull, ...]:
    """Every pull request of the benchmark folder (or of its golden_comments/ inside), by case name."""
    source = folder / GOLDEN_FOLDER if (folder / GOLDEN_FOLDER).is_dir() else folder
    files = sorted(source.glob("*.json")) if source.is_dir() else []
    if not files:
        raise ConfigError(f"{folder}: no golden comment files (*.json, or {GOLDEN_FOLDER}/*.json) to import")
    pulls = [pull for path in files for pull in read_file(path)]
    seen: set[str] = set()
    for pull in pulls:
        if pull.case in seen:
            raise ConfigError(f"{folder}: two pull requests make the case {pull.case!r}; keep one")
        seen.add(pull.case)
    return tuple(pulls)


def read_file(path: Path) -> tuple[BenchmarkPull, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f'{path}: must be a list of pull requests like {{"url": "...", "comments": [...]}}')
    return tuple(_pull(entry, path, i) for i, entry in enumerate(data))


def _pull(entry: Any, path: Path, index: int) -> BenchmarkPull:
    at = f"{path}: [{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise ConfigError(f"{at} must be an object with the pull request's url")
    number = re.search(r"/pull/(\d+)", entry["url"])
    if number is None:
        raise ConfigError(f"{at}.url {entry['url']!r} is not a pull request URL")
    comments = entry.get("comments")
    if not isinstance(comments, list) or not comments:
        raise ConfigError(f"{at}.comments must list the golden comments")
    golden = []
    for j, comment in enumerate(comments):
        text = comment.get("comment") if isinstance(comment, dict) else None
        severity = str(comment.get("severity", "")).strip().lower() if isinstance(comment, dict) else ""
        if not isinstance(text, str) or not text.strip() or severity not in GOLDEN_SEVERITIES:
            raise ConfigError(f"{at}.comments[{j}] needs a comment and a severity ({', '.join(GOLDEN_SEVERITIES)})")
        golden.append({"comment": text.strip(), "severity": severity})
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or "pull"
    return BenchmarkPull(f"{stem}-{number[1]}", entry["url"], str(entry.get("pr_title") or ""), tuple(golden))
