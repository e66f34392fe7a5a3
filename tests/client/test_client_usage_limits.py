"""A 429 on submission raises its typed class whatever the body's exact shape.

Over real HTTP against a small scripted server: the usage code may be in
``error`` or in ``code``, the wait in ``details.retry_after_seconds`` or in a
``Retry-After`` header (seconds or an HTTP date). A rate limit is waited out and
sent again; the other limits do not pass by waiting and are raised at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.scripted_server import Answer, ScriptedServer

from odyssey_jupyter.client.http_errors import usage_code
from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import (
    AccountSuspendedError,
    ConcurrentLimitError,
    MonthlyLimitError,
    RateLimitError,
    StreamDurationError,
    UsageLimitError,
)

KEY = "ody_usage_limits_test_key_0123456789"
SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "A lighthouse in the fog"}},
    {"timestamp_ms": 3000, "end": {}},
]
PENDING = {
    "job_id": "j1",
    "status": "pending",
    "priority": "normal",
    "created_at": "2026-12-02T00:00:00Z",
    "streams": [],
}


def submit(api: ScriptedServer, **kw: Any) -> Any:
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("retry_deadline", 5.0)

    async def main() -> Any:
        async with Odyssey(KEY, api.url, **kw) as client:
            return await client.simulate(script=SCRIPT)

    return asyncio.run(main())


def refusal(api: ScriptedServer, answer: Answer, **kw: Any) -> UsageLimitError:
    api.route("POST", "/simulation-jobs", answer)
    with pytest.raises(UsageLimitError) as caught:
        submit(api, **kw)
    return caught.value


def limit(body: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(
        status=429,
        body=data,
        headers=[("Content-Type", "application/json"), *(headers or [])],
    )


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclass(frozen=True)
class Shape:
    name: str
    body: Any
    cls: type[UsageLimitError]
    code: str
    headers: list[tuple[str, str | Callable[[], str]]] = field(default_factory=list)
    """Header values, or functions making them when the answer is sent (a date ages)."""
    retry_after: tuple[float, float] | None = None
    """(low, high) bounds of the wait the error carries; None: no wait known."""

    def headers_now(self) -> list[tuple[str, str]]:
        return [(name, value() if callable(value) else value) for name, value in self.headers]


USAGE = {"message": "Limit reached", "action": "Upgrade your plan"}

SHAPES = [
    Shape(
        "code in error",
        {"error": "MONTHLY_LIMIT_REACHED", **USAGE, "details": {"used_hours": 10}},
        MonthlyLimitError,
        "MONTHLY_LIMIT_REACHED",
    ),
    Shape(
        "code in code",
        {"code": "CONCURRENT_LIMIT_REACHED", **USAGE, "details": {"active_count": 3}},
        ConcurrentLimitError,
        "CONCURRENT_LIMIT_REACHED",
    ),
    Shape(
        "error holds no word, code does",
        {"error": {"kind": "usage"}, "code": "STREAM_DURATION_EXCEEDED", **USAGE},
        StreamDurationError,
        "STREAM_DURATION_EXCEEDED",
    ),
    Shape(
        "a code in lower case",
        {"code": "account_suspended", **USAGE},
        AccountSuspendedError,
        "ACCOUNT_SUSPENDED",
    ),
    Shape(
        "an empty error, code set",
        {"error": "", "code": "RATE_LIMITED", **USAGE},
        RateLimitError,
        "RATE_LIMITED",
    ),
    Shape(
        "wait in details",
        {"error": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": 7}},
        RateLimitError,
        "RATE_LIMITED",
        retry_after=(7, 7),
    ),
    Shape(
        "wait in details as text",
        {"code": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": "2.5"}},
        RateLimitError,
        "RATE_LIMITED",
        retry_after=(2.5, 2.5),
    ),
    Shape(
        "wait in a Retry-After header",
        {"code": "RATE_LIMITED", **USAGE},
        RateLimitError,
        "RATE_LIMITED",
        headers=[("Retry-After", "12")],
        retry_after=(12, 12),
    ),
    Shape(
        "wait as an HTTP date",
        {"error": "RATE_LIMITED", **USAGE},
        RateLimitError,
        "RATE_LIMITED",
        headers=[("Retry-After", lambda: http_date(40))],
        retry_after=(30, 41),
    ),
    Shape(
        "the header wins over details",
        {"error": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": 99}},
        RateLimitError,
        "RATE_LIMITED",
        headers=[("Retry-After", "4")],
        retry_after=(4, 4),
    ),
    Shape(
        "a nonsense wait is no wait",
        {"error": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": True}},
        RateLimitError,
        "RATE_LIMITED",
    ),
    Shape("no body at all", b"", RateLimitError, "RATE_LIMITED"),
    Shape("a text body", b"slow down", RateLimitError, "RATE_LIMITED"),
    Shape(
        "a FastAPI-style detail",
        {"detail": "Too many requests"},
        RateLimitError,
        "RATE_LIMITED",
        headers=[("Retry-After", "1")],
        retry_after=(1, 1),
    ),
    Shape(
        "a code this client does not know",
        {"code": "NEW_LIMIT", **USAGE},
        UsageLimitError,
        "NEW_LIMIT",
    ),
]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_a_429_on_submission_maps_to_its_class(api: ScriptedServer, shape: Shape) -> None:
    error = refusal(api, limit(shape.body, shape.headers_now()))
    assert type(error) is shape.cls
    assert error.code == shape.code and error.status_code == 429
    if shape.retry_after is None:
        assert error.retry_after is None
    else:
        low, high = shape.retry_after
        assert error.retry_after is not None and low <= error.retry_after <= high
    if isinstance(shape.body, dict) and "message" in shape.body:
        assert "Limit reached" in str(error) and error.action == "Upgrade your plan"


def test_the_details_are_kept(api: ScriptedServer) -> None:
    body = {
        "error": "MONTHLY_LIMIT_REACHED",
        **USAGE,
        "action_url": "https://example.invalid/billing",
        "details": {"used_hours": 10.5, "limit_hours": 10, "reset_date": "2027-01-01"},
    }
    error = refusal(api, limit(body))
    assert error.details == body["details"]
    assert error.action_url == "https://example.invalid/billing"


@pytest.mark.parametrize("action_url", [5, ["https://example.invalid"], {"href": "x"}])
def test_an_action_url_that_is_no_text_is_left_out(api: ScriptedServer, action_url: Any) -> None:
    error = refusal(
        api, limit({"error": "MONTHLY_LIMIT_REACHED", **USAGE, "action_url": action_url})
    )
    assert error.action_url is None  # typed str | None: a caller may print or link it


@pytest.mark.parametrize(
    "body",
    [
        {"error": "MONTHLY_LIMIT_REACHED", **USAGE},
        {"code": "CONCURRENT_LIMIT_REACHED", **USAGE},
        {"code": "account_suspended", **USAGE},
    ],
    ids=["monthly", "concurrent", "suspended"],
)
def test_limits_that_waiting_does_not_lift_are_sent_once(
    api: ScriptedServer, body: dict[str, Any]
) -> None:
    refusal(api, limit(body, [("Retry-After", "0")]), max_retries=3, retry_backoff=0.01)
    assert len(api.requests("/simulation-jobs")) == 1


@pytest.mark.parametrize(
    "body, headers",
    [
        ({"code": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": 0}}, []),
        ({"error": "RATE_LIMITED", **USAGE}, [("Retry-After", "0")]),
        ({"error": "RATE_LIMITED", **USAGE}, [("Retry-After", http_date(-5))]),
    ],
    ids=["details", "seconds", "date in the past"],
)
def test_a_rate_limited_submission_waits_and_is_sent_again(
    api: ScriptedServer, body: dict[str, Any], headers: list[tuple[str, str]]
) -> None:
    answers = [limit(body, headers), limit(body, headers), Answer.json(PENDING, status=200)]
    api.route("POST", "/simulation-jobs", lambda request: answers.pop(0))
    job = submit(api, max_retries=3)
    assert job.job_id == "j1"
    assert len(api.requests("/simulation-jobs")) == 3


def test_a_rate_limit_that_lasts_is_raised_after_the_retries(api: ScriptedServer) -> None:
    body = {"error": "RATE_LIMITED", **USAGE, "details": {"retry_after_seconds": 0}}
    error = refusal(api, limit(body), max_retries=2)
    assert isinstance(error, RateLimitError) and error.retry_after == 0
    assert len(api.requests("/simulation-jobs")) == 3


@pytest.mark.parametrize(
    "body, code",
    [
        ({"error": "RATE_LIMITED"}, "RATE_LIMITED"),
        ({"code": " monthly_limit_reached "}, "MONTHLY_LIMIT_REACHED"),
        ({"error": 42, "code": "RATE_LIMITED"}, "RATE_LIMITED"),
        ({"error": None}, None),
        ([], None),
        ("RATE_LIMITED", None),
    ],
)
def test_usage_code_reads_either_field(body: Any, code: str | None) -> None:
    assert usage_code(body) == code
