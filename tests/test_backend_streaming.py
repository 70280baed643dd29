"""What both HTTP backends must do alike: survive long streamed thinking, wait as Retry-After says."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reviewer.backends.base import Backend
from reviewer.errors import BackendError
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


@pytest.mark.parametrize("protocol", BACKENDS)
def test_a_stream_that_stalls_mid_answer_is_a_backend_failure(model_server: ModelServer, protocol: str) -> None:
    """Not a traceback: a BackendError the fallback order can act on."""
    model_server.queue(Reply(reasoning="x" * 30, event_delay=1.0))
    with pytest.raises(BackendError, match="did not answer within 0.3 s") as raised:
        BACKENDS[protocol](model_server, timeout_seconds=0.3, max_retries=0).complete(MESSAGES)
    assert raised.value.retryable


def test_blank_answers_before_a_failure_are_still_billed() -> None:
    from reviewer.backends.base import Completion
    from reviewer.backends.http_failures import first_nonblank
    from reviewer.config import BackendConfig
    from reviewer.vocabulary import Usage

    answers = iter([Completion("", "thought hard", Usage(1, 100, 0, 5000, 4900), "m")])

    def send() -> Completion:
        for answer in answers:
            return answer
        raise BackendError("backend 'b': failed with 503 after retries", backend="b")

    with pytest.raises(BackendError) as raised:
        first_nonblank(send, BackendConfig(name="b", max_retries=2))
    assert raised.value.usage == Usage(1, 100, 0, 5000, 4900)
