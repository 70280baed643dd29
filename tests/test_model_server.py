"""The loopback model server's DeepSeek-like cache, which the benchmarks measure cache hits against."""

from __future__ import annotations

import openai

from tests.model_server import ModelServer, PrefixCache

A, B, C, D = ("a" * 400, "b" * 400, "c" * 400, "d" * 400)


def test_a_common_prefix_is_a_unit_only_once_two_requests_completed() -> None:
    """apis.md A5: A+B, then A+C, then A+D: only the third hits on A."""
    cache = PrefixCache()
    assert cache.hit(A + B) == 0
    cache.complete(A + B)
    assert cache.hit(A + C) == 0
    cache.complete(A + C)
    assert cache.hit(A + D) == len(A) // 4
    assert cache.hit(A + B + D) == len(A + B) // 4  # a whole earlier prompt is a unit too


def test_the_openai_client_sees_the_hits() -> None:
    with ModelServer(cache=PrefixCache()) as server:
        client = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)

        def cached(text: str) -> int:
            usage = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}]).usage
            assert usage is not None and usage.prompt_tokens_details is not None
            return usage.prompt_tokens_details.cached_tokens or 0

        assert cached(A + B) == 0
        assert cached(A + B) == len(A + B) // 4  # the same prompt again: all of it
        assert cached(C) == 0
