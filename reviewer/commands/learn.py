"""`reviewer learn`: propose entries for `.reviewer/learnings.md` from what people said in our review threads.

Reads our threads on the repository's recent pull requests
(reviewer.github.feedback), groups the findings people declined, called
wrong, marked 👎 or resolved without a change (reviewer.learnings), and
prints the proposed entries with their evidence; `--write` merges them into
the file of this checkout, keeping every entry a person edited. The file then
goes through an ordinary pull request: reviews follow it once it is merged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewer.commands.common import RunOptions, build_config, config_option, environ, note
from reviewer.errors import ConfigError

if TYPE_CHECKING:
    from reviewer.github.feedback import Read
    from reviewer.learnings import Proposal


@click.command()
@click.option("--repo", metavar="OWNER/NAME", help="The repository (default: $GITHUB_REPOSITORY).")
@click.option("--token", help="GitHub token that can read its pull requests (default: $GITHUB_TOKEN).")
@click.option("--since", metavar="DAYS|DATE", help="Read pull requests updated since: `30d` (days ago) or 2026-01-31 (default: [learn] days).")
@click.option("--limit", type=click.IntRange(1), help="Read at most this many pull requests, the most recently updated first (default: [learn] max_pulls).")
@click.option("--min-evidence", type=click.IntRange(1), help="Threads a pattern needs before it is proposed (default: [learn] min_evidence).")
@click.option("--write", is_flag=True, help="Merge the proposals into .reviewer/learnings.md of this checkout (entries a person edited are kept).")
@click.option("--format", "output_format", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format.")
@config_option
def learn(
    repo: str | None, token: str | None, since: str | None, limit: int | None, min_evidence: int | None, write: bool, output_format: str, config_path: Path | None
) -> int:
    """Propose learnings from the team's answers to our review comments.

    \b
    Reads our review threads on the repository's recent pull requests (REST,
    and GraphQL for whether a thread was resolved): findings answered "won't
    fix" or "false positive", conceded by the reviewer's own answer, marked
    👎, or resolved without a change. Groups them by kind, category and path
    pattern, and proposes an entry for each group with enough threads, with
    the count and links to the threads. --write merges them into
    .reviewer/learnings.md, which every review reads from the base branch.
    """
    from reviewer.github.api import api_url, connect, github_errors
    from reviewer.github.feedback import collect
    from reviewer.learnings import LEARNINGS_FILE, merge, propose
    from reviewer.repo_files import WorkingTree
    from reviewer.sources.git import find_root

    env = environ()
    name = repo or env.get("GITHUB_REPOSITORY")
    if not name or name.count("/") != 1:
        raise ConfigError("name the repository: --repo OWNER/NAME (or set GITHUB_REPOSITORY)")
    root = find_root(Path.cwd())
    if write and root is None:
        raise ConfigError(f"--write updates {LEARNINGS_FILE} of a checkout: run it inside the repository's git checkout")
    config = build_config(RunOptions.plain(config_path), WorkingTree(root) if root else None, env=env)
    settings = config.learn
    start = since_date(since, settings.days, datetime.now(timezone.utc))
    with github_errors():
        gh = connect(token or env.get("GITHUB_TOKEN"), api_url(env), config.github)
        read = collect(gh, name, since=start, limit=limit or settings.max_pulls, bot_login=config.github.bot_login, note=note)
    proposals = propose(read.evidence, min_evidence or settings.min_evidence)
    written = None
    if write and root is not None:
        target = root / LEARNINGS_FILE
        existing = target.read_text(encoding="utf-8") if target.is_file() else None
        updated = merge(existing, proposals)
        if updated != existing and proposals:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(updated, encoding="utf-8")
            written = LEARNINGS_FILE
    click.echo(render(proposals, read, output_format, written), nl=False)
    return 0


def since_date(value: str | None, days: int, now: datetime) -> datetime:
    """`30d` or `30` (days before `now`), or a date (YYYY-MM-DD, UTC); `days` when not given."""
    if value is None:
        return now - timedelta(days=days)
    text = value.strip()
    if re.fullmatch(r"\d+d?", text):
        return now - timedelta(days=int(text.rstrip("d")))
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ConfigError(f"--since {value!r}: give a number of days (30d) or a date (2026-01-31)") from None


def render(proposals: Sequence[Proposal], read: Read, output_format: str, written: str | None, next_step: str = "--write adds them to .reviewer/learnings.md") -> str:
    if output_format == "json":
        from reviewer.redact import redact_each

        # A thread's path is the file's real one (GitHub's): named redacted, as everywhere we write a name. One pass for all.
        paths = list(dict.fromkeys(e.path for p in proposals for e in p.evidence))
        shown = dict(zip(paths, redact_each(paths), strict=True))
        document = {
            "pulls": read.pulls,
            "threads": read.threads,
            "evidence": len(read.evidence),
            "written": written,
            "proposals": [
                {
                    "id": p.id, "kind": p.kind, "category": p.category, "pattern": p.pattern, "count": len(p.evidence),
                    "evidence": [{"pull": e.number, "url": e.url, "path": shown[e.path], "title": e.title, "why": e.why} for e in p.evidence],
                    "markdown": p.markdown(),
                }
                for p in proposals
            ],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    out = [p.markdown() + "\n" for p in proposals]
    what = f"{len(proposals)} learning{'s' if len(proposals) != 1 else ''} proposed"
    tail = f"{what} from {len(read.evidence)} of {read.threads} threads of ours on {read.pulls} pull request{'s' if read.pulls != 1 else ''}"
    if written:
        tail += f"; written to {written} (open a pull request with it: reviews follow it once merged)"
    elif proposals and next_step:
        tail += f"; {next_step}"
    return "\n".join(out + [tail + "\n"])
