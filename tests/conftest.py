"""Shared fixtures: a loopback model server and real git repositories in temp folders."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model_server import ModelServer

pytest_plugins = ["tests.github_fixtures"]  # the loopback GitHub's fixtures: gh, scenario


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys, configuration, proxy, git identity or global git config."""
    for name in ("DEEPSEEK_API_KEY", "REVIEWER_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "NO_COLOR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    # Nor a proxy (a self-hosted runner's): the loopback servers are reached directly.
    for name in [name for name in os.environ if name.lower() in ("http_proxy", "https_proxy", "all_proxy")]:
        monkeypatch.delenv(name, raising=False)
    # Nor the CI environment when the suite itself runs in CI: `CI` alone turns on plain progress lines on stderr.
    for name in [name for name in os.environ if name == "CI" or name.startswith(("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_"))]:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.invalid")


class GitRepo:
    """A real git repository in a temp folder, driven through the git CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True)
        return done.stdout.decode("utf-8", "replace")

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def trust(self) -> None:
        """List this repository under [trust] in the user's own configuration (HOME is a temp folder here):
        its .reviewer.toml may then name endpoints, key variables and commands."""
        user_config = Path.home() / ".config" / "reviewer" / "config.toml"
        user_config.parent.mkdir(parents=True, exist_ok=True)
        user_config.write_text(f"[trust]\nrepositories = [{json.dumps(str(self.root))}]\n", encoding="utf-8")

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo = GitRepo(tmp_path / "repo")
    monkeypatch.chdir(git_repo.root)
    return git_repo
