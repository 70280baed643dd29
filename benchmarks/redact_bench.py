"""How fast secrets are found: our patterns, detect-secrets' regex plugins, and its own `scan_line`.

Run: .venv/bin/python benchmarks/redact_bench.py [megabytes]
Builds a diff of real Python source (the installed packages' own files, every
line added) of about that size (default 2 MB), with a few secrets in it, and
prints the time each way takes, and what a 20,000-line diff costs.
"""

from __future__ import annotations

import sys
import time
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


def timed(label: str, work: object) -> float:
    start = time.perf_counter()
    result = work() if callable(work) else None
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds * 1000:,.0f} ms" + (f" ({result})" if result is not None else ""))
    return seconds


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    lines = source_lines(megabytes)
    lines[len(lines) // 2] = "AWS_ACCESS_KEY_ID = 'AKIA" + "Q3EGRWFAXQ7Z4T2M'"  # one secret, so the path that masks runs too
    text = "\n".join(lines)
    print(f"{len(lines):,} lines, {len(text) / 1e6:.1f} MB")
    redact._plugins()  # importing detect-secrets (~0.1 s) is paid once per run, not per text
    timed("our patterns (token formats, assignments, key blocks, entropy)", lambda: sum(
        1 for _ in (*redact._specific(text), *redact._key_blocks(text), *redact._high_entropy(text))
    ))
    timed("detect-secrets regex plugins, as used", lambda: sum(1 for _ in redact._detect_secrets(text)))
    timed("find() in all (overlaps resolved)", lambda: f"{len(redact.find(text))} found")
    diff = parse_diff(as_diff(lines))
    timed("redact_diff on the parsed diff", lambda: f"{len(redact.redact_diff(diff)[1])} found")
    twenty_thousand = parse_diff(as_diff(lines[:20000]))
    timed("redact_diff on a 20,000-line diff (the target: well under 1 s)", lambda: f"{len(redact.redact_diff(twenty_thousand)[1])} found")

    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    sample = lines[:2000]
    with default_settings():
        seconds = timed(f"detect-secrets scan_line, all plugins and filters, {len(sample):,} lines", lambda: sum(
            1 for line in sample for _ in scan_line(line)
        ))
    print(f"  → about {seconds * len(lines) / len(sample):,.1f} s for all {len(lines):,} lines")


if __name__ == "__main__":
    main()
