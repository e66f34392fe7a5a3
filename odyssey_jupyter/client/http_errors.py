"""Turn HTTP answers and transport failures into the package's exception tree.

Every message built here passes through :func:`~odyssey_jupyter.text.redaction.scrub`, so
neither the API key nor a bearer token can reach an exception, a log line or a
traceback, even when a server or httpx echoes them back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from odyssey_jupyter.client.retry import parse_retry_after
from odyssey_jupyter.errors import (
    AccountSuspendedError,
    APIError,
    AuthenticationError,
    ConcurrentLimitError,
    InvalidRequestError,
    MonthlyLimitError,
    NotFoundError,
    OdysseyConnectionError,
    OdysseyTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamDurationError,
    UsageLimitError,
)
from odyssey_jupyter.text.redaction import scrub_value, shown_text, shown_url

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: InvalidRequestError,
    422: InvalidRequestError,
}


USAGE_ERRORS: dict[str, type[UsageLimitError]] = {
    "RATE_LIMITED": RateLimitError,
    "MONTHLY_LIMIT_REACHED": MonthlyLimitError,
    "CONCURRENT_LIMIT_REACHED": ConcurrentLimitError,
    "STREAM_DURATION_EXCEEDED": StreamDurationError,
    "ACCOUNT_SUSPENDED": AccountSuspendedError,
}
"""A 429 body's usage code -> its error (any other code is a plain ``UsageLimitError``)."""


def response_body(response: httpx.Response) -> Any:
    """The JSON body when there is one, else the text (possibly empty)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError):
        return response.text


def detail_text(detail: Any) -> str:
    """FastAPI-style ``detail`` (a string or a list of field errors) as one line."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = item.get("loc")  # a list by FastAPI's convention; a server may send any
                steps = loc if isinstance(loc, list) else [] if loc is None else [loc]
                where = ".".join(str(p) for p in steps if p != "body")
                msg = str(item.get("msg", item))
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return json.dumps(detail) if detail is not None else ""


USAGE_CODE_FIELDS = ("error", "code")
"""Where a 429 body names its usage code: the protocol lets a server use either field."""


def usage_code(body: Any) -> str | None:
    """The usage-error code of a 429 body (``error`` or ``code``, the first that holds a
    word), in upper case; ``None`` when neither does."""
    if not isinstance(body, dict):
        return None
    for name in USAGE_CODE_FIELDS:
        code = body.get(name)
        if isinstance(code, str) and code.strip():
            return code.strip().upper()
    return None


def _seconds(value: Any) -> float | None:
    """A ``retry_after_seconds`` value (a number, or text as in ``Retry-After``) in seconds."""
    if isinstance(value, bool) or value is None:
        return None
    return parse_retry_after(str(value))


def usage_error(
    response: httpx.Response, body: Any, *, method: str, path: str, retry_after: float | None
) -> UsageLimitError:
    """The typed usage error of a 429 (``RateLimitError``, ``MonthlyLimitError``...).

    The wait comes from ``retry_after`` (the ``Retry-After`` header, seconds or an
    HTTP date) or else from ``details.retry_after_seconds``; a 429 without a code
    is a plain rate limit.
    """
    code = usage_code(body) or "RATE_LIMITED"
    cls: type[UsageLimitError] = USAGE_ERRORS.get(code, UsageLimitError)
    info = body if isinstance(body, dict) else {}
    raw_details = info.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    if retry_after is None:
        retry_after = _seconds(details.get("retry_after_seconds"))
    message = str(info.get("message") or detail_text(info.get("detail")) or "Too many requests")
    action, action_url = info.get("action"), info.get("action_url")
    text = f"{message} ({action})" if action else message
    return cls(
        text,
        code=code,
        action=str(action) if action else None,
        action_url=action_url if isinstance(action_url, str) else None,
        details=details,
        retry_after=retry_after,
        status_code=response.status_code,
        method=method,
        path=path,
    )


def error_from_response(
    response: httpx.Response,
    *,
    method: str,
    path: str,
    secrets: list[str | None],
    retry_after: float | None = None,
) -> APIError:
    """The exception for an error status, carrying the server's own explanation.

    ``retry_after`` defaults to the answer's ``Retry-After`` header.
    """
    status = response.status_code
    body = scrub_value(response_body(response), secrets)
    if retry_after is None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return usage_error(response, body, method=method, path=path, retry_after=retry_after)
    detail = body.get("detail", body) if isinstance(body, dict) else body
    explanation = detail_text(detail).strip() or response.reason_phrase or "error"
    api_cls = _BY_STATUS.get(status)
    if api_cls is None:
        api_cls = ServerError if status >= 500 else APIError
    hint = ""
    if status == 401:
        hint = " Check ODYSSEY_API_KEY (or the api_key argument)."
    message = f"{method} {path} failed with {status}: {explanation}{hint}"
    return api_cls(message, status_code=status, detail=detail, method=method, path=path)


KEY_REFUSED_STATUSES = frozenset({401, 403, 422})
"""Answers of the token exchange that mean the key itself was refused (invalid, denied,
malformed)."""


def token_exchange_error(
    response: httpx.Response, *, method: str, path: str, secrets: list[str | None]
) -> APIError:
    """The exception for a refused token exchange: an AuthenticationError when the key
    itself was refused, else what any other call would raise."""
    error = error_from_response(response, method=method, path=path, secrets=secrets)
    status = response.status_code
    if status not in KEY_REFUSED_STATUSES:
        return error
    return AuthenticationError(
        f"the API key was refused ({status}): {detail_text(error.detail) or 'no detail'}. "
        "Check ODYSSEY_API_KEY.",
        status_code=status,
        detail=error.detail,
        method=method,
        path=path,
    )


def retry_after_of(error: APIError, response: httpx.Response) -> float | None:
    """Seconds the server asked to wait before the next attempt, if it said."""
    if isinstance(error, UsageLimitError):
        return error.retry_after
    return parse_retry_after(response.headers.get("Retry-After"))


def transport_error(
    exc: BaseException, *, method: str, path: str, url: str, secrets: list[str | None]
) -> OdysseyConnectionError:
    """A clean error for a request that never got an answer: the reason scrubbed, and
    every URL in it (the API's, a proxy's) shown without credentials."""
    reason = shown_text(str(exc) or type(exc).__name__, secrets)
    where = shown_url(url, secrets)
    if isinstance(exc, httpx.TimeoutException):
        return OdysseyTimeoutError(
            f"{method} {path}: no answer from {where} in time ({type(exc).__name__}: {reason})"
        )
    return OdysseyConnectionError(
        f"{method} {path}: cannot reach {where} ({type(exc).__name__}: {reason})"
    )
