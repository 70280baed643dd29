"""`reviewer backends import`: real-shaped OpenCode and Claude Code setups written into .reviewer.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer import config as config_module
from reviewer.agent_setups import strip_jsonc
from reviewer.cli import run
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply

# As a team's opencode.jsonc looks: comments, trailing commas, a built-in provider, self-hosted ones,
# DeepSeek's Anthropic endpoint with a key pasted in, and a provider package we do not speak.
OPENCODE_JSONC = """{
  "$schema": "https://opencode.ai/config.json",
  // DeepSeek through models.dev, key from the environment
  "model": "deepseek/deepseek-v4-pro",
  "small_model": "deepseek/deepseek-flash",
  "provider": {
    "deepseek": {
      "options": { "apiKey": "{env:DEEPSEEK_API_KEY}" },
      "models": {
        "deepseek-v4-pro": { "options": { "reasoningEffort": "max", "thinking": { "type": "enabled" } } },
      },
    },
    "gpu": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "GPU box (vLLM)",
      "options": { "baseURL": "http://gpu-box:8000/v1" },
      "models": {
        "deepseek-ai/DeepSeek-V4-Flash": {
          "name": "V4 Flash",
          "options": { "chat_template_kwargs": { "thinking": false } },
        },
      },
    },
    "ollama": {
      "npm": "@ai-sdk/openai-compatible",
      "options": { "baseURL": "http://localhost:11434/v1" },
      "models": { "qwen3:32b": {} },
    },
    /* DeepSeek's own OpenCode snippet, with the key pasted in */
    "ds-anthropic": {
      "npm": "@ai-sdk/anthropic",
      "options": { "baseURL": "https://api.deepseek.com/anthropic/v1", "apiKey": "sk-live-PASTED-SECRET" },
      "models": { "deepseek-v4-pro": { "options": { "reasoningEffort": "high" } } },
    },
    "gemini": { "npm": "@ai-sdk/google", "models": { "gemini-pro": {} } },
  },
  "permission": { "edit": "ask" },
}
"""

# As DeepSeek's Claude Code guide sets it up.
CLAUDE_SETTINGS = {
    "env": {
        "ANTHROPIC_BASE_URL": "https://api.deepseek.com/anthropic",
        "ANTHROPIC_AUTH_TOKEN": "sk-claude-PASTED-SECRET",
        "ANTHROPIC_MODEL": "deepseek-v4-pro[1m]",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "deepseek-v4-pro[1m]",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "deepseek-flash",
        "CLAUDE_CODE_SUBAGENT_MODEL": "deepseek-flash",
        "CLAUDE_CODE_EFFORT_LEVEL": "max",
        "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "786432",
    },
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
}


def user_config() -> Path:
    """Where `backends import` writes: the user's own configuration (HOME is a temp folder in tests)."""
    return Path.home() / ".config" / "reviewer" / "config.toml"


def backends_table(repo: GitRepo) -> dict[str, dict[str, object]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    return tomllib.loads(user_config().read_text())["backends"]  # type: ignore[no-any-return]


def test_opencode_providers_and_models_become_backends(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("opencode.jsonc", OPENCODE_JSONC)
    assert run(["backends", "import", "--from", "opencode"]) == 0
    captured = capsys.readouterr()
    text = user_config().read_text()
    assert "PASTED-SECRET" not in text
    tables = backends_table(repo)
    assert tables["deepseek-deepseek-v4-pro"] == {
        "protocol": "openai", "base_url": "https://api.deepseek.com", "model": "deepseek-v4-pro", "effort": "max",
        "api_key_env": "DEEPSEEK_API_KEY",
    }
    assert tables["deepseek-flash"] == {
        "protocol": "openai", "base_url": "https://api.deepseek.com", "model": "deepseek-flash", "api_key_env": "DEEPSEEK_API_KEY",
    }
    assert tables["deepseek-ai-deepseek-v4-flash"] == {
        "protocol": "openai", "base_url": "http://gpu-box:8000/v1", "model": "deepseek-ai/DeepSeek-V4-Flash", "effort": "none",
    }
    assert tables["qwen3-32b"] == {"protocol": "openai", "base_url": "http://localhost:11434/v1", "model": "qwen3:32b", "dialect": "ollama"}
    # The key was pasted into the file: the backend is imported, the key is not.
    assert tables["ds-anthropic-deepseek-v4-pro"] == {
        "protocol": "anthropic", "base_url": "https://api.deepseek.com/anthropic", "model": "deepseek-v4-pro", "effort": "high",
        "api_key_env": "DEEPSEEK_API_KEY",
    }
    assert "its apiKey is not an {env:VAR} reference and was not copied" in captured.err
    assert "'gemini'" in captured.err and "@ai-sdk/google" in captured.err
    assert "gemini-pro" not in tables
    config = config_module.load(user_config(), user=True)  # what was written is a valid configuration
    assert config.backend("deepseek-ai-deepseek-v4-flash").is_self_hosted


def test_imported_opencode_backend_passes_backends_check(
    model_server: ModelServer, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = {"provider": {"local": {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": model_server.openai_url}, "models": {"my-model": {}}}}}
    repo.write("opencode.json", json.dumps(setup))
    assert run(["backends", "import", "--from", "opencode"]) == 0
    model_server.default = Reply(content="OK", reasoning="thinking")
    capsys.readouterr()
    assert run(["backends", "check", "--backend", "my-model"]) == 0
    assert "my-model (openai, my-model, effort high): ok · model my-model" in capsys.readouterr().out
    assert model_server.posts()[0].body["chat_template_kwargs"] == {"thinking": True, "reasoning_effort": "high"}


def test_an_existing_backend_is_replaced_only_with_force(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    user_config().parent.mkdir(parents=True)
    user_config().write_text('[routes]\nreview = "my-model"\nsummarize = "my-model"\n\n[backends.my-model]\nbase_url = "http://old:1/v1"\nmodel = "my-model"\n\n[review]\nfail_on = "major"\n')
    repo.write("opencode.json", json.dumps({"provider": {"p": {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": "http://new:2/v1"}, "models": {"my-model": {}}}}}))
    assert run(["backends", "import", "--from", "opencode"]) == 2
    assert "already defines [backends.my-model]; pass --force" in capsys.readouterr().err
    assert "http://old:1/v1" in user_config().read_text()
    assert run(["backends", "import", "--from", "opencode", "--force"]) == 0
    config = config_module.load(user_config(), user=True)
    assert config.backend("my-model").base_url == "http://new:2/v1"
    assert config.review.fail_on == "major"  # the rest of the file is kept
    assert "http://old:1/v1" not in user_config().read_text()


def test_claude_code_settings_env_becomes_anthropic_backends(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Path.home()
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps(CLAUDE_SETTINGS))
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-from-the-shell")  # the settings' env block wins, as in Claude Code
    assert run(["backends", "import", "--from", "claude-code"]) == 0
    err = capsys.readouterr().err
    text = user_config().read_text()
    assert "PASTED-SECRET" not in text
    tables = backends_table(repo)
    common = {"protocol": "anthropic", "base_url": "https://api.deepseek.com/anthropic", "effort": "max", "api_key_env": "ANTHROPIC_AUTH_TOKEN"}
    assert tables == {
        "claude-code-deepseek-v4-pro": {**common, "model": "deepseek-v4-pro"},
        "claude-code-deepseek-flash": {**common, "model": "deepseek-flash"},
    }
    assert "export ANTHROPIC_AUTH_TOKEN" in err
    config_module.load(user_config(), user=True)


def test_claude_code_from_the_environment_alone_as_an_agent_backend(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://10.0.0.5:4000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env-SECRET")
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-opus-4-9")
    monkeypatch.setenv("MAX_THINKING_TOKENS", "0")
    assert run(["backends", "import", "--from", "claude-code", "--agent"]) == 0
    assert "SECRET" not in user_config().read_text()
    assert backends_table(repo) == {
        "claude-code-claude-opus-4-9": {
            "protocol": "claude-code", "base_url": "http://10.0.0.5:4000", "model": "claude-opus-4-9", "effort": "none",
            "dialect": "anthropic", "api_key_env": "ANTHROPIC_API_KEY",
        }
    }


def test_nothing_to_import_says_so(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["backends", "import", "--from", "claude-code"]) == 2
    assert "no ANTHROPIC_MODEL set" in capsys.readouterr().err
    assert not user_config().exists()


def test_jsonc_comments_and_trailing_commas_outside_strings_only() -> None:
    text = '{\n // a "comment"\n "url": "http://h//x, }", /* b */ "list": [1, 2, /* c */ ],\n}'
    assert json.loads(strip_jsonc(text)) == {"url": "http://h//x, }", "list": [1, 2]}


def test_credentials_in_a_url_are_not_copied(tmp_path: Path) -> None:
    from reviewer.agent_setups import from_opencode

    config = tmp_path / "opencode.json"
    config.write_text(json.dumps({"provider": {"proxy": {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": "https://user:sk-LEAKED1@llm.example.com/v1?api_key=sk-LEAKED2"},
        "models": {"m": {}},
    }}}))
    setup = from_opencode(config)
    [imported] = setup.backends
    assert imported.base_url == "https://llm.example.com/v1"
    assert any("credentials" in note for note in setup.notes)
