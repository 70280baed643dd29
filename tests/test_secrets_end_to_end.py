"""Secrets end to end: nothing of them reaches the model, and nothing of them is printed, saved or posted."""

from __future__ import annotations

import base64
import json
import re
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

    assert run(local(model_server, "--dry-run")) == 0
    plan = capsys.readouterr().out  # no table of no requests: what is skipped, and the total
    assert plan.splitlines()[-1].startswith("dry run: 0 requests, ~0 prompt tokens"), plan
    assert "prompt tokens  context  est. cost" not in plan


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


def test_a_value_found_once_is_masked_wherever_else_the_pull_shows_it(
    scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password only its assignment marks, then passed bare on another line and quoted in the PR's body:
    nothing marks it there, yet it is the same secret."""
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    def add_password(repo: GitRepo) -> None:
        repo.write("src/db.py", f"password = '{s.DB_PASSWORD}'\n\n\ndef connect(db):\n    return db.login('admin', '{s.DB_PASSWORD}')\n")

    make_pull(scenario.repo, gh, edit=add_password, body=f"Moves the login to src/db.py; its password is now {s.DB_PASSWORD}.")
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*args, "--no-post", "--format", "json", "--fail-on", "none"]) == 0
    result = json.loads(capsys.readouterr().out)

    sent = wire(scenario.model)
    assert scenario.model.posts() and s.DB_PASSWORD not in sent
    assert "its password is now [REDACTED:secret-assignment:" in sent
    assert "db.login('admin', '[REDACTED:secret-assignment:" in sent
    titles = [(f["path"], f["line"], f["title"]) for f in result["findings"] if f["title"].startswith("Secret")]
    assert titles == [("src/db.py", 1, "Secret committed: secret in an assignment")]  # one finding: where it is assigned


def password_then_its_bare_use(repo: GitRepo) -> None:
    """The change assigns a password and newly calls a function whose body (unchanged, read from the tree) holds it bare."""
    repo.write("app/creds.py", f"def login(db):\n    return db.connect('admin', '{s.DB_PASSWORD}')\n")
    repo.write("app/main.py", "def main():\n    return 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/main.py", f"password = '{s.DB_PASSWORD}'\n\n\ndef main():\n    return login(None)\n")
    repo.commit("feature")


def test_a_value_found_in_the_diff_is_masked_in_a_definition_read_for_context(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A definition read for context holds bare the password the change assigns (password_then_its_bare_use)."""
    password_then_its_bare_use(repo)
    assert run(local(model_server)) == 0
    capsys.readouterr()
    sent = wire(model_server)
    assert "definition of `login`" in sent
    assert s.DB_PASSWORD not in sent and "connect('admin', '[REDACTED:secret-assignment:" in sent


def test_a_value_found_in_the_diff_is_masked_in_the_verifiers_code_context(
    repo: GitRepo, model_server: ModelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As above, for the verification request: it reads the same definition for context around a finding."""
    password_then_its_bare_use(repo)
    config = tmp_path / "reviewer.toml"
    config.write_text('[routes]\nverify = "deepseek-flash"\n', encoding="utf-8")
    verifications: list[Recorded] = []

    def answer(request: Recorded) -> Reply:
        if "You check another reviewer's findings" in request.text:
            verifications.append(request)
            return Reply(content=json.dumps({"verdicts": []}))
        return Reply(content=json.dumps({"findings": [finding("app/main.py", 5, title="login gets None")]}))

    model_server.responder = answer
    assert run([*local(model_server), "--config", str(config), "--fail-on", "none"]) == 0
    capsys.readouterr()
    [verification] = verifications
    assert "definition of `login`" in verification.text
    assert s.DB_PASSWORD not in wire(model_server) and "connect('admin', '[REDACTED:secret-assignment:" in verification.text


def test_a_value_found_in_the_diff_is_masked_in_a_question_about_the_pull(scenario: Scenario, gh: GitHubServer, capsys: pytest.CaptureFixture[str]) -> None:
    """`/ask`: the asker quotes the password the change assigns; the answer's request masks it there too."""

    def add_password(repo: GitRepo) -> None:
        repo.write("src/db.py", f"password = '{s.DB_PASSWORD}'\n")

    make_pull(scenario.repo, gh, edit=add_password, body=f"The password is {s.DB_PASSWORD} now.")
    scenario.chat_answer = "It moves the login."
    event = scenario.ask_event(1, f"/ask Why is {s.DB_PASSWORD} in src/db.py?", login="alice", association="COLLABORATOR")
    result = scenario.action("issue_comment", event, capsys)
    assert result.code == 0, result.stderr
    [request] = scenario.chat_requests()
    assert s.DB_PASSWORD not in wire(scenario.model)
    assert "Why is [REDACTED:secret-assignment:" in request.text and "The password is [REDACTED:secret-assignment:" in request.text


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


def test_a_secret_in_a_file_name_never_reaches_the_model_in_any_part(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """A change in several requests lists its files in each: the list is scanned like the rest (a name can hold a key)."""
    repo.write("README.md", "# app\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for n in range(3):
        repo.write(f"src/part{n}.py", "".join(f"def f{n}_{i}(x):\n    return x * {i}\n" for i in range(150)))
    repo.write(f"leaked/{s.AWS_ACCESS_KEY}.txt", "the name is the secret\n")
    repo.commit("feature")
    (repo.root / "small-chunks.toml").write_text("[review]\nmax_chunk_tokens = 1000\n", encoding="utf-8")
    assert run(local(model_server, "--config", str(repo.root / "small-chunks.toml"), "--format", "json")) in (0, 1)
    capsys.readouterr()
    requests = model_server.posts()
    assert len(requests) > 2 and all("Files in the whole change" in r.text for r in requests)
    assert leaked(wire(model_server)) == []
    assert "[REDACTED:aws-access-key:" in wire(model_server)


def shown_names(server: ModelServer) -> list[str]:
    """The files' names as the requests showed them, from the diff headers: what a model cites."""
    return sorted({m.group(1) for r in server.posts() for m in re.finditer(r"^--- (\S+) \(", r.text, re.MULTILINE)})


def test_a_name_that_held_a_secret_before_the_change_is_masked_and_not_reported_as_committed(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rename away from a secret name, and a change to a file in a folder named by one: neither name reaches the
    model (the diff header, the code around the change) nor our output; neither is committed by this change.
    A rename to a name holding a secret is: it is reported, once, on the file."""
    repo.write(f"keys/{s.AWS_ACCESS_KEY}.txt", "".join(f"entry {i}\n" for i in range(20)))
    repo.write(f"vault/{s.GITHUB_TOKEN}/app.py", "def load(path):\n    return open(path).read()\n")
    repo.write("notes.txt", "".join(f"note {i}\n" for i in range(20)))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("mv", f"keys/{s.AWS_ACCESS_KEY}.txt", "keys/rotated.txt")
    repo.write("keys/rotated.txt", "".join(f"entry {i}\n" for i in range(19)) + "entry 19, edited\n")
    repo.write(f"vault/{s.GITHUB_TOKEN}/app.py", "def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    (repo.root / "notes").mkdir()
    repo.git("mv", "notes.txt", f"notes/{s.STRIPE_KEY}.txt")
    repo.commit("feature")

    assert run(local(model_server, "--format", "json")) == 0
    result = json.loads(capsys.readouterr().out)
    sent = wire(model_server)
    assert leaked(sent) == []
    assert "(renamed from keys/[REDACTED:aws-access-key:" in sent  # the old name, in the rename's header
    assert "--- vault/[REDACTED:github-token:" in sent and ": whole file (lines 1-3)" in sent  # the code around it too
    assert leaked(json.dumps(result)) == []
    committed = [(f["path"], f["line"], f["title"], f["anchored"]) for f in result["findings"] if "committed" in f["title"]]
    assert len(committed) == 1
    path, line, title, anchored = committed[0]
    assert path.startswith("notes/[REDACTED:stripe-key:") and (line, title) == (1, "Secret committed: Stripe key in the file name")
    assert not anchored  # a pure rename: line 1 is not in the diff, so it is a comment on the file

    assert run(local(model_server, "--format", "text")) == 0
    out, err = capsys.readouterr()
    assert "Secret committed: Stripe key in the file name" in out and leaked(out + err) == []


def cites_the_leaked_file(request: Recorded) -> Reply:
    """A model that comments on the file it was shown, by the name the request gave it."""
    name = next(n for n in re.findall(r"^--- (\S+) \(added\)", request.text, re.MULTILINE) if n.startswith("leaked/"))
    finding = {"path": name, "line": 1, "severity": "major", "category": "bug", "title": "Odd file", "body": f"{name} is odd."}
    return Reply(content=json.dumps({"findings": [finding]}))


@pytest.mark.parametrize("output_format", ["json", "text", "sarif", "markdown", "github"])
def test_a_finding_on_the_redacted_name_lands_on_the_real_file(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    repo.write("README.md", "# app\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(f"leaked/{s.AWS_ACCESS_KEY}.txt", "the name is the secret\n")
    repo.commit("feature")
    model_server.responder = cites_the_leaked_file
    code = run(local(model_server, "--format", output_format, "--fail-on", "none"))
    out, err = capsys.readouterr()
    assert code == 0 and leaked(out + err) == [] and leaked(wire(model_server)) == []
    assert "Odd file" in out
    if output_format != "json":
        return
    (shown,) = shown_names(model_server)
    found = {f["title"]: (f["path"], f["line"], f["placement"]) for f in json.loads(out)["findings"]}
    assert found == {
        "Odd file": (shown, 1, "line"),  # on the diff's line: the name was mapped back to the file
        "Secret committed: AWS access key in the file name": (shown, 1, "line"),
    }


def test_a_pr_with_a_secret_in_a_file_name_posts_on_the_file_and_never_names_it(
    scenario: Scenario, gh: GitHubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inline comments go to the real path (an API parameter: GitHub shows the file anyway); our text, the saved
    review, the summary and its hidden state name the file redacted, and a later publish maps it back."""
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    real = f"leaked/{s.AWS_ACCESS_KEY}.py"
    _, head = make_pull(scenario.repo, gh, edit=lambda repo: repo.write(real, "x = 1\ny = 2\n"))
    answer = scenario.model.responder

    def cite(request: Recorded) -> Reply:
        name = next((n for n in shown_names(scenario.model) if n.startswith("leaked/")), real)
        scenario.findings = [finding(name, 2, "major", title="Unused y"), finding(name, 1, "nit", title="Name x better")]
        return answer(request)

    scenario.model.responder = cite
    saved = tmp_path / "review.json"
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", scenario.model.openai_url, "--model", "m", "--config", str(scenario.config)]
    assert run([*args, "--no-post", "--output", str(saved), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    (shown,) = [n for n in shown_names(scenario.model) if n.startswith("leaked/")]
    text = saved.read_text()
    assert leaked(out + err + text + wire(scenario.model)) == []
    paths = {f["title"]: f["path"] for f in json.loads(text)["review"]["findings"]}
    assert paths == {"Unused y": shown, "Name x better": shown, "Secret committed: AWS access key in the file name": shown}

    monkeypatch.setenv("GITHUB_REPOSITORY", gh.repo)
    assert run(["publish", str(saved), "--head-sha", head, "--head-repo", gh.repo, "--head-branch", "feature", "--config", str(scenario.config)]) == 0
    capsys.readouterr()
    inline = {(c["path"], c["line"], c["body"].split("\n")[1]) for c in gh.visible_comments()}
    assert inline == {
        (real, 2, "**🟠 major · bug**: Unused y"),
        (real, 1, "**🔴 critical · security**: Secret committed: AWS access key in the file name"),
    }
    (summary,) = [c["body"] for c in gh.issue_comments]
    assert f"`{shown}:1`" in summary  # the nit, listed in the summary by the name as shown
    state = base64.urlsafe_b64decode(re.search(r"state=([A-Za-z0-9_=-]+) -->", summary).group(1)).decode()  # type: ignore[union-attr]
    assert shown in state
    assert leaked(json.dumps([c["body"] for c in gh.visible_comments()]) + summary + state) == []


def test_a_dry_run_and_a_run_over_the_cost_limit_list_files_by_their_redacted_names(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan's table, its JSON, `prompts render`'s request lines, the files left out when the cost gate sends
    nothing, an untracked file's reason."""
    repo.write("README.md", "# app\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/big.py", "".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(150)))
    repo.write(f"leaked/{s.AWS_ACCESS_KEY}.txt", "the name is the secret\n")
    repo.commit("feature")
    repo.write(f"drafts/{s.GITHUB_TOKEN}.md", "not added yet\n")  # untracked: listed as not reviewed, with how to add it
    small = repo.root.parent / "small-chunks.toml"
    small.write_text("[review]\nmax_chunk_tokens = 1000\n", encoding="utf-8")
    for output_format in ("text", "json"):
        assert run(local(model_server, "--dry-run", "--format", output_format)) == 0
        out, err = capsys.readouterr()
        assert "leaked/[REDACTED:aws-access-key:" in out and "drafts/[REDACTED:github-token:" in out
        assert leaked(out + err) == []
    assert run(["prompts", "render", "review_user.j2", "--base", "main", "--config", str(small)]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^=== request \d/\d: leaked/\[REDACTED:aws-access-key:", out, re.MULTILINE) and leaked(out + err) == []

    priced = repo.root.parent / "priced.toml"
    priced.write_text(
        f'[routes]\nreview = "priced"\n[backends.priced]\nbase_url = "{model_server.openai_url}"\nmodel = "m"\n'
        "price_input = 1000.0\nprice_cached_input = 1000.0\nprice_output = 1000.0\n[review]\nmax_cost_usd = 0.01\n",
        encoding="utf-8",
    )
    assert run(["local", "--base", "main", "--config", str(priced), "--format", "json"]) == 3
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert model_server.requests == [] and leaked(out + err) == []
    reasons = {k["path"]: k["reason"] for k in result["skipped"]}
    assert any(p.startswith("leaked/[REDACTED:aws-access-key:") and r.startswith("not reviewed: not sent") for p, r in reasons.items())
