"""How fast secrets are found in a large diff: the plain scan, the prefiltered one, and detect-secrets' own `scan_line`.

Run: .venv/bin/python benchmarks/redact_bench.py [megabytes] [runs]
Builds a diff of real Python source (the installed packages' own files, every line added) of about
that size (default 2 MB), with a secret in it, and prints the median time of each way over `runs`
runs (default 5):

- plain: every pattern run over the whole of each hunk, as the scan did before the prefilter;
- with the prefilter (reviewer/prefilter.py): each pattern runs once over all hunks, on the lines that
  could hold a match only. Both find the same secrets (tests/test_prefilter.py).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from reviewer import redact
from reviewer.diff import parse_diff


def source_lines(megabytes: float) -> list[str]:
    import click

    root = Path(click.__file__).resolve().parents[1]  # site-packages: code as people write it
    lines: list[str] = []
    size = 0
    for path in sorted(root.rglob("*.py")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            lines.append(line)
            size += len(line) + 1
            if size >= megabytes * 1e6:
                return lines
    return lines


def as_diff(lines: list[str], per_file: int = 500) -> str:
    out = []
    for start in range(0, len(lines), per_file):
        chunk = lines[start : start + per_file]
        name = f"src/f{start // per_file}.py"
        out.append(f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n+++ b/{name}\n@@ -0,0 +1,{len(chunk)} @@\n")
        out.extend(f"+{line}\n" for line in chunk)
    return "".join(out)


def median(label: str, work: Callable[[], object], runs: int) -> float:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(f"{label}: {seconds * 1000:,.0f} ms" + (f" ({result})" if result is not None else ""))
    return seconds


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    lines = source_lines(megabytes)
    lines[len(lines) // 2] = "AWS_ACCESS_KEY_ID = 'AKIA" + "Q3EGRWFAXQ7Z4T2M'"  # one secret, so the path that masks runs too
    diff = parse_diff(as_diff(lines))
    hunks = ["\n".join(line.text for line in hunk.lines) for file in diff.files for hunk in file.hunks]
    print(f"{len(lines):,} lines, {sum(map(len, hunks)) / 1e6:.1f} MB, {len(hunks)} hunks; median of {runs} runs")
    redact.find_each(["x" * 3000], prefilter=True)  # importing detect-secrets (~0.1 s) and reading the patterns: once a run

    def found(prefilter: bool) -> str:
        return f"{sum(map(len, redact.find_each(hunks, prefilter=prefilter)))} found"

    plain = median("plain: every pattern over all of each hunk (the scan before the prefilter)", lambda: found(False), runs)
    fast = median("with the prefilter: each pattern once, on the lines that could hold a match", lambda: found(True), runs)
    print(f"  → {plain / fast:.1f}× faster")
    median("redact_diff on the parsed diff (as a review runs it)", lambda: f"{len(redact.redact_diff(diff)[1])} found", runs)
    twenty_thousand = parse_diff(as_diff(lines[:20000]))
    median("redact_diff on a 20,000-line diff", lambda: f"{len(redact.redact_diff(twenty_thousand)[1])} found", runs)

    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    sample = lines[:2000]
    with default_settings():
        seconds = median(f"detect-secrets scan_line, all plugins and filters, {len(sample):,} lines", lambda: sum(
            1 for line in sample for _ in scan_line(line)
        ), 1)
    print(f"  → about {seconds * len(lines) / len(sample):,.1f} s for all {len(lines):,} lines")


if __name__ == "__main__":
    main()
