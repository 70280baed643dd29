"""Work a run will need, done while it waits: the SDK its backends speak, and V4's vocabulary."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from reviewer import read_ahead, tokens
from reviewer.config import BackendConfig, Config, Routes
protocol = sys.argv[1]
config = Config(routes=Routes(review=("mine",)), backends={"mine": BackendConfig(name="mine", protocol=protocol, base_url="http://127.0.0.1:9", model="m", command="claude")})
read_ahead.start(config).join()
from reviewer import redact
print("anthropic" in sys.modules, "openai" in sys.modules, tokens._read_vocabulary.cache_info().currsize, redact._made_plugins.cache_info().currsize)
"""


def run(which: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, which], check=True, capture_output=True, text=True).stdout.split()


def test_the_sdk_of_the_routed_backends_the_vocabulary_and_the_secret_scanners_are_read() -> None:
    assert run("anthropic") == ["True", "False", "1", "1"]  # anthropic only: no backend speaks openai


def test_an_agent_backend_needs_no_sdk() -> None:
    assert run("claude-code") == ["False", "False", "1", "1"]
