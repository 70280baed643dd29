"""How long the copy of a checkout that tools and agents read takes to make, with many secrets in it.

Run: .venv/bin/python benchmarks/agent_tree.py [files] [fixture files] [keys per fixture] [runs]
Builds a git repository of `files` Python modules (default 2,000) and `fixture files` JSON fixtures of
`keys per fixture` random 40-character tokens each (defaults 200 and 50: 10,000 values a pull request
could add on purpose), and prints the median time of `reviewer.backends.agent_cli.review_tree` over
`runs` runs (default 3), and how many values it masked with.

Every value found in one file is masked in every other (reviewer/known.py). Looked for value by value,
that was files × values `in` checks: 8.8 s at the defaults, 51 s at 5,000 files and 20,000 values.
"""

from __future__ import annotations

import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reviewer import redact
from reviewer.backends.agent_cli import review_tree


def repository(root: Path, files: int, fixtures: int, keys: int) -> None:
    randomly = random.Random(1)
    body = "".join(f"def f{i}(x):\n    return x + {i}  # an ordinary line of code\n" for i in range(60))
    for number in range(files):
        module = root / f"pkg{number % 50}" / f"mod{number}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(body, encoding="utf-8")
    for number in range(fixtures):
        tokens = ("".join(randomly.choice(string.ascii_letters + string.digits) for _ in range(40)) for _ in range(keys))
        fixture = root / "tests" / "fixtures" / f"keys{number}.json"
        fixture.parent.mkdir(parents=True, exist_ok=True)
        fixture.write_text("{\n" + ",\n".join(f'  "token_{i}": "{token}"' for i, token in enumerate(tokens)) + "\n}\n", encoding="utf-8")
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@example.invalid", "-c", "user.name=b", "commit", "-qm", "tree"]):
        subprocess.run(["git", "-C", str(root), *command], check=True, capture_output=True)


def main() -> None:
    given = [int(argument) for argument in sys.argv[1:5]]
    files, fixtures, keys, runs = given + [2000, 200, 50, 3][len(given) :]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "repo"
        root.mkdir()
        repository(root, files, fixtures, keys)
        redact.prepare()  # detect-secrets' detectors, made once per run whatever the tree
        times = []
        for run in range(runs):
            started = time.perf_counter()
            tree = review_tree(root, Path(folder) / f"copy{run}")
            times.append(time.perf_counter() - started)
        masked = sum(p.read_text(encoding="utf-8").count("[REDACTED:") for p in tree.rglob("*.json"))
    print(f"{files:,} modules, {fixtures:,} fixtures × {keys:,} keys: review_tree {statistics.median(times):.2f} s (median of {runs}), {masked:,} values masked")


if __name__ == "__main__":
    main()
