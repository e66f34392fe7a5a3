"""Usage limits of the engine: requests per second per key, active jobs and job sizes,
and the throttle on key exchanges per client address.

Answers use the Simulate API's usage-error body (``error``/``code``, ``message``,
``action``, ``details``) plus a ``detail`` so every 4xx carries one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any


def usage_error(code: str, message: str, action: str, **details: Any) -> dict[str, Any]:
    return {
        "error": code,
        "code": code,
        "message": message,
        "action": action,
        "details": details,
        "detail": message,
    }


@dataclass
class RateLimiter:
    """A token bucket per key (owner): ``rate`` requests per second, bursts up to ``rate``.

    Counted per owner, not per bearer token: a fresh token costs one request, so
    a bucket per token would let a client bypass the limit.
    """

    rate: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, key: str, now: float | None = None) -> float | None:
        """``None`` when the request may go ahead, else seconds until it could."""
        now = time.monotonic() if now is None else now
        capacity = max(1.0, self.rate)
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 10_000:  # forget idle tokens
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        return (1.0 - tokens) / self.rate


def rate_limited_body(wait: float, rate: float) -> tuple[dict[str, Any], str]:
    """The 429 body and the Retry-After header value (whole seconds, at least 1)."""
    retry_after = max(1, math.ceil(wait))
    body = usage_error(
        "RATE_LIMITED",
        f"Too many requests: this engine allows {rate:g} per second per key.",
        f"Wait {retry_after} s and retry.",
        retry_after_seconds=retry_after,
    )
    return body, str(retry_after)


def concurrent_limit_body(active: int, limit: int) -> dict[str, Any]:
    return usage_error(
        "CONCURRENT_LIMIT_REACHED",
        f"{active} jobs are already active (at most {limit} at once).",
        "Wait for a job to finish or cancel one, then submit again.",
        active_count=active,
        limit=limit,
    )


def concurrent_streams_body(active: int, adding: int, limit: int) -> dict[str, Any]:
    return usage_error(
        "CONCURRENT_LIMIT_REACHED",
        f"{active} streams are already active and this job adds {adding} "
        f"(at most {limit} at once).",
        "Wait for a job to finish or cancel one, then submit again.",
        active_count=active,
        limit=limit,
    )


def job_size_problem(durations_ms: list[int], max_seconds: float, max_streams: int) -> str | None:
    """Why a job is too large for this engine (the 422 ``detail``), or ``None``.

    Each stream is already capped by the script rules; these caps bound the whole
    job, so one submission cannot queue days of rendering.
    """
    if len(durations_ms) > max_streams:
        return (
            f"the job holds {len(durations_ms)} streams; this engine accepts at most "
            f"{max_streams} streams per job (--max-job-streams): split it into several jobs"
        )
    total = sum(durations_ms) / 1000
    if total > max_seconds:
        return (
            f"the job asks for {total:g} s of video; this engine accepts at most "
            f"{max_seconds:g} s per job (--max-job-seconds): split it or shorten it"
        )
    return None


AUTH_BURST = 30
"""Wrong keys a client address may send at once (then ``AUTH_RATE`` per second)."""
AUTH_RATE = 10.0
AUTH_FREE_FAILURES = 10
"""Wrong keys from one address before each further try must wait (doubling, capped)."""
AUTH_MAX_BACKOFF = 60.0
AUTH_FORGET_AFTER = 900.0
"""Seconds without a failure after which an address's failures are forgotten."""


@dataclass
class _AddressRecord:
    tokens: float
    last: float
    failures: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0


@dataclass
class AuthThrottle:
    """Per client address: a rate and a backoff on wrong keys given to ``POST /auth/token``.

    Only failures are throttled: the route checks the key first, so a caller with
    the right key is never held up by guesses from the same address, and a right
    key in between does not reset the guesser's backoff.
    """

    _records: dict[str, _AddressRecord] = field(default_factory=dict)

    def check(self, address: str, now: float | None = None) -> float | None:
        """``None`` when a wrong key may be answered 401 now, else seconds until it could."""
        now = time.monotonic() if now is None else now
        record = self._records.get(address)
        if record is None:
            if len(self._records) > 10_000:
                self._forget_idle(now)
            record = self._records[address] = _AddressRecord(tokens=AUTH_BURST, last=now)
        if record.failures and now - record.last_failure > AUTH_FORGET_AFTER:
            record.failures, record.blocked_until = 0, 0.0
        if now < record.blocked_until:
            return record.blocked_until - now
        record.tokens = min(AUTH_BURST, record.tokens + (now - record.last) * AUTH_RATE)
        record.last = now
        if record.tokens < 1.0:
            return (1.0 - record.tokens) / AUTH_RATE
        record.tokens -= 1.0
        return None

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        record = self._records.setdefault(address, _AddressRecord(tokens=AUTH_BURST, last=now))
        record.failures += 1
        record.last_failure = now
        beyond = record.failures - AUTH_FREE_FAILURES
        if beyond > 0:  # the exponent capped: 2.0 ** 1024 overflows, and no block would follow
            record.blocked_until = now + min(AUTH_MAX_BACKOFF, 2.0 ** min(beyond - 1, 32))

    def _forget_idle(self, now: float) -> None:
        self._records = {
            address: record
            for address, record in self._records.items()
            if now - max(record.last, record.last_failure) < AUTH_FORGET_AFTER
        }


def auth_throttled_body(wait: float) -> tuple[dict[str, Any], str]:
    """The 429 body for a throttled key exchange and its Retry-After value."""
    retry_after = max(1, math.ceil(wait))
    body = usage_error(
        "RATE_LIMITED",
        "Too many key exchanges (or wrong keys) from this address.",
        f"Wait {retry_after} s and retry with the right key.",
        retry_after_seconds=retry_after,
    )
    return body, str(retry_after)
