"""How the plan's requests are built and sent: secrets in a team's template masked, the largest sent first."""

from __future__ import annotations

from pathlib import Path

from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer

KEY = "AKIA" + "Q3EGRWFAXQ7Z4T2M"


def test_a_secret_in_a_teams_template_is_masked_while_the_diff_goes_as_it_is(repo: GitRepo, model_server: ModelServer) -> None:
    """The diff is redacted once; the text around it (a template, the code context) is scanned on its own."""
    repo.write("app.py", "a = 1\n")
    repo.commit("base")
    repo.write("app.py", "a = 2  # the change\n")
    repo.write(".reviewer/prompts/review_user.j2", '{% extends "packaged/review_user.j2" %}{% block task %}aws_key = "' + KEY + '"\n{{ super() }}{% endblock %}')
    repo.commit("change")
    assert run(["local", "--range", "HEAD~1..HEAD", "--base-url", model_server.openai_url, "--model", "m", "--format", "json"]) == 0
    [request] = model_server.posts()
    assert KEY not in request.text and "aws_key = " in request.text
    assert "a = 2  # the change" in request.text


def test_the_largest_requests_are_sent_first(repo: GitRepo, model_server: ModelServer, tmp_path: Path) -> None:
    """A rule sends a/ to one backend: its small request comes first in the plan, and goes last."""
    repo.write("a/small.py", "a = 0\n")
    repo.write("b/large.py", "b = 0\n")
    repo.commit("base")
    repo.write("a/small.py", "a = 1\n")
    repo.write("b/large.py", "".join(f"beta_value_{i} = compute_beta({i}, strict=True)  # longer\n" for i in range(300)))
    repo.commit("change")
    backend = f'base_url = "{model_server.openai_url}"\nmodel = "m"\n'
    config = tmp_path / "c.toml"
    config.write_text(
        f'[routes]\nreview = ["one", "two"]\n\n[[routes.rules]]\npaths = ["a/**"]\nbackends = ["two"]\n\n'
        f'[backends.one]\n{backend}\n[backends.two]\n{backend}\n[review]\nconcurrency = 1\n',
        encoding="utf-8",
    )
    assert run(["local", "--range", "HEAD~1..HEAD", "--config", str(config), "--format", "json"]) == 0
    sent = [r.text for r in model_server.posts()]
    assert len(sent) == 2 and "b/large.py" in sent[0] and "a/small.py" in sent[1]
