"""Secrets end to end: nothing of them reaches the model, and nothing of them is printed, saved or posted."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from reviewer.cli import run
from tests import secret_values as s
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Recorded, Reply

SECRETS = (s.AWS_ACCESS_KEY, s.AWS_SECRET_KEY, s.DB_PASSWORD, s.STRIPE_KEY, s.GITHUB_TOKEN, s.SLACK_TOKEN)


def committed_secrets(repo: GitRepo) -> None:
    """main, then a branch: a config file with an AWS key, a Slack token in code, a staged .env."""
    repo.write("app/config.py", "REGION = 'eu-west-1'\n")
    repo.write("app/notify.py", "def notify(text):\n    pass\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        "app/config.py",
        f"REGION = 'eu-west-1'\nAWS_ACCESS_KEY_ID = '{s.AWS_ACCESS_KEY}'\nAWS_SECRET_ACCESS_KEY = '{s.AWS_SECRET_KEY}'\n",
    )
    repo.write("app/notify.py", f"SLACK = '{s.SLACK_TOKEN}'\n\n\ndef notify(text):\n    pass\n")
    repo.commit("settings")
    repo.write(".env", f"DB_PASSWORD={s.DB_PASSWORD}\nSTRIPE_KEY={s.STRIPE_KEY}\nGH_TOKEN={s.GITHUB_TOKEN}\n")
    repo.git("add", ".env")


def leaked(text: str) -> list[str]:
    return [value for value in SECRETS if value in text]


def wire(server: ModelServer) -> str:
    """Everything the model server received: bodies and headers."""
    return "\n".join(json.dumps(r.body) + json.dumps(r.headers) for r in server.requests)


def local(server: ModelServer, *extra: str) -> list[str]:
    return ["local", "--base", "main", "--base-url", server.openai_url, "--model", "m", *extra]


def test_no_secret_reaches_the_model_and_each_is_reported(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    committed_secrets(repo)
    code = run(local(model_server, "--format", "json", "--fail-on", "critical"))
    result = json.loads(capsys.readouterr().out)

    assert model_server.posts(), "the review was sent"
    assert leaked(wire(model_server)) == []
    assert "[REDACTED:aws-access-key:" in wire(model_server)
    assert {k["path"]: k["reason"] for k in result["skipped"]}[".env"] == "may hold secrets: not sent to any model"
    found = {(f["path"], f["line"], f["title"], f["severity"], f["anchored"]) for f in result["findings"]}
    assert found >= {
        ("app/config.py", 2, "Secret committed: AWS access key", "critical", True),
        ("app/config.py", 3, "Secret committed: AWS secret key", "critical", True),
        ("app/notify.py", 1, "Secret committed: Slack token", "critical", True),
        (".env", 1, "Secret committed: secret in an assignment", "critical", True),
        (".env", 2, "Secret committed: Stripe key", "critical", True),
        (".env", 3, "Secret committed: GitHub token", "critical", True),
    }
    assert leaked(json.dumps(result)) == []
    assert code == 1  # critical findings, --fail-on critical

    assert run(local(model_server, "--format", "json", "--fail-on", "none")) == 0
    capsys.readouterr()

    sent = len(model_server.requests)
    assert run(local(model_server, "--dry-run", "--verbose")) == 0  # the plan prints the prompts: redacted too
    out = capsys.readouterr().out
    assert "[REDACTED:aws-access-key:" in out and leaked(out) == [] and len(model_server.requests) == sent


def test_a_change_of_only_a_secret_file_is_still_reported(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("README.md", "# app\n")
    repo.commit("base")
    repo.write(".env", f"STRIPE_KEY={s.STRIPE_KEY}\n")
    repo.git("add", ".env")
    code = run(local(model_server, "--format", "json", "--fail-on", "major"))
    result = json.loads(capsys.readouterr().out)
    assert model_server.requests == []  # nothing to send
    assert [(f["path"], f["title"]) for f in result["findings"]] == [(".env", "Secret committed: Stripe key")]
    assert code == 1


def quoting_answer(request: Recorded) -> Reply:
    """A model that repeats secrets verbatim (it could have seen them elsewhere: the repository, a tool)."""
    answer = {
        "findings": [
            {
                "path": "app/config.py", "line": 2, "severity": "major", "category": "security",
                "title": f"Hard-coded key {s.AWS_ACCESS_KEY}",
                "body": f"The key `{s.AWS_SECRET_KEY}` and the token {s.GITHUB_TOKEN} are in the code.",
                "suggestion": f"AWS_ACCESS_KEY_ID = '{s.AWS_ACCESS_KEY}'  # keep",
            }
        ]
    }  # fmt: skip
    return Reply(content=json.dumps(answer))


@pytest.mark.parametrize("output_format", ["json", "sarif", "markdown", "github", "text"])
def test_a_secret_the_model_quotes_is_not_printed(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    committed_secrets(repo)
    model_server.responder = quoting_answer
    run(local(model_server, "--format", output_format))
    out, err = capsys.readouterr()
    assert "Hard-coded key [REDACTED" in out  # (the github format writes the rest with %3A for ':')
    assert leaked(out + err) == []


def test_a_saved_and_published_pr_review_holds_no_secret(
    scenario: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    def add_secrets(repo: GitRepo) -> None:
        repo.write("src/keys.py", f"STRIPE = '{s.STRIPE_KEY}'\nAWS = '{s.AWS_ACCESS_KEY}'\n")
        repo.write(".env", f"DB_PASSWORD={s.DB_PASSWORD}\n")

    _, head = make_pull(scenario.repo, gh, edit=add_secrets)
    scenario.findings = [finding("src/keys.py", 1, "major", "security", f"Key {s.STRIPE_KEY} committed", body=f"Also {s.DB_PASSWORD}.")]
    saved = tmp_path / "review.json"
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*args, "--no-post", "--output", str(saved), "--fail-on", "critical"]) == 1
    text = saved.read_text()
    assert leaked(text) == [] and leaked(wire(scenario.model)) == []
    document = json.loads(text)
    titles = {(f["path"], f["line"], f["title"]) for f in document["review"]["findings"]}
    assert ("src/keys.py", 2, "Secret committed: AWS access key") in titles
    assert (".env", 1, "Secret committed: secret in an assignment") in titles

    monkeypatch.setenv("GITHUB_REPOSITORY", gh.repo)
    assert run(["publish", str(saved), "--head-sha", head, "--head-repo", gh.repo, "--head-branch", "feature", "--config", str(scenario.config)]) == 0
    posted = json.dumps([c["body"] for c in gh.visible_comments()] + [c["body"] for c in gh.issue_comments])
    assert "Secret committed: AWS access key" in posted
    assert leaked(posted) == []
    capsys.readouterr()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_backend_error_does_not_print_a_key_in_the_base_url(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    committed_secrets(repo)
    base_url = f"http://127.0.0.1:{closed_port()}/{s.OPENAI_KEY}/v1"
    config = repo.root.parent / "user.toml"
    config.write_text(f'[backends.proxy]\nbase_url = "{base_url}"\nmodel = "m"\nmax_retries = 0\n[routes]\nreview = ["proxy"]\n')
    code = run(["local", "--base", "main", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 3
    assert json.loads(out)["errors"] and "127.0.0.1" in out
    assert s.OPENAI_KEY not in out + err

    model_server.queue(Reply(status=500, error=f"upstream refused key {s.DEEPSEEK_KEY}"), *[Reply(status=500, error=f"again {s.DEEPSEEK_KEY}")] * 8)
    code = run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 3 and s.DEEPSEEK_KEY not in out + err


def test_config_show_masks_a_key_in_the_path(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", f'[backends.proxy]\nbase_url = "https://gw.example/{s.OPENAI_KEY}/v1#{s.GITHUB_TOKEN}"\nmodel = "m"\n')
    assert run(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert 'base_url = "https://gw.example/***/v1#***"' in out
    assert s.OPENAI_KEY not in out and s.GITHUB_TOKEN not in out
