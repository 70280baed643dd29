"""`reviewer config show|check` and `reviewer prompts list|show|render`, run as a user would."""

from __future__ import annotations

import re

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


def _changed(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    repo.write("a.py", "x = 2\n")


def test_a_full_replacement_of_the_system_template_still_gets_the_answer_format(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _changed(repo)
    repo.write(".reviewer/prompts/review_system.j2", "You review Python for a bank. Be strict.\n")
    assert run(["prompts", "render", "review_system.j2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("You review Python for a bank. Be strict.\n\nAnswer with one JSON object")
    assert '"findings"' in out and "critical|major|minor|nit" in out
    assert run(["prompts", "list"]) == 0
    assert "answer format: not included, so appended to the rendered message" in capsys.readouterr().out


def test_an_emptied_answer_format_block_is_put_back(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _changed(repo)
    repo.write(".reviewer/prompts/summarize_system.j2", '{% extends "packaged/summarize_system.j2" %}{% block answer_format %}{% endblock %}')
    assert run(["prompts", "render", "summarize_system.j2"]) == 0
    assert '"walkthrough"' in capsys.readouterr().out


def test_the_answer_format_itself_cannot_be_overridden(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _changed(repo)
    repo.write(".reviewer/prompts/_answer_format.j2", "Answer in prose.\n")
    assert run(["prompts", "render", "review_system.j2"]) == 2
    assert "_answer_format.j2: the answer format cannot be replaced" in capsys.readouterr().err


def test_a_misspelt_block_is_an_error_naming_the_blocks_that_exist(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _changed(repo)
    repo.write(".reviewer/prompts/review_system.j2", '{% extends "packaged/review_system.j2" %}\n{% block focuss %}SQL only.{% endblock %}\n')
    assert run(["local", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "review_system.j2: block 'focuss' (did you mean 'focus'?) is not a block of packaged/review_system.j2" in err
    assert "its blocks are: role, focus, rules, tools, untrusted, guidelines, answer_format" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_prompts_list_shows_blocks_and_variables(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(".reviewer/prompts/review_system.j2", '{% extends "packaged/review_system.j2" %}{% block focus %}{{ guidelines }}{% endblock %}')
    assert run(["prompts", "list"]) == 0
    out = capsys.readouterr().out
    start = lambda name: re.search(rf"^{re.escape(name)}", out, re.MULTILINE).start()  # noqa: E731  (its own line, not an extends)
    system = out[start("review_system.j2"):start("review_user.j2")]
    assert "extends: packaged/review_system.j2" in system and "overrides: focus" in system
    assert "variables: categories, guidelines, severities, tools" in system
    user = out[start("review_user.j2"):start("summarize_system.j2")]
    assert "blocks: markers, context, code_context, path_instructions, diff, description, task" in user
    assert "variables: all_paths, chunk_count, chunk_index, code_context, description, diff, nonce, path_instructions" in user


def test_an_unknown_template_name_suggests_the_closest(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["prompts", "show", "review_sytem.j2"]) == 2
    assert "did you mean 'review_system.j2'?" in capsys.readouterr().err


def test_the_judge_templates_render_on_an_example_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["prompts", "render", "judge_system.j2"]) == 0
    assert '{"matches": [{"finding": "F1", "golden": "G2"}]}' in capsys.readouterr().out
    assert run(["prompts", "render", "judge_user.j2"]) == 0
    out = capsys.readouterr().out
    assert '{"id": "G1", "comment": ' in out and '{"id": "F1", "title": ' in out
