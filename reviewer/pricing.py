"""What a request costs, from a dated price table.

DeepSeek bills cache-hit input, cache-miss input and output (reasoning tokens
included) separately, and since 2026-08-16 charges double in peak hours.
Self-hosted endpoints cost nothing here unless the backend sets its prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from reviewer.config import BackendConfig
from reviewer.errors import ConfigError
from reviewer.vocabulary import Usage

PRICES_AS_OF = "2026-10-17"  # DeepSeek pricing page (V4.1-Flash-1017, V4-Pro-0813)


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    cached_input: float
    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        missed = max(usage.prompt_tokens - usage.cached_prompt_tokens, 0)
        return (
            missed * self.input + usage.cached_prompt_tokens * self.cached_input + usage.completion_tokens * self.output
        ) / 1_000_000


FREE = Price(0.0, 0.0, 0.0)

# model-name prefix → (off-peak, peak)
_DEEPSEEK: dict[str, tuple[Price, Price]] = {
    "deepseek-v4-pro": (Price(0.022, 0.66, 1.98), Price(0.044, 1.32, 3.96)),
    "deepseek-flash": (Price(0.003, 0.15, 0.60), Price(0.006, 0.30, 1.20)),
    "deepseek-v4-flash": (Price(0.003, 0.15, 0.60), Price(0.006, 0.30, 1.20)),  # legacy alias, billed as Flash
    # DeepSeek's Anthropic endpoint maps Claude names: opus to Pro, the rest to Flash.
    "claude-opus": (Price(0.022, 0.66, 1.98), Price(0.044, 1.32, 3.96)),
    "claude-sonnet": (Price(0.003, 0.15, 0.60), Price(0.006, 0.30, 1.20)),
    "claude-haiku": (Price(0.003, 0.15, 0.60), Price(0.006, 0.30, 1.20)),
}

# Peak hours, UTC, Monday to Friday: 01:00-04:00 and 06:00-10:00.
_PEAK_HOURS = frozenset(range(1, 4)) | frozenset(range(6, 10))


def is_peak(when: datetime) -> bool:
    when = when.astimezone(timezone.utc)
    return when.weekday() < 5 and when.hour in _PEAK_HOURS


def price_for(backend: BackendConfig, when: datetime) -> Price | None:
    """The price of `backend` at `when`; None when it is not known (cost then shows as 0)."""
    if backend.price_input is not None or backend.price_output is not None:
        return Price(
            cached_input=backend.price_cached_input if backend.price_cached_input is not None else backend.price_input or 0.0,
            input=backend.price_input or 0.0,
            output=backend.price_output or 0.0,
        )
    if backend.is_self_hosted:
        return FREE
    if not backend.is_deepseek:
        return None
    model = backend.model.lower().removesuffix("[1m]")
    for prefix, (off_peak, peak) in _DEEPSEEK.items():
        if model.startswith(prefix):
            return peak if is_peak(when) else off_peak
    return None


def rate(backend: BackendConfig, when: datetime) -> str | None:
    """Which rate a request at `when` is billed at, for the cost line: "peak" or "off-peak" where DeepSeek's
    table applies, "unknown" where no price is known (the cost then counts as 0), None for a set price."""
    price = price_for(backend, when)
    if price is None:
        return "unknown"
    if backend.price_input is None and backend.price_output is None and backend.is_deepseek:
        return "peak" if is_peak(when) else "off-peak"
    return None


def cost(backend: BackendConfig, usage: Usage, when: datetime) -> float:
    price = price_for(backend, when)
    return price.cost(usage) if price else 0.0


# Other models' list prices (USD per 1M tokens), to price a run's own usage on them: what a team saves.
# Their tokenizers are not DeepSeek's, so the same text is a somewhat different count there, and the
# cached share is DeepSeek's; an estimate of the order, not a quote.
OTHERS_AS_OF = "2026-11-30"
OTHER_MODELS: dict[str, tuple[str, Price]] = {
    # OpenAI's list price; cached input at 90% off, as for the whole GPT-5 family
    "gpt-5.5": ("GPT-5.5", Price(cached_input=0.50, input=5.00, output=30.00)),
    # Anthropic's list price; a cache read at 0.1x input ($0.50), the cache writes (1.25x) left out
    "claude-opus-4.7": ("Claude Opus 4.7", Price(cached_input=0.50, input=5.00, output=25.00)),
}


@dataclass(frozen=True)
class Compared:
    model: str  # its name for people
    cost_usd: float


def compare(usage: Usage, models: tuple[str, ...], where: str = "--compare") -> tuple[Compared, ...]:
    """`usage` priced on each of `models` (keys of OTHER_MODELS)."""
    unknown = [m for m in models if m not in OTHER_MODELS]
    if unknown:
        raise ConfigError(f"{where}: no price for {', '.join(map(repr, unknown))}; known: {', '.join(OTHER_MODELS)}")
    return tuple(Compared(OTHER_MODELS[m][0], OTHER_MODELS[m][1].cost(usage)) for m in models)


def audit_line(usage: Usage, cost_usd: float, models: tuple[str, ...], where: str = "--compare") -> str:
    """One sentence: what the run's tokens would have cost on other models."""
    if not models or not usage.requests:
        return ""
    priced = compare(usage, models, where)
    parts = [
        f"${c.cost_usd:.4f} on {c.model}" + (f" ({c.cost_usd / cost_usd:.0f}x)" if cost_usd >= 0.0001 else "")
        for c in priced
    ]
    return f"The same tokens would cost {' and '.join(parts)} (list prices of {OTHERS_AS_OF})."
