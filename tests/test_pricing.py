"""Cost from the dated price table: cache hits, misses, output; peak hours."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reviewer.config import BackendConfig
from reviewer.pricing import cost, is_peak, price_for
from reviewer.vocabulary import Usage

USAGE = Usage(requests=1, prompt_tokens=1_000_000, cached_prompt_tokens=400_000, completion_tokens=100_000, reasoning_tokens=80_000)
OFF_PEAK = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)  # a Saturday
PEAK = datetime(2026, 11, 26, 2, 30, tzinfo=timezone.utc)  # a Thursday, 02:30 UTC


def test_peak_hours() -> None:
    assert is_peak(PEAK)
    assert not is_peak(OFF_PEAK)
    assert not is_peak(datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc))
    assert is_peak(datetime(2026, 11, 26, 9, 59, tzinfo=timezone.utc))
    assert not is_peak(datetime(2026, 11, 28, 2, 30, tzinfo=timezone.utc))  # weekend


def test_pro_off_peak_and_peak() -> None:
    pro = BackendConfig(model="deepseek-v4-pro")
    assert cost(pro, USAGE, OFF_PEAK) == pytest.approx(0.6 * 0.66 + 0.4 * 0.022 + 0.1 * 1.98)
    assert cost(pro, USAGE, PEAK) == pytest.approx(2 * cost(pro, USAGE, OFF_PEAK))


def test_flash_names() -> None:
    for model in ("deepseek-flash", "deepseek-v4-flash"):
        assert cost(BackendConfig(model=model), USAGE, OFF_PEAK) == pytest.approx(0.6 * 0.15 + 0.4 * 0.003 + 0.1 * 0.60)


def test_self_hosted_is_free_and_unknown_is_unpriced() -> None:
    assert cost(BackendConfig(base_url="http://localhost:8000/v1", model="x"), USAGE, PEAK) == 0.0
    assert price_for(BackendConfig(base_url="https://llm.example.com/v1", model="x"), PEAK) is None


def test_configured_prices_win() -> None:
    backend = BackendConfig(base_url="https://llm.example.com/v1", model="x", price_input=1.0, price_output=2.0)
    assert cost(backend, USAGE, PEAK) == pytest.approx(1.0 + 0.2)  # cached input at the input price
