"""What both HTTP backends must do alike: survive long streamed thinking, wait as Retry-After says."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reviewer.backends.base import Backend
from tests import test_backend_anthropic, test_backend_openai
from tests.model_server import ModelServer, Reply

BACKENDS: dict[str, Callable[..., Backend]] = {
    "openai": test_backend_openai.backend,
    "anthropic": test_backend_anthropic.backend,
}
MESSAGES = test_backend_openai.MESSAGES


@pytest.mark.parametrize("protocol", BACKENDS)
def test_long_streamed_thinking_outlasts_the_idle_timeout(model_server: ModelServer, protocol: str) -> None:
    # About 1.5 s of thinking in small pieces, against a 0.5 s timeout: the timeout is between events, not per answer.
    model_server.queue(Reply(reasoning="x" * 150, event_delay=0.05))
    completion = BACKENDS[protocol](model_server, timeout_seconds=0.5, max_retries=0).complete(MESSAGES)
    assert completion.reasoning == "x" * 150 and completion.text == '{"findings": []}'


@pytest.mark.parametrize("protocol", BACKENDS)
def test_retry_after_is_waited_for(model_server: ModelServer, protocol: str) -> None:
    model_server.queue(Reply(status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    BACKENDS[protocol](model_server, max_retries=1).complete(MESSAGES)
    assert time.monotonic() - started >= 1.0
    assert len(model_server.posts()) == 2
