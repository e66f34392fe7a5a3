"""The HTTP routes of the Simulate API (docs/openapi.yaml), as a Starlette application.

Every 4xx answer is JSON with a ``detail``; bad input never becomes a 5xx.
Reading a request lives in ``inputs``, the answers' JSON shapes in ``answers``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import NoReturn

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odyssey_jupyter.local.http.answers import artifact_urls, job_info_json, job_json
from odyssey_jupyter.local.http.door import FrontDoor
from odyssey_jupyter.local.http.inputs import (
    HTTPProblem,
    authenticate,
    check_range,
    parse_json,
    query_bool,
    query_int,
    read_body,
    require_json,
)
from odyssey_jupyter.local.http.limits import (
    auth_throttled_body,
    concurrent_limit_body,
    concurrent_streams_body,
    job_size_problem,
)
from odyssey_jupyter.local.http.state import EngineState
from odyssey_jupyter.local.http.submit import SubmitError, parse_submission
from odyssey_jupyter.local.jobs.spec import frame_count
from odyssey_jupyter.local.store.database import Row, StorageError
from odyssey_jupyter.local.store.idempotency import IdempotencyConflict, IdempotencyKey
from odyssey_jupyter.local.store.keys import CHALLENGE_PATTERN, identity_proof, same_secret
from odyssey_jupyter.protocol import declarations, idempotency
from odyssey_jupyter.protocol.artifacts import MEDIA_TYPES
from odyssey_jupyter.protocol.types import (
    ACTIVE_STATUSES,
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    JobStatus,
)

log = logging.getLogger("odyssey_jupyter.local")

MAX_AUTH_BODY_BYTES = 64 * 1024
"""``{"api_key": ...}`` is tiny: read no more before the key has been checked."""
MAX_OFFSET = 2**63 - 1
"""The largest list ``offset``: SQLite's largest INTEGER (a bigger one cannot be bound)."""
STORAGE_RETRY_AFTER = 5
"""Seconds a client is asked to wait (``Retry-After``) when the database cannot be used."""
ACTIVE_ORDER = (JobStatus.PENDING.value, JobStatus.DISPATCHED.value, JobStatus.PROCESSING.value)
"""The active statuses in the order a job passes through them, for messages."""


# ---------------------------------------------------------------------------- helpers


def owned_job(state: EngineState, job_id: str, owner: str) -> Row:
    job = state.store.job(job_id)
    if job is None:
        raise HTTPProblem(404, f"no simulation job {job_id!r}")
    if not hmac.compare_digest(job["owner"], owner):
        raise HTTPProblem(403, f"simulation job {job_id!r} belongs to another API key")
    return job


# ---------------------------------------------------------------------------- routes


def _throttled(wait: float) -> HTTPProblem:
    body, retry_after = auth_throttled_body(wait)
    return HTTPProblem(429, body["message"], body=body, headers={"Retry-After": retry_after})


async def auth_token(request: Request) -> Response:
    """A token for the right key, always; wrong keys are throttled per client address.

    The key is checked first (in constant time): other callers' wrong guesses from
    the same address (every local process is 127.0.0.1) must never lock its owner
    out. Only a failure waits for, or counts towards, the address's backoff.
    """
    state: EngineState = request.app.state.engine
    require_json(request)
    body = parse_json(await read_body(request, MAX_AUTH_BODY_BYTES))
    key = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise HTTPProblem(422, 'send {"api_key": "<your key>"}: the key is missing or not text')
    if not same_secret(key, state.api_key):
        _refuse_key(state, request.client.host if request.client else "unknown")
    return JSONResponse(
        {
            "access_token": state.tokens.issue(),
            "token_type": "bearer",
            "expires_in": state.tokens.ttl,
        }
    )


def _refuse_key(state: EngineState, address: str) -> NoReturn:
    """429 while ``address`` is backing off (the guess is not even counted), else 401."""
    throttle = state.auth_throttle
    if throttle is not None:
        wait = throttle.check(address)
        if wait is not None:
            raise _throttled(wait)
        throttle.failed(address)
    raise HTTPProblem(401, "invalid API key")


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


async def health(request: Request) -> Response:
    """Liveness for anyone; with ``?challenge=NONCE``, proof that this is the recorded engine.

    No pid and nothing else about the process without that proof being asked for:
    the proof binds the pid without disclosing it (``keys.identity_proof``).
    """
    answer = {"status": "ok", "engine": "odyssey-local"}
    challenge = request.query_params.get("challenge")
    if challenge is not None:
        if not CHALLENGE_PATTERN.fullmatch(challenge):
            raise HTTPProblem(
                422, "challenge must be 16 to 128 characters of A-Z, a-z, 0-9, '-' or '_'"
            )
        answer["proof"] = identity_proof(request.app.state.engine.secret, challenge, os.getpid())
    return JSONResponse(answer)


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
