"""How requests to GitHub are retried: rate limits waited out within a bound, and no write sent twice.

GitHub's documented rules for a rate-limited request (403 or 429): wait
`retry-after` seconds when it says; else, when `x-ratelimit-remaining` is 0,
until `x-ratelimit-reset`; else (a secondary limit) at least a minute,
doubling on each retry. A rate-limited request was not carried out, so it is
sent again whatever its method. The waits of a whole run share one cap
(`[github] max_rate_limit_wait`): a wait that would pass it is not begun, and
the run stops at once with the time to rerun (RateLimited), rather than
holding a runner for an hour after the model was paid.

Anything else is retried only when sending it again cannot do it twice: a
read (GET) after a server error or a lost answer, and any request whose
connection failed before it was sent. A write whose answer was lost may have
been carried out; reviewer.github.posting looks for what it made before it
sends it again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from urllib3 import Retry

from reviewer.errors import PublishError

RATE_LIMITED = (403, 429)
READS = frozenset({"GET", "HEAD", "OPTIONS"})
TRIES = 5  # retries of one request; GitHub asks clients to give up after some
_SECONDARY = ("secondary rate limit", "please retry your request again later", "please wait a few minutes before you try again")


class RateLimited(PublishError):
    """GitHub's rate limit asks for a longer wait than the run may still spend; `resume_at` is when to rerun (epoch seconds)."""

    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class WaitBudget:
    """The seconds a run may still spend waiting on rate limits: one for every request of the run."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.spent = 0.0

    def take(self, seconds: float, now: float) -> None:
        """Spend `seconds`, or raise RateLimited when that would pass the cap (nothing is spent then)."""
        if self.spent + seconds > self.cap:
            resume = now + seconds
            raise RateLimited(
                f"GitHub's rate limit asks for a wait of {_duration(seconds)}, more than this run may still wait "
                f"(github.max_rate_limit_wait = {self.cap:g} s); rerun after {_clock(resume)}",
                resume,
            )
        self.spent += seconds


def rate_limit_wait(status: int, headers: Mapping[str, str], message: str | None, retries: int, now: float, secondary: float) -> float | None:
    """Seconds to wait before sending a rate-limited request again, by GitHub's rules; None when it is no rate limit.

    `message` is GitHub's (None when the body was not read: headers decided); `retries`
    is how many rate-limited answers this request already had (the secondary wait doubles).
    """
    if status not in RATE_LIMITED:
        return None
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after)
    reset = lowered.get("x-ratelimit-reset", "")
    if lowered.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - now) + 1  # the reset's second has begun; it has not necessarily ended
    if status == 429 or _is_rate_limit(message):
        return secondary * 2**retries
    return None


def _is_rate_limit(message: str | None) -> bool:
    text = (message or "").lower()
    return text.startswith("api rate limit exceeded") or any(s in text for s in _SECONDARY)


class GitHubRetry(Retry):
    """urllib3's Retry with GitHub's rate-limit rules and a shared cap; writes are never sent twice by it.

    PyGithub's own GithubRetry retries POST on server errors and lost answers (a
    review created twice), waits out a primary limit to its reset (an hour), and
    does not retry a 429 without `retry-after`.
    """

    def __init__(self, budget: WaitBudget, secondary_wait: float, wait: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("total", TRIES)
        kwargs.setdefault("allowed_methods", READS)  # a read error (timeout, dropped connection) is retried for reads only
        kwargs.setdefault("backoff_factor", 0.5)
        kwargs.setdefault("backoff_max", 8)
        kwargs["raise_on_status"] = False  # out of tries: the last answer goes to PyGithub, which raises for it
        super().__init__(**kwargs)
        self.budget = budget
        self.secondary_wait = secondary_wait
        self.wait = wait  # what GitHub asked for before the next try; None: the usual backoff

    def new(self, **kw: Any) -> GitHubRetry:
        kw.setdefault("wait", None)
        return super().new(budget=self.budget, secondary_wait=self.secondary_wait, **kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in RATE_LIMITED:
            return True  # `increment` tells a rate limit from a refusal
        return status_code >= 500 and method.upper() in READS

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None, error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> GitHubRetry:
        if response is None or response.status not in RATE_LIMITED:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        from urllib3.exceptions import MaxRetryError

        retries = sum(1 for h in self.history if h.status in RATE_LIMITED)
        now = time.time()
        wait = rate_limit_wait(response.status, response.headers, None, retries, now, self.secondary_wait)
        if wait is None:
            # Only the body tells a secondary limit from a refusal ("Resource not accessible"): read it, and
            # hand a refusal to the caller as the exception PyGithub would have raised for it.
            data = _json(response.data)
            wait = rate_limit_wait(response.status, response.headers, data.get("message"), retries, now, self.secondary_wait)
            if wait is None:
                from github.Requester import Requester

                response.release_conn()
                raise Requester.createException(response.status, dict(response.headers), data)
        response.drain_conn()
        self.budget.take(wait, now)
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            resume = now + wait
            raise RateLimited(f"GitHub's rate limit did not lift after {TRIES} tries; rerun after {_clock(resume)}", resume) from None
        retry.wait = wait
        return retry

    def sleep(self, response: Any = None) -> None:
        if self.wait is None:
            self._sleep_backoff()
        elif self.wait > 0:
            time.sleep(self.wait)


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data or b"{}")
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.2f} s"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S UTC")
