"""Parse, filter and plan a large change: N files of M changed lines each.

Run: .venv/bin/python benchmarks/large_diff.py [files] [lines_per_file]
Prints the time and peak memory to parse the diff and build every request
(what --dry-run does), and how many requests the budget makes of it.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from reviewer.config import from_mapping
from reviewer.diff import parse_diff
from reviewer.prompts import Templates
from reviewer.review import plan_review


def synthetic_diff(files: int, lines: int) -> str:
    out = []
    for f in range(files):
        out.append(f"diff --git a/src/mod{f}.py b/src/mod{f}.py\nindex 1111111..2222222 100644\n--- a/src/mod{f}.py\n+++ b/src/mod{f}.py\n")
        out.append(f"@@ -1,{lines} +1,{lines} @@\n")
        for i in range(lines):
            out.append(f"-    value_{i} = compute({i})\n+    value_{i} = compute({i}, strict=True)\n")
    return "".join(out)


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    text = synthetic_diff(files, lines)
    tracemalloc.start()
    start = time.perf_counter()
    diff = parse_diff(text)
    parsed = time.perf_counter()
    plan = plan_review(diff, from_mapping({}, None), Templates(), description="benchmark", guidelines="")
    planned = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tokens = sum(r.prompt_tokens for r in plan.requests)
    print(f"{files} files x {lines * 2} changed lines ({len(text) / 1e6:.1f} MB of diff)")
    print(f"parse: {(parsed - start) * 1000:.0f} ms; plan {len(plan.requests)} requests (~{tokens:,} prompt tokens): "
          f"{(planned - parsed) * 1000:.0f} ms; peak memory {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
