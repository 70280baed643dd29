"""`reviewer config show|check` and `reviewer prompts list|show|render`, run as a user would."""

from __future__ import annotations

import pytest

from reviewer.cli import run
from tests.conftest import GitRepo


def test_config_show_masks_keys(repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-hidden-value")
    assert run(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "# configuration from no file: built-in defaults" in out
    assert 'api_key_env = "DEEPSEEK_API_KEY"  # set' in out
    assert "sk-hidden-value" not in out


def test_config_show_masks_credentials_in_urls(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", '[backends.proxy]\nbase_url = "https://user:sekret@llm.example.com/v1?api_key=abc"\nmodel = "m"\n')
    assert run(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "sekret" not in out and "abc" not in out
    assert 'base_url = "https://user:***@llm.example.com/v1?api_key=***"' in out


def test_config_check_reports_missing_key(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check"]) == 2
    err = capsys.readouterr().err
    assert "backends.deepseek-pro.api_key_env: DEEPSEEK_API_KEY is not set" in err


def test_config_check_ok(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.trust()
    repo.write(".reviewer.toml", '[backends.box]\nbase_url = "http://localhost:8000/v1"\nmodel = "m"\n[routes]\nreview = "box"\nsummarize = "box"\n')
    assert run(["config", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_config_check_bad_file(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(".reviewer.toml", "[review]\nconcurrency = -1\n")
    assert run(["config", "check"]) == 2
    assert ".reviewer.toml: review.concurrency = -1 must be at least 1" in capsys.readouterr().err


def test_prompts_list_and_show(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(".reviewer/prompts/review_user.j2", "mine {{ diff }}")
    assert run(["prompts", "list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.startswith("review_user.j2") and "repository" in line for line in listing.splitlines())
    assert any(line.startswith("review_system.j2") and "packaged" in line for line in listing.splitlines())
    assert run(["prompts", "show", "review_user.j2"]) == 0
    assert capsys.readouterr().out == "mine {{ diff }}"


def test_prompts_render_on_the_real_change(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    repo.write("a.py", "x = 2\n")
    assert run(["prompts", "render", "review_user.j2"]) == 0
    out = capsys.readouterr().out
    assert "     1 + x = 2" in out and "     1 - x = 1" in out
    assert run(["prompts", "render", "_answer_format.j2"]) == 0
    assert '"findings"' in capsys.readouterr().out


def test_prompts_render_unknown(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    repo.write("a.py", "x = 2\n")
    assert run(["prompts", "render", "nope.j2"]) == 2
    assert "no prompt template named 'nope.j2'" in capsys.readouterr().err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("local", "summarize", "config", "prompts"):
        assert command in out
    assert run(["--version"]) == 0
    assert "reviewer, version" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["local", "--no-such-flag"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_help_imports_no_heavy_library() -> None:
    """`reviewer --help` stays fast because no SDK or parser is imported on its path."""
    import subprocess
    import sys

    heavy = ("openai", "anthropic", "github", "git", "jinja2", "unidiff", "pathspec", "rich")
    probe = (
        "import sys; from reviewer.cli import run; run(['--help']); run(['local', '--help']); "
        f"print('LOADED:' + ','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert output.rsplit("LOADED:", 1)[1].strip() == ""
