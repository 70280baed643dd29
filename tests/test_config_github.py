"""The `[github]` section: defaults, validation naming file and key, and `config show`."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.config import GitHubSettings, from_mapping, load, to_toml
from reviewer.errors import ConfigError


def test_defaults_are_sane() -> None:
    settings = from_mapping({}, None).github
    assert settings == GitHubSettings()
    assert (settings.inline_min_severity, settings.max_inline_comments, settings.skip_drafts, settings.skip_label) == ("minor", 25, True, "skip-review")


def test_keys_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / ".reviewer.toml"
    path.write_text('[github]\ninline_min_severity = "major"\nmax_inline_comments = 5\nskip_bots = false\n', encoding="utf-8")
    settings = load(path).github
    assert (settings.inline_min_severity, settings.max_inline_comments, settings.skip_bots) == ("major", 5, False)

    path.write_text("[github]\nmax_inline_coments = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.reviewer\.toml: unknown key 'github\.max_inline_coments'; did you mean 'max_inline_comments'"):
        load(path)
    path.write_text('[github]\ninline_min_severity = "high"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="github.inline_min_severity = 'high' is not one of: critical, major, minor, nit"):
        load(path)
    path.write_text("[github]\nmax_files = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="github.max_files = -1 must be at least 0"):
        load(path)


def test_config_show_includes_the_github_section() -> None:
    text = to_toml(from_mapping({"github": {"skip_label": "no-ai"}}, None), {})
    assert '[github]\ninline_min_severity = "minor"' in text and 'skip_label = "no-ai"' in text
