"""How long `reviewer --help` takes to start (target: well under 0.5 s).

Run: .venv/bin/python benchmarks/startup.py [runs]
Prints the median, best and worst wall time of a fresh process, and which
heavy modules (if any) the help path imported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

HEAVY = ("openai", "anthropic", "github", "git", "jinja2", "unidiff", "pathspec", "rich", "httpx", "pydantic")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    command = [sys.executable, "-m", "reviewer.cli", "--help"]
    subprocess.run(command, check=True, capture_output=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    probe = (
        "import sys; from reviewer.cli import run; run(['--help']); "
        f"print('LOADED:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    loaded = output.rsplit("LOADED:", 1)[1].strip()
    print(f"reviewer --help over {runs} runs: median {statistics.median(times) * 1000:.0f} ms, "
          f"best {min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms")
    print(f"heavy modules imported by --help: {loaded or 'none'}")


if __name__ == "__main__":
    main()
