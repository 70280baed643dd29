"""What the two HTTP backends share: their SDK client, and SDK failures turned into errors a user can act on.

The `openai` and `anthropic` SDKs are built alike (the same constructor
arguments, look-alike exceptions for status, timeout and connection), so both
backends make their client and map their failures here, and the messages read
the same.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from reviewer.backends.base import Completion
from reviewer.config import BackendConfig
from reviewer.errors import BackendError
from reviewer.vocabulary import Usage


class SdkClient:
    """The SDK client of a backend (`openai.OpenAI` or `anthropic.Anthropic`): its URL, timeouts and retries.

    Made once, on first use, and shared by the requests in flight: without the lock, eight requests
    starting together made eight clients, each with its own TLS context and connection pool.
    """

    def __init__(self, sdk: str, client_class: str, config: BackendConfig, key: str | None) -> None:
        self._sdk, self._class, self._config, self._key = sdk, client_class, config, key
        self._client: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._client is None:
                sdk = importlib.import_module(self._sdk)
                self._client = getattr(sdk, self._class)(
                    base_url=self._config.base_url,
                    # Always explicit: self-hosted servers want no key but the SDKs insist on one, and the
                    # anthropic SDK would otherwise pick up ANTHROPIC_API_KEY/AUTH_TOKEN from the process.
                    api_key=self._key or "no-key",
                    timeout=sdk.Timeout(self._config.timeout_seconds, connect=15.0),
                    max_retries=self._config.max_retries,
                )
            return self._client


@contextmanager
def sdk_failures(sdk: ModuleType, config: BackendConfig) -> Iterator[None]:
    """Any failure of a request through `sdk` (or of its stream, mid-answer) as a BackendError."""
    try:
        yield
    except sdk.APIStatusError as exc:
        raise status_error(config, exc.status_code, error_detail(exc)) from None
    except sdk.APITimeoutError:
        raise timeout_error(config) from None
    except sdk.APIConnectionError as exc:
        raise unreachable_error(config, exc) from None
    except transport_errors() as exc:
        raise transport_error(config, exc) from None


def status_error(config: BackendConfig, status: int, detail: str) -> BackendError:
    """An HTTP error status after the SDK's own retries; 401, 402 and 4xx refusals are final."""
    name, url = config.name, config.shown_url
    if status == 401:
        key = config.api_key_env or "the key variable"
        return BackendError(f"backend {name!r}: {url} rejected the API key (401); check {key}", backend=name, retryable=False)
    if status == 402:
        return BackendError(f"backend {name!r}: insufficient balance (402) on {url}; top up the account", backend=name, retryable=False)
    if status in (400, 404, 422):
        return BackendError(
            f"backend {name!r}: {url} refused the request ({status}): {detail}; check model {config.model!r}",
            backend=name,
            retryable=False,
        )
    return BackendError(f"backend {name!r}: {url} failed with {status} after retries: {detail}", backend=name)


def timeout_error(config: BackendConfig) -> BackendError:
    return BackendError(
        f"backend {config.name!r}: {config.shown_url} did not answer within "
        f"{config.timeout_seconds:g} s (timeout_seconds)",
        backend=config.name,
    )


def unreachable_error(config: BackendConfig, exc: BaseException) -> BackendError:
    return BackendError(
        f"backend {config.name!r}: cannot reach {config.shown_url} ({exc.__cause__ or exc}); "
        "check base_url and that the server is up",
        backend=config.name,
    )


def error_detail(exc: Any) -> str:
    """The server's own error message (both APIs nest it under `error.message`)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))


def first_nonblank(send: Callable[[], Completion], config: BackendConfig) -> Completion:
    """Ask again when the answer is blank: DeepSeek blanks JSON it cannot parse; retried like a 5xx."""
    spent = Usage()
    finish: str | None = None
    for _ in range(config.max_retries + 1):
        try:
            completion = send()
        except BackendError as exc:
            # Blank answers before the failure were billed: the error carries them to the run's totals.
            exc.usage = spent + exc.usage if exc.usage else spent
            raise
        # Blank answers are billed too (thinking included): the run's totals must show them.
        spent += completion.usage
        if completion.text.strip():
            return dataclasses.replace(completion, usage=spent)
        finish = completion.finish_reason
    raise BackendError(
        f"backend {config.name!r} ({config.model}) answered with no text "
        f"{config.max_retries + 1} times (finish reason: {finish})",
        backend=config.name,
        usage=spent,
    )


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's own errors, which an SDK can let through when a stream breaks mid-answer."""
    found: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):  # newer SDKs use httpx2, older ones httpx
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.append(module.TransportError)
    return tuple(found)


def transport_error(config: BackendConfig, exc: BaseException) -> BackendError:
    """A broken stream: a timeout between events, or a connection the server dropped."""
    return timeout_error(config) if "Timeout" in type(exc).__name__ else unreachable_error(config, exc)
