"""What a run on GitHub loads (issue 11: a 305-file pull request under 150 MB at the peak, at the speed of a local run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.github_fixtures import Scenario, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.test_github_pr import pr_args

ROOT = Path(__file__).resolve().parent.parent


def _python(script: str, *args: str) -> str:
    """`script` in a fresh interpreter (this one has loaded everything already), importing this checkout's reviewer."""
    done = subprocess.run([sys.executable, "-c", script, *args], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_pr_run_never_loads_pyjwt_or_cryptography(scenario: Scenario, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    make_pull(scenario.repo, gh)
    probe = "import sys; from reviewer.cli import run; code = run(sys.argv[1:]); print('RESULT', code, 'cryptography' in sys.modules)"
    out = _python(probe, *pr_args(scenario, "--no-post", "--format", "json"))
    assert '"findings"' in out  # the review was made and printed
    assert out.rsplit("RESULT", 1)[1].split() == ["0", "False"]


def test_github_app_auth_still_signs_its_token_with_pyjwt_deferred() -> None:
    probe = """
import sys
from reviewer.github.api import defer_jwt
defer_jwt()
import github
assert "cryptography" not in sys.modules, "PyJWT was loaded with PyGithub"
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
token = github.Auth.AppAuth("123", pem).token
import jwt
print("ISSUER", jwt.decode(token, key.public_key(), algorithms=["RS256"])["iss"])
"""
    assert _python(probe).split() == ["ISSUER", "123"]
