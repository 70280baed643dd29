"""A pull request in a real git repository, served by the loopback GitHub, and the Actions environment around it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Recorded, Reply

APP_BASE = (
    "import os\n"
    "\n"
    "\n"
    "def load(path):\n"
    "    with open(path) as fh:\n"
    "        return fh.read()\n"
    + "".join(f"\n\ndef helper_{i}():\n    return {i}\n" for i in range(10))
)  # 46 lines: room for lines far from any hunk


def app_with(line6: str, extra: str = "") -> str:
    lines = APP_BASE.splitlines()
    lines[5] = line6
    return "\n".join(lines) + "\n" + extra


NEW_FILE = "def total(items):\n    result = 0\n    for item in items:\n        result += item\n    return result\n"


def finding(path: str, line: int, severity: str = "major", category: str = "bug", title: str = "A problem", **extra: Any) -> dict[str, Any]:
    return {"path": path, "line": line, "severity": severity, "category": category, "title": title, "body": extra.pop("body", "Why it matters."), **extra}


REVIEW_ANSWER = '{"findings": [\n'  # the answer format of a review request (the rules quote {"findings": []} too)
SUMMARY = {"title": "Load files with eval", "walkthrough": [{"path": "src/app.py", "summary": "load() now evaluates the file"}], "risks": ["eval runs code"]}


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    step_summary: str


class Scenario:
    """The repository, the two servers, and how to run `reviewer action` against them."""

    def __init__(self, repo: GitRepo, gh: GitHubServer, model: ModelServer, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.repo, self.gh, self.model, self.tmp, self.monkeypatch = repo, gh, model, tmp, monkeypatch
        self.findings: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = SUMMARY
        self.chat_answer = "The file is read and then evaluated as Python: anyone who can write it runs code here."
        model.responder = self._answer
        self.config = tmp / "reviewer-test.toml"
        self.config.write_text("[github]\nseconds_between_writes = 0.0\n", encoding="utf-8")
        self.runs = 0

    def _answer(self, request: Recorded) -> Reply:
        """What each request asks for: an answer in a thread, findings, a summary, or both in one answer."""
        if "<untrusted-question" in request.text:
            return Reply(content=self.chat_answer)
        answer: dict[str, Any] = {}
        if REVIEW_ANSWER in request.text:
            answer["findings"] = self.findings
        if '"walkthrough"' in request.text:
            answer.update(self.summary)
        return Reply(content=json.dumps(answer))

    def review_requests(self) -> list[Recorded]:
        return [r for r in self.model.posts() if REVIEW_ANSWER in r.text and "<untrusted-question" not in r.text]

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.model.posts() if "<untrusted-question" in r.text]

    def environ(self, event_name: str, payload: dict[str, Any], *, workspace: bool = False) -> dict[str, str]:
        self.runs += 1
        event = self.tmp / f"event-{self.runs}.json"
        event.write_text(json.dumps(payload), encoding="utf-8")
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": self.gh.repo,
            "GITHUB_API_URL": self.gh.api,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_OUTPUT": str(self.tmp / f"output-{self.runs}"),
            "GITHUB_STEP_SUMMARY": str(self.tmp / f"summary-{self.runs}.md"),
            "INPUT_BASE_URL": self.model.openai_url,
            "INPUT_MODEL": "deepseek-v4-pro",
            "INPUT_CONFIG": str(self.config),
            "INPUT_FAIL_ON": "none",
        }
        if workspace:
            env["GITHUB_WORKSPACE"] = str(self.repo.root)
        return env

    def action(
        self, event_name: str, payload: dict[str, Any], capsys: pytest.CaptureFixture[str], *, workspace: bool = False, drop: tuple[str, ...] = ()
    ) -> ActionRun:
        env = self.environ(event_name, payload, workspace=workspace)
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        for key in (*drop, *(() if workspace else ("GITHUB_WORKSPACE",))):
            self.monkeypatch.delenv(key, raising=False)
        capsys.readouterr()
        code = run(["action"])
        out = capsys.readouterr()
        outputs = parse_outputs(Path(env["GITHUB_OUTPUT"]))
        summary_path = Path(env["GITHUB_STEP_SUMMARY"])
        return ActionRun(code, out.out, out.err, outputs, summary_path.read_text(encoding="utf-8") if summary_path.exists() else "")

    def pull_event(self, number: int, action: str = "opened", **pull: Any) -> dict[str, Any]:
        p = self.gh.pulls[number]
        return {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "draft": p.draft,
                "head": {"sha": p.head_sha, "repo": {"full_name": f"{'contributor' if p.fork else 'acme'}/app", "fork": p.fork}},
                "base": {"sha": p.base_sha, "repo": {"full_name": self.gh.repo, "fork": False}},
                **pull,
            },
            "repository": {"full_name": self.gh.repo},
        }

    def comment_event(self, number: int, body: str, login: str = "maintainer", association: str = "MEMBER") -> dict[str, Any]:
        return {
            "action": "created",
            "issue": {"number": number, "pull_request": {"url": f"{self.gh.api}/repos/{self.gh.repo}/pulls/{number}"}},
            "comment": {"body": body, "user": {"login": login}, "author_association": association},
            "repository": {"full_name": self.gh.repo},
        }


    def review_comment_event(self, number: int, comment: dict[str, Any], association: str = "MEMBER") -> dict[str, Any]:
        """`pull_request_review_comment` created, for a comment the server holds."""
        fields = ("id", "body", "user", "path", "line", "side", "in_reply_to_id", "html_url", "pull_request_review_id")
        return {
            "action": "created",
            "comment": {**{k: comment.get(k) for k in fields}, "author_association": association},
            "pull_request": self.pull_event(number)["pull_request"],
            "repository": {"full_name": self.gh.repo},
        }

    def ask_event(self, number: int, body: str, login: str = "alice", association: str = "MEMBER") -> dict[str, Any]:
        """`issue_comment` created on the PR, for a comment the server now holds."""
        comment = self.gh.human_comment(number, body, login)
        event = self.comment_event(number, body, login, association)
        event["comment"].update(id=comment["id"], html_url=comment["html_url"])
        return event


def parse_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name<<DELIM` blocks."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        values[name] = "\n".join(iter(lambda: next(lines), delimiter))
    return values


def make_pull(repo: GitRepo, gh: GitHubServer, number: int = 1, *, edit: Callable[[GitRepo], None] | None = None, **meta: Any) -> tuple[str, str]:
    """main: app.py; feature: app.py line 6 uses eval, a new file. Returns (base, head)."""
    repo.write("src/app.py", APP_BASE)
    repo.write("README.md", "# app\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/app.py", app_with("        return eval(fh.read())"))
    repo.write("src/new.py", NEW_FILE)
    if edit:
        edit(repo)
    head = repo.commit("feature")
    gh.add_pull(number, base, head, **meta)
    return base, head


@pytest.fixture
def gh(repo: GitRepo) -> Iterator[GitHubServer]:
    # Served under /api/v3 as GitHub Enterprise Server is: every test also proves GITHUB_API_URL is honoured.
    with GitHubServer(repo.root, prefix="/api/v3") as server:
        yield server


@pytest.fixture
def scenario(repo: GitRepo, gh: GitHubServer, model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    return Scenario(repo, gh, model_server, tmp_path, monkeypatch)
