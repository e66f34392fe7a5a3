"""Reading a request: its body under a cap and a deadline, JSON, the bearer token, query
values and ``Range``. Each way one can be wrong is an ``HTTPProblem`` that says which.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request

from odyssey_jupyter.local.http.door import not_json_problem
from odyssey_jupyter.local.http.limits import rate_limited_body
from odyssey_jupyter.local.http.ranges import MalformedRange, UnsatisfiableRange, byte_ranges
from odyssey_jupyter.local.http.state import EngineState

MAX_BODY_BYTES = 64 * 1024 * 1024


class HTTPProblem(Exception):
    """The engine's error answer to a request: status, JSON body, extra headers.

    Raised by a handler and turned into the response; not the client's ``APIError``,
    which is what a client makes of such an answer.
    """

    def __init__(
        self,
        status: int,
        detail: Any,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body if body is not None else {"detail": detail}
        self.headers = headers or {}
        super().__init__(str(detail))


def _size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused (413) past ``limit`` before it is all read, and (408)
    when the client takes longer than the engine's body deadline to send it."""
    # no "Connection: close": a client still sending would read a reset instead of this answer
    too_large = HTTPProblem(413, f"the request body is larger than {_size_text(limit)}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    state: EngineState = request.app.state.engine
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), timeout=state.body_timeout)
    except asyncio.TimeoutError:
        raise HTTPProblem(
            408,
            f"the request body did not arrive within {state.body_timeout:g} s",
            headers={"Connection": "close"},
        ) from None
    return b"".join(chunks)


def require_json(request: Request) -> None:
    """415 unless the body is declared JSON: a cross-site form post stops here, unread."""
    problem = not_json_problem(request.headers.get("content-type"))
    if problem is not None:
        raise HTTPProblem(415, problem)


def parse_json(raw: bytes) -> Any:
    """The body as JSON; every way it can be malformed is a 422 that says which."""
    if not raw.strip():
        raise HTTPProblem(422, "the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPProblem(422, f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise HTTPProblem(422, "the request body is nested too deeply") from None
    except ValueError:  # an integer longer than Python parses (4300 digits by default)
        raise HTTPProblem(422, "the request body holds an integer with too many digits") from None


def authenticate(request: Request) -> str:
    """The owner id of the bearer token, after the rate limit; raises 401/429."""
    state: EngineState = request.app.state.engine
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPProblem(
            401,
            "Not authenticated: send 'Authorization: Bearer <token>' "
            "(get a token from POST /auth/token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = token.strip()
    owner = state.tokens.verify(token)
    if owner is None:
        raise HTTPProblem(
            401,
            "the bearer token is invalid or has expired; exchange the API key again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if state.limiter is not None:
        wait = state.limiter.check(owner)
        if wait is not None:
            body, retry_after = rate_limited_body(wait, state.limiter.rate)
            raise HTTPProblem(429, body["message"], body=body, headers={"Retry-After": retry_after})
    return owner


def _clipped(text: str, limit: int = 40) -> str:
    """``text`` shortened for an error message (a query value may be thousands of characters)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def query_int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    bound = f"{low}..{high}" if high is not None else f">= {low}"
    try:
        value = int(raw)
    except ValueError:
        if re.fullmatch(r"\s*[+-]?\d+\s*", raw):  # more digits than int() parses: out of range
            detail = f"'{name}' must be {bound}, not {_clipped(raw.strip())}"
            raise HTTPProblem(422, detail) from None
        raise HTTPProblem(422, f"'{name}' must be an integer, not {_clipped(raw)!r}") from None
    if value < low or (high is not None and value > high):
        raise HTTPProblem(422, f"'{name}' must be {bound}, not {_clipped(str(value))}")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise HTTPProblem(422, f"'{name}' must be true or false, not {raw!r}")


def check_range(header: str | None, path: Path) -> None:
    """A ``Range`` header the file answer will accept; else 400/416 with a JSON detail.

    Starlette answers a malformed one in plain text; checking first keeps every 4xx JSON.
    """
    if header is None:
        return
    try:
        size = path.stat().st_size
    except OSError:  # removed since the caller saw it: the header is not at fault
        raise HTTPProblem(404, "the artifact no longer exists") from None
    try:
        byte_ranges(header, size)
    except MalformedRange as exc:
        raise HTTPProblem(
            400, f"the Range header {_clipped(header)!r} is malformed: {exc}"
        ) from None
    except UnsatisfiableRange as exc:
        raise HTTPProblem(
            416,
            f"the Range header {_clipped(header)!r} starts beyond the file's {exc.size} bytes",
            headers={"Content-Range": f"bytes */{exc.size}"},
        ) from None
