"""When to try a request again, and how long to wait first.

Kept apart from the client so the rules can be read (and tested) in one place:
which statuses and transport errors are transient, which are safe to repeat for a
non-idempotent submission, and how ``Retry-After`` and exponential backoff with
jitter combine under one overall deadline. :func:`decide` puts them together: a
pure function of one failed attempt, so every rule is tested without a server.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field

import httpx

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another attempt: the server (or a proxy in front of it) was busy or broken."""

MAX_RETRIES = 5
"""Retries of one call, after its first attempt."""
RETRY_DEADLINE = 120.0
"""Seconds within which a call's retries end."""
BACKOFF = 0.5
"""Seconds of the first backoff; each retry doubles it."""
BACKOFF_MAX = 8.0
"""Longest backoff, in seconds."""
RETRY_AFTER_CAP = 60.0
"""Longest ``Retry-After`` honoured, in seconds."""


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by an overall deadline.

    ``retry_after_cap`` bounds what a server may ask us to wait, so a bogus
    ``Retry-After: 86400`` cannot freeze a notebook for a day.
    """

    max_retries: int = MAX_RETRIES
    deadline: float = RETRY_DEADLINE
    base_delay: float = BACKOFF
    max_delay: float = BACKOFF_MAX
    retry_after_cap: float = RETRY_AFTER_CAP
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (1-based): uniform in [c/2, c], c = min(max, base*2^n)."""
        doublings = min(max(0, attempt - 1), 64)  # 2 ** 1024 is past any float
        ceiling = min(self.max_delay, self.base_delay * (2**doublings))
        return self.rng.uniform(ceiling / 2, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's wish (capped) when it gave one, else our own backoff."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:  # "nan" or "inf" would poison every wait computed from it
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def never_reached_server(exc: BaseException) -> bool:
    """True when a transport error proves the request was never sent.

    Only the connect phase gives that proof (refused, unreachable, connect
    timeout, no free pool slot). Anything later (a reset or a read timeout after
    the body left) may mean the server already acted, so a submission is not repeated.
    """
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def is_transient(exc: BaseException) -> bool:
    """Transport errors worth retrying for a request that is safe to repeat."""
    transient = (
        httpx.TimeoutException,
        httpx.NetworkError,
        httpx.RemoteProtocolError,
        httpx.DecodingError,
    )
    return isinstance(exc, transient)


class Deadline:
    """An overall time budget: retries stop when the next wait would overrun it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + max(0.0, seconds)

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def allows(self, wait: float) -> bool:
        return self.remaining() >= wait


@dataclass(frozen=True)
class RetryDecision:
    """Whether a failed attempt is made again, and how many seconds to wait first."""

    retry: bool
    wait: float = 0.0


GIVE_UP = RetryDecision(retry=False)


def worth_repeating(
    failure: int | BaseException, *, once_only: bool, rate_limit: bool = False
) -> bool:
    """Whether the attempt that failed with ``failure`` (a status, or the transport error)
    may be made again at all.

    A ``once_only`` call (a submission without a key the server honours) is
    repeated only when it provably never reached the server. A 429 is repeated
    whatever the call, because the server did nothing, but only when it is a
    ``rate_limit``: a monthly or concurrent limit does not pass by waiting.
    """
    if isinstance(failure, BaseException):
        return never_reached_server(failure) or (not once_only and is_transient(failure))
    if failure == 429:
        return rate_limit
    return failure in RETRY_STATUSES and not once_only


def decide(
    failure: int | BaseException,
    *,
    attempt: int,
    policy: RetryPolicy,
    time_left: float,
    once_only: bool = False,
    keyed: bool = False,
    retry_after: float | None = None,
    rate_limit: bool = False,
) -> RetryDecision:
    """What to do after failed attempt number ``attempt`` (1-based) of one call.

    ``keyed``: the call carries an idempotency key that the server declared it
    honours, so even a ``once_only`` call may be repeated after any transient
    failure. The wait is the server's ``retry_after`` (capped) or the policy's
    backoff; no retry when the attempts are used up or the wait would overrun
    the ``time_left`` of the call.
    """
    repeatable = worth_repeating(failure, once_only=once_only and not keyed, rate_limit=rate_limit)
    if not repeatable or attempt > policy.max_retries:
        return GIVE_UP
    wait = policy.delay(attempt, retry_after)
    if time_left < wait:
        return GIVE_UP
    return RetryDecision(retry=True, wait=wait)
