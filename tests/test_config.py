"""Configuration: defaults, the contract's example file, errors that name file and key, flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.config import DEEPSEEK_URL, Config, from_layers, from_mapping, is_private_url, load, to_toml, with_overrides
from reviewer.errors import ConfigError

CONTRACT_EXAMPLE = f"""
[routes]
review = ["deepseek-pro", "gpu-box"]
summarize = "deepseek-pro"
self_hosted_only = false

[[routes.rules]]
paths = ["secure/**"]
backends = ["gpu-box"]

[backends.deepseek-pro]
protocol = "openai"
base_url = "{DEEPSEEK_URL}"
model = "deepseek-v4-pro"
effort = "high"
api_key_env = "DEEPSEEK_API_KEY"

[backends.gpu-box]
protocol = "openai"
base_url = "http://gpu-box:8000/v1"
model = "deepseek-ai/DeepSeek-V4-Flash"

[review]
ignore = ["*.lock", "dist/**"]
fail_on = "critical"
concurrency = 8
max_cost_usd = 0.50
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".reviewer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    config = from_layers([])
    assert config.source is None
    assert config.routes.review == ("deepseek-pro",) and config.routes.for_task("summarize") == ("deepseek-pro",)
    backend = config.backend("deepseek-pro")
    assert (backend.base_url, backend.model, backend.effort, backend.api_key_env) == (
        DEEPSEEK_URL, "deepseek-v4-pro", "high", "DEEPSEEK_API_KEY")
    assert not backend.is_self_hosted


def test_contract_example_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, CONTRACT_EXAMPLE))
    assert config.routes.review == ("deepseek-pro", "gpu-box")
    assert config.routes.summarize == ("deepseek-pro",)
    assert config.routes.rules[0].paths == ("secure/**",)
    assert config.backend("gpu-box").is_self_hosted
    assert config.backend("gpu-box").api_key_env is None
    assert config.review.fail_on == "critical" and config.review.max_cost_usd == 0.5


def test_found_at_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path, '[review]\nfail_on = "major"\n')
    assert load(tmp_path / ".reviewer.toml").review.fail_on == "major"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[reviw]\n", "unknown key 'reviw'; did you mean 'review'?"),
        ("[review]\nconcurrency = 'eight'\n", "review.concurrency must be a whole number"),
        ("[review]\nfail_on = 'blocker'\n", "review.fail_on = 'blocker' is not one of: critical, major, minor, nit, none"),
        ("[review]\nignore = 'x'\nconcurrency = 0\n", "review.concurrency = 0 must be at least 1"),
        ("[review]\nmax_chunk_tokens = 0\n", "review.max_chunk_tokens = 0 must be at least 1000"),
        ("[backends.box]\nmax_retries = -1\n", "backends.box.max_retries = -1 must be at least 0"),
        ("routes = \"abc\"\n", "routes must be a table"),
        ("[backends.box]\nefort = 'high'\n", "unknown key 'backends.box.efort'; did you mean 'effort'?"),
        ("[backends.box]\nprotocol = 'grpc'\n", "backends.box.protocol = 'grpc' is not one of"),
        ("[routes]\nreview = ['gpu']\n", "routes.review: no backend named 'gpu'"),
        ("[routes]\nreview = []\n", "routes.review is empty"),
        ("[[routes.rules]]\npaths = ['secure/**']\nbackends = ['nope']\n", "routes.rules[0].backends: no backend named 'nope'"),
        ("[[routes.rules]]\npaths = ['secure/**']\n", "routes.rules[0] needs both"),
        ("[backends.box]\nbase_url = 'gpu:8000'\n", "must start with http:// or https://"),
        ("not toml = = \n", "not valid TOML"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load(tmp_path / "nope.toml")


def test_flags_override_the_file(tmp_path: Path) -> None:
    config = load(write(tmp_path, CONTRACT_EXAMPLE))
    changed = with_overrides(config, backend="gpu-box", effort="max", fail_on="nit", concurrency=2, max_cost=1.5)
    assert changed.routes.review == ("gpu-box",) and changed.routes.for_task("summarize") == ("gpu-box",)
    assert changed.backend("gpu-box").effort == "max"
    assert changed.backend("deepseek-pro").effort == "high"  # not routed, untouched
    assert (changed.review.fail_on, changed.review.concurrency, changed.review.max_cost_usd) == ("nit", 2, 1.5)


def test_base_url_makes_a_one_off_backend() -> None:
    config = with_overrides(Config(backends=from_mapping({}, None).backends), base_url="http://localhost:8000/v1", model="qwen")
    backend = config.backend(config.routes.review[0])
    assert (backend.base_url, backend.model, backend.is_self_hosted) == ("http://localhost:8000/v1", "qwen", True)


def test_unknown_backend_flag() -> None:
    with pytest.raises(ConfigError, match="no backend named 'deepseek-prp'.*did you mean 'deepseek-pro'"):
        with_overrides(from_mapping({}, None), backend="deepseek-prp")


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://localhost:8000/v1", True),
        ("http://127.0.0.1:11434/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://gpu-box:8000/v1", True),
        ("http://llm.internal/v1", True),
        ("https://api.deepseek.com", False),
        ("https://8.8.8.8/v1", False),
    ],
)
def test_self_hosted_detection(url: str, private: bool) -> None:
    assert is_private_url(url) is private


def test_to_toml_round_trips_and_masks_keys(tmp_path: Path) -> None:
    config = load(write(tmp_path, CONTRACT_EXAMPLE))
    text = to_toml(config, {"DEEPSEEK_API_KEY": "sk-very-secret"})
    assert "sk-very-secret" not in text
    assert 'api_key_env = "DEEPSEEK_API_KEY"  # set' in text
    again = load(write(tmp_path, text))
    assert again.routes == config.routes and again.review == config.review
    assert again.backend("gpu-box") == config.backend("gpu-box")


@pytest.mark.parametrize(
    ("url", "deepseek"),
    [
        ("https://api.deepseek.com", True),
        ("https://api.deepseek.com.evil.invalid/v1", False),  # a suffix of the name is not the host
        ("https://evil.invalid\\@api.deepseek.com", False),  # Node's URL parser reads the host as evil.invalid
        ("https://user@api.deepseek.com", False),
    ],
)
def test_deepseek_host_as_every_client_reads_it(url: str, deepseek: bool) -> None:
    """Parsed only: no client is ever pointed at these."""
    from reviewer.config import is_deepseek_url

    assert is_deepseek_url(url) is deepseek


def test_deepseeks_key_never_goes_in_clear() -> None:
    with pytest.raises(ConfigError, match="would send the key in clear"):
        from_mapping({"backends": {"x": {"base_url": "http://api.deepseek.com", "model": "m"}}}, None)
