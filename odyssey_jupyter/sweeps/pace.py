"""How many jobs a sweep keeps in flight, when it may send the next, and how fast it goes.

``429 CONCURRENT_LIMIT_REACHED`` halves ``target`` (at most once per job that
ends) and holds submissions until a slot frees or ``HOLD_AFTER_LIMIT`` passes;
each completed job adds ``1/target`` back, up to ``limit`` (additive increase,
multiplicative decrease). ``RATE_LIMITED`` holds for its ``Retry-After``, which
nothing ends early. Only the loop thread changes a pace.
"""

from __future__ import annotations

import time
from collections import deque

HOLD_AFTER_LIMIT = 5.0
"""After a 429 CONCURRENT_LIMIT_REACHED, submit again when a slot frees or after this long."""
HOLD_AFTER_FAULT = 2.0
"""After an ambiguous failure to a key-honouring server, wait this long before the repeat."""
RATE_WINDOW = 120.0
"""Throughput is measured over the jobs that ended in this many seconds."""


class Pace:
    """The slots of one sweep: its limit, the target it keeps now, and its holds."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        """Most jobs in flight at once (max_in_flight, or the declared / configured cap)."""
        self.target = float(limit)
        """Jobs kept in flight now: halved on a 429 concurrent limit, regrown by successes."""
        self.limit_hits = 0
        self.last_limit_reason: str | None = None
        self.hold_until = 0.0
        """Submissions wait until then after a 429 concurrent limit (a freed slot ends it)."""
        self.rate_hold_until = 0.0
        """Submissions wait until then after RATE_LIMITED (its Retry-After; nothing ends it)."""
        self._lowered_since_slot = False
        self._ended: deque[float] = deque(maxlen=10_000)
        self._render_seconds: deque[float] = deque(maxlen=200)
        self._started_at = time.monotonic()

    def hold(self) -> float:
        """The monotonic time before which nothing is sent."""
        return max(self.hold_until, self.rate_hold_until)

    def learned(self, limit: int) -> None:
        """The server's declared cap (or the setting) is the limit now."""
        self.limit = limit
        self.target = min(self.target, float(limit))
        if self.target <= 0 or self.target > limit:
            self.target = float(limit)

    def concurrent_limit(self, reason: str) -> None:
        """A 429 CONCURRENT_LIMIT_REACHED: halve the target (once per freed slot) and hold."""
        self.limit_hits += 1
        self.last_limit_reason = reason
        if not self._lowered_since_slot:
            self.target = max(1.0, self.target / 2.0)
            self._lowered_since_slot = True
        self.hold_until = time.monotonic() + HOLD_AFTER_LIMIT

    def rate_limited(self, retry_after: float | None) -> None:
        """A RATE_LIMITED answer: hold for its Retry-After (or ``HOLD_AFTER_LIMIT``)."""
        wait = retry_after if retry_after is not None else HOLD_AFTER_LIMIT
        self.rate_hold_until = max(self.rate_hold_until, time.monotonic() + wait)

    def fault(self) -> None:
        """An answer lost to a key-honouring server: wait a little before the repeat."""
        self.hold_until = max(self.hold_until, time.monotonic() + HOLD_AFTER_FAULT)

    def slot_freed(self, completed: bool, sent_at: float | None) -> None:
        """A job ended: count it, time it, and grow the target again after a success."""
        now = time.monotonic()
        self._ended.append(now)
        if sent_at is not None:
            self._render_seconds.append(now - sent_at)
        if completed and self.target < self.limit:
            self.target = min(float(self.limit), self.target + 1.0 / max(1.0, self.target))
        self._lowered_since_slot = False
        self.hold_until = 0.0

    def videos_per_minute(self, pack: int) -> float | None:
        """Items whose job ended per minute, over the last ``RATE_WINDOW`` (None before any)."""
        now = time.monotonic()
        recent = [t for t in self._ended if now - t <= RATE_WINDOW]
        if not recent:
            return None
        span = max(1.0, now - max(self._started_at, now - RATE_WINDOW))
        return len(recent) / span * 60.0 * max(1, pack)

    def eta_seconds(self, left: int) -> float | None:
        """Seconds until ``left`` more jobs should end, from observed job times and the slots."""
        if not left or not self._render_seconds:
            return None
        mean = sum(self._render_seconds) / len(self._render_seconds)
        return mean * left / max(1.0, self.target)
