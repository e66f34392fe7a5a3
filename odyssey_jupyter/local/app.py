"""The HTTP routes of the Simulate API (docs/openapi.yaml), as a Starlette application.

Every 4xx answer is JSON with a ``detail``; bad input never becomes a 5xx.
Artifact URLs are signed and need no bearer header, like presigned URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odyssey_jupyter import declarations, idempotency
from odyssey_jupyter.artifacts import ARTIFACT_KINDS, ARTIFACTS, MEDIA_TYPES
from odyssey_jupyter.local.dispatcher import Dispatcher
from odyssey_jupyter.local.door import LOOPBACK_NAMES, FrontDoor, not_json_problem
from odyssey_jupyter.local.keys import TokenSigner, UrlSigner, same_secret
from odyssey_jupyter.local.limits import (
    AuthThrottle,
    RateLimiter,
    auth_throttled_body,
    concurrent_limit_body,
    concurrent_streams_body,
    job_size_problem,
    rate_limited_body,
)
from odyssey_jupyter.local.spec import frame_count
from odyssey_jupyter.local.store import (
    IdempotencyConflict,
    IdempotencyKey,
    Row,
    StorageError,
    Store,
)
from odyssey_jupyter.local.submit import SubmitError, parse_submission
from odyssey_jupyter.types import (
    ACTIVE_STATUSES,
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    JobStatus,
)

log = logging.getLogger("odyssey_jupyter.local")

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_AUTH_BODY_BYTES = 64 * 1024
"""``{"api_key": ...}`` is tiny: read no more before the key has been checked."""
REGION = "local"
MAX_OFFSET = 2**63 - 1
"""The largest list ``offset``: SQLite's largest INTEGER (a bigger one cannot be bound)."""
STORAGE_RETRY_AFTER = 5
ACTIVE_ORDER = (JobStatus.PENDING.value, JobStatus.DISPATCHED.value, JobStatus.PROCESSING.value)
"""The active statuses in the order a job passes through them, for messages."""
"""Seconds a client is asked to wait (``Retry-After``) when the database cannot be used."""


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


@dataclass
class EngineState:
    store: Store
    dispatcher: Dispatcher
    tokens: TokenSigner
    urls: UrlSigner
    api_key: str
    owner: str
    recordings: Path
    fps: int
    limiter: RateLimiter | None = None
    max_active: int | None = None
    max_active_streams: int | None = None
    max_job_seconds: float = 3600.0
    max_job_streams: int = 100
    body_timeout: float = 60.0
    hosts: frozenset[str] = LOOPBACK_NAMES
    auth_throttle: AuthThrottle | None = None
    cancellable: frozenset[str] = ACTIVE_STATUSES
    """The statuses a cancel may stop (``--cancellable``); a job in another active one gets 400."""
    admission: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held from the active-job checks to the insert, so racing submissions cannot all pass
    a cap that only one more job fits under (parsing still runs in parallel)."""


# ---------------------------------------------------------------------------- helpers


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


def owned_job(state: EngineState, job_id: str, owner: str) -> Row:
    job = state.store.job(job_id)
    if job is None:
        raise HTTPProblem(404, f"no simulation job {job_id!r}")
    if not hmac.compare_digest(job["owner"], owner):
        raise HTTPProblem(403, f"simulation job {job_id!r} belongs to another API key")
    return job


def artifact_urls(state: EngineState, request: Request, row: Row) -> dict[str, str | None]:
    base = str(request.base_url).rstrip("/")
    urls: dict[str, str | None] = {}
    for artifact in ARTIFACTS:
        rel = f"{row['job_id']}/{row['stream_id']}/{artifact.filename}"
        urls[f"{artifact.kind}_url"] = f"{base}/artifacts/{rel}?{state.urls.query(rel)}"
    return urls


def no_urls() -> dict[str, str | None]:
    return {f"{kind}_url": None for kind in ARTIFACT_KINDS}


def stream_json(state: EngineState, request: Request, row: Row, job_status: str) -> dict[str, Any]:
    ready = row["status"] == "completed" and job_status != "cancelled"
    return {
        "stream_id": row["stream_id"],
        "script_index": row["script_index"],
        **(artifact_urls(state, request, row) if ready else no_urls()),
        "frame_count": row["frame_count"] if ready else None,
        "duration_seconds": row["duration_seconds"] if ready else None,
        "status": row["status"],
        "error_message": row["error_message"],
    }


def job_json(state: EngineState, request: Request, job: Row) -> dict[str, Any]:
    streams = state.store.streams_of(job["job_id"])
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "priority": job["priority"],
        "created_at": job["created_at"],
        "dispatched_at": job["dispatched_at"],
        "started_at": job["started_at"],
        "completed_at": job["completed_at"],
        "error_message": job["error_message"],
        "assigned_region": REGION if job["dispatched_at"] or job["status"] != "pending" else None,
        "retry_count": job["retry_count"],
        "estimated_wait_minutes": state.dispatcher.estimated_wait_minutes(job),
        "streams": [
            stream_json(state, request, s, job["status"])
            for s in streams
            if s["status"] != "pending"
        ],
        "progress": state.dispatcher.job_progress(job, streams),
    }


def job_info_json(job: Row) -> dict[str, Any]:
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "priority": job["priority"],
        "created_at": job["created_at"],
        "completed_at": job["completed_at"],
        "error_message": job["error_message"],
    }


# ---------------------------------------------------------------------------- routes


def _throttled(wait: float) -> HTTPProblem:
    body, retry_after = auth_throttled_body(wait)
    return HTTPProblem(429, body["message"], body=body, headers={"Retry-After": retry_after})


async def auth_token(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    address = request.client.host if request.client else "unknown"
    throttle = state.auth_throttle
    if throttle is not None:
        wait = throttle.check(address)
        if wait is not None:
            raise _throttled(wait)
    require_json(request)
    body = parse_json(await read_body(request, MAX_AUTH_BODY_BYTES))
    key = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise HTTPProblem(422, 'send {"api_key": "<your key>"}: the key is missing or not text')
    if not same_secret(key, state.api_key):
        if throttle is not None:
            throttle.failed(address)
        raise HTTPProblem(401, "invalid API key")
    if throttle is not None:
        throttle.succeeded(address)
    return JSONResponse(
        {
            "access_token": state.tokens.issue(),
            "token_type": "bearer",
            "expires_in": state.tokens.ttl,
        }
    )


def idempotency_of(request: Request, raw: bytes) -> IdempotencyKey | None:
    """The submission's ``Idempotency-Key`` with a digest of its body; 422 when malformed.

    The digest is of the bytes as sent: a client repeats a submission byte for
    byte, so nothing (up to 64 MB of images) is re-serialised to compare it.
    """
    key = request.headers.get(idempotency.KEY_HEADER)
    if key is None:
        return None
    problem = idempotency.key_problem(key)
    if problem is not None:
        raise HTTPProblem(422, problem)
    return IdempotencyKey(key, hashlib.sha256(raw).hexdigest())


def key_conflict(exc: IdempotencyConflict) -> HTTPProblem:
    return HTTPProblem(
        422,
        f"the {idempotency.KEY_HEADER} {exc.key!r} was already used for a different "
        "submission; send a new key with every new submission",
    )


async def submit_job(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    require_json(request)
    raw = await read_body(request)
    # decoding and hashing up to 64 MB takes long enough to stall every other client
    body = await run_in_threadpool(parse_json, raw)
    key = await run_in_threadpool(idempotency_of, request, raw)
    try:
        earlier = None if key is None else state.store.job_for_key(owner, key)
    except IdempotencyConflict as exc:
        raise key_conflict(exc) from None
    if earlier is not None:  # a repeat of a submission whose answer was lost
        known = state.store.job(earlier)
        assert known is not None
        return JSONResponse(job_json(state, request, known))
    try:
        submission = await parse_submission(body)
    except SubmitError as exc:
        raise HTTPProblem(422, str(exc)) from None
    async with state.admission:
        if state.max_active is not None:
            active = state.store.count_active(owner)
            if active >= state.max_active:
                raise HTTPProblem(
                    429,
                    "too many active jobs",
                    body=concurrent_limit_body(active, state.max_active),
                )
        streams = submission.streams
        check_job_size(state, owner, [duration for _s, _p, duration in streams])
        for script_index, _plan_index, duration_ms in streams:
            if frame_count(duration_ms, state.fps) < 1:
                raise HTTPProblem(
                    422,
                    f"script {script_index}: a stream is shorter than one frame "
                    f"at {state.fps} fps; make it last longer",
                )
        try:
            job_id = await run_in_threadpool(
                state.store.create_job,
                owner=owner,
                scripts=submission.scripts,
                streams=streams,
                portrait=submission.portrait,
                bypass_vlm_expansion=submission.bypass_vlm_expansion,
                idempotency=key,
            )
        except IdempotencyConflict as exc:
            raise key_conflict(exc) from None
    state.dispatcher.wake()
    job = state.store.job(job_id)
    assert job is not None
    return JSONResponse(job_json(state, request, job))


def check_job_size(state: EngineState, owner: str, durations_ms: list[int]) -> None:
    """The per-job caps (422) and the active-streams cap (429) of this engine."""
    problem = job_size_problem(durations_ms, state.max_job_seconds, state.max_job_streams)
    if problem is not None:
        raise HTTPProblem(422, problem)
    if state.max_active_streams is not None:
        active = state.store.count_active_streams(owner)
        if active + len(durations_ms) > state.max_active_streams:
            body = concurrent_streams_body(active, len(durations_ms), state.max_active_streams)
            raise HTTPProblem(429, body["message"], body=body)


async def list_jobs(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    limit = query_int(request, "limit", 20, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    active = query_bool(request, "active")
    status = request.query_params.get("status") or None
    statuses: list[str] | None = None
    if status is not None:
        statuses = [s.strip().lower() for s in status.split(",") if s.strip()]
        if status.lower() == "running":  # the guide's word for the active states
            statuses = sorted(RUNNING_STATUSES)
    if active is not None:
        wanted = ACTIVE_STATUSES if active else TERMINAL_STATUSES
        statuses = sorted(wanted if statuses is None else wanted & set(statuses))
    rows, total = state.store.list_jobs(owner=owner, statuses=statuses, limit=limit, offset=offset)
    return JSONResponse(
        {"jobs": [job_info_json(r) for r in rows], "total": total, "limit": limit, "offset": offset}
    )


async def get_job(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    job = owned_job(state, request.path_params["job_id"], owner)
    return JSONResponse(job_json(state, request, job))


def _cancellable_text(statuses: frozenset[str]) -> str:
    """``pending, dispatched or processing`` in the order a job passes through them."""
    names = [status for status in ACTIVE_ORDER if status in statuses]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


async def cancel_job(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    job_id = request.path_params["job_id"]
    job = owned_job(state, job_id, owner)
    allowed = state.cancellable
    # no await from this check to the cancel: the dispatcher moves jobs on this loop only
    if job["status"] in ACTIVE_STATUSES and job["status"] not in allowed:
        raise HTTPProblem(
            400,
            f"job {job_id} cannot be cancelled: it is already rendering (status "
            f"{job['status']}); this engine cancels only {_cancellable_text(allowed)} jobs",
        )
    if not state.dispatcher.cancel(job_id):
        job = state.store.job(job_id) or job
        raise HTTPProblem(
            400,
            f"job {job_id} cannot be cancelled: it is already {job['status']}; only "
            f"{_cancellable_text(allowed)} jobs can be cancelled",
        )
    cancelled = state.store.job(job_id)
    assert cancelled is not None
    return JSONResponse(job_info_json(cancelled))


async def get_recording(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    stream_id = request.path_params["stream_id"]
    row = state.store.stream(stream_id)
    if row is None or not hmac.compare_digest(row["owner"], owner):
        raise HTTPProblem(404, f"no recording for stream {stream_id!r}")
    if row["status"] != "completed" or row["job_status"] == "cancelled":
        detail = f"stream {stream_id} has no recording (its status is {row['status']})"
        raise HTTPProblem(404, detail)
    return JSONResponse(
        {
            "stream_id": stream_id,
            **artifact_urls(state, request, row),
            "frame_count": row["frame_count"],
            "duration_seconds": row["duration_seconds"],
        }
    )


async def list_recordings(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    owner = authenticate(request)
    limit = query_int(request, "limit", 20, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    rows, total = state.store.completed_recordings(owner=owner, limit=limit, offset=offset)
    recordings = [
        {
            "stream_id": r["stream_id"],
            "width": r["width"],
            "height": r["height"],
            "started_at": r["started_at"],
            "ended_at": r["ended_at"],
            "duration_seconds": r["duration_seconds"],
        }
        for r in rows
    ]
    return JSONResponse(
        {"recordings": recordings, "total": total, "limit": limit, "offset": offset}
    )


async def artifact(request: Request) -> Response:
    state: EngineState = request.app.state.engine
    rel = request.path_params["path"]
    parts = rel.split("/")
    if len(parts) != 3 or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise HTTPProblem(404, "no such artifact")
    path = (state.recordings / rel).resolve()
    root = state.recordings.resolve()
    if root not in path.parents or parts[2] not in MEDIA_TYPES:
        raise HTTPProblem(404, "no such artifact")
    problem = state.urls.check(
        rel, request.query_params.get("expires"), request.query_params.get("signature")
    )
    if problem is not None:
        raise HTTPProblem(403, problem)
    if not path.is_file():
        raise HTTPProblem(404, "the artifact no longer exists")
    check_range(request.headers.get("range"), path)
    return FileResponse(
        path, media_type=MEDIA_TYPES[parts[2]], headers={"Cache-Control": "private, max-age=60"}
    )


def check_range(header: str | None, path: Path) -> None:
    """A ``Range`` header the file answer will accept; else 400/416 with a JSON detail.

    Starlette answers a malformed one in plain text; checking first keeps every 4xx JSON.
    """
    if header is None:
        return
    try:
        size = path.stat().st_size
        FileResponse._parse_range_header(header, size)
    except MalformedRangeHeader as exc:
        raise HTTPProblem(
            400, f"the Range header {_clipped(header)!r} is malformed: {exc.content}"
        ) from None
    except RangeNotSatisfiable as exc:
        raise HTTPProblem(
            416,
            f"the Range header {_clipped(header)!r} starts beyond the file's {exc.max_size} bytes",
            headers={"Content-Range": f"bytes */{exc.max_size}"},
        ) from None
    except (ValueError, OSError):
        raise HTTPProblem(400, f"the Range header {_clipped(header)!r} is malformed") from None


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "engine": "odyssey-local", "pid": os.getpid()})


# ---------------------------------------------------------------------------- errors


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _storage_error(request: Request, exc: Exception) -> Response:
    """A storage fault (disk full, I/O error) is the engine's, passing: 503, try again later."""
    assert isinstance(exc, StorageError)
    log.warning("storage fault on %s %s: %s", request.method, request.url.path, exc)
    detail = (
        f"the engine cannot use its database right now ({exc.reason}); "
        f"try again in {STORAGE_RETRY_AFTER} s"
    )
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(STORAGE_RETRY_AFTER)}
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)


def declared_limits(scope: Scope) -> list[tuple[bytes, bytes]]:
    """``Odyssey-Max-Active`` (when capped) and ``Odyssey-Render-Slots``, for sizing sweeps."""
    app = scope.get("app")
    state: EngineState | None = getattr(getattr(app, "state", None), "engine", None)
    if state is None:
        return []
    out = [
        (declarations.RENDER_SLOTS_HEADER.lower().encode(), str(state.dispatcher.workers).encode())
    ]
    if state.max_active is not None:
        out.append(
            (declarations.MAX_ACTIVE_HEADER.lower().encode(), str(state.max_active).encode())
        )
    return out


class DeclareIdempotency:
    """Adds ``Idempotency-Keys: honoured`` (and the engine's limits) to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_declared(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append(
                    (
                        idempotency.SUPPORT_HEADER.lower().encode(),
                        idempotency.SUPPORT_VALUE.encode(),
                    )
                )
                headers.extend(declared_limits(scope))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_declared)


def create_app(state: EngineState) -> Starlette:
    routes = [
        Route("/auth/token", auth_token, methods=["POST"]),
        Route("/simulation-jobs", submit_job, methods=["POST"]),
        Route("/simulation-jobs", list_jobs, methods=["GET"]),
        Route("/simulation-jobs/{job_id}", get_job, methods=["GET"]),
        Route("/simulation-jobs/{job_id}", cancel_job, methods=["DELETE"]),
        Route("/recordings/{stream_id}", get_recording, methods=["GET"]),
        Route("/stream-recordings", list_recordings, methods=["GET"]),
        Route("/artifacts/{path:path}", artifact, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPProblem: _http_problem,
            StorageError: _storage_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        middleware=[Middleware(FrontDoor, hosts=state.hosts), Middleware(DeclareIdempotency)],
    )
    app.state.engine = state
    return app
