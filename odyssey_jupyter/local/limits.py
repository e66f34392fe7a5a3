"""Usage limits of the engine: requests per second per token, active jobs per key.

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
    """A token bucket per bearer token: ``rate`` requests per second, bursts up to ``rate``."""

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
        f"Too many requests: this engine allows {rate:g} per second per token.",
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
