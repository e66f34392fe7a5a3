"""The async Odyssey client: the Simulate API with the names of Odyssey's own SDK.

``Odyssey()`` finds its settings in the arguments, then ``ODYSSEY_API_KEY`` /
``ODYSSEY_API_URL``, then the hosted API. With neither a key nor a URL it starts
(or re-uses) the embedded local engine, so the same code runs offline
(:mod:`odyssey_jupyter.client.endpoint`).

Robustness lives in the parts this class puts together, not in the callers: one
``httpx.AsyncClient`` per event loop (:mod:`~odyssey_jupyter.client.connections`);
one call with its token, retries, deadline and size cap
(:mod:`~odyssey_jupyter.client.calls`); answers validated field by field
(:mod:`odyssey_jupyter.protocol.types`); errors from one tree
(:mod:`odyssey_jupyter.errors`) that never carry the key or the token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from odyssey_jupyter.client.auth import TokenCache
from odyssey_jupyter.client.calls import Caller
from odyssey_jupyter.client.connections import Connections
from odyssey_jupyter.client.downloads import ArtifactFetcher, ProgressCallback
from odyssey_jupyter.client.endpoint import Endpoint
from odyssey_jupyter.client.retry import (
    BACKOFF,
    BACKOFF_MAX,
    MAX_RETRIES,
    RETRY_AFTER_CAP,
    RETRY_DEADLINE,
    RetryPolicy,
)
from odyssey_jupyter.client.settings import ClientSettings, current_settings
from odyssey_jupyter.client.waiting import UpdateCallback, wait_for_job
from odyssey_jupyter.errors import InvalidRequestError, InvalidResponseError
from odyssey_jupyter.protocol import idempotency
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES, ARTIFACT_KINDS
from odyssey_jupyter.protocol.submission import build_body
from odyssey_jupyter.protocol.types import (
    JobStatus,
    Recording,
    SimulationJobDetail,
    SimulationJobInfo,
    SimulationJobsList,
    StreamRecordingsList,
)
from odyssey_jupyter.text.redaction import shown_url

logger = logging.getLogger("odyssey_jupyter.client")

CONNECT_SECONDS = 10.0
"""Longest wait for a connection, whatever the request's own timeout."""


def _check_page(limit: int | None, offset: int | None) -> dict[str, int]:
    params: dict[str, int] = {}
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidRequestError(f"limit must be a whole number from 1 to 100, not {limit!r}")
        params["limit"] = limit
    if offset is not None:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidRequestError(f"offset must be a whole number of 0 or more, not {offset!r}")
        params["offset"] = offset
    return params


class Odyssey:
    """Async client of Odyssey's Simulate API (hosted, or the embedded local engine).

    :param api_key: the key (default ``ODYSSEY_API_KEY``; with neither key nor URL, the
        embedded engine).
    :param api_url: the API's URL (default ``ODYSSEY_API_URL``, else the hosted API).
    :param timeout: seconds for one HTTP request.
    :param max_retries: retries of a request that failed in a way worth retrying.
    :param settings: where the size caps and the engine's pace are read, on every use
        (default: the ``%config OdysseyJupyter`` settings; ``max_json_bytes`` and
        ``max_artifact_bytes`` override the caps).

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            job = await client.simulate(script=[
                {"timestamp_ms": 0, "start": {"prompt": "A lighthouse at dusk"}},
                {"timestamp_ms": 3000, "end": {}},
            ])
            done = await client.wait(job.job_id)
            print(done.status)
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = MAX_RETRIES,
        retry_deadline: float = RETRY_DEADLINE,
        download_timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
        local_data_dir: Path | None = None,
        retry_backoff: float = BACKOFF,
        retry_backoff_max: float = BACKOFF_MAX,
        retry_after_cap: float = RETRY_AFTER_CAP,
        max_json_bytes: int | None = None,
        max_artifact_bytes: int | None = None,
        settings: Callable[[], ClientSettings] | None = None,
    ) -> None:
        self._settings = settings or current_settings
        self._max_json_bytes = max_json_bytes
        self._max_artifact_bytes = max_artifact_bytes
        self._tokens = TokenCache()
        self._endpoint = Endpoint(
            api_key,
            api_url,
            tokens=self._tokens,
            settings=self._settings,
            local_data_dir=local_data_dir,
        )
        self._policy = RetryPolicy(
            max_retries=max(0, max_retries),
            deadline=retry_deadline,
            base_delay=retry_backoff,
            max_delay=max(retry_backoff, retry_backoff_max),
            retry_after_cap=retry_after_cap,
        )
        connect = min(timeout, CONNECT_SECONDS)
        self._connections = Connections(
            timeout=httpx.Timeout(timeout, connect=connect),
            transport=transport,
            secrets=self._endpoint.secrets,
        )
        self._download_seconds = download_timeout
        self._download_timeout = httpx.Timeout(download_timeout, connect=connect)
        self._calls = Caller(
            self._endpoint,
            self._connections,
            self._tokens,
            self._policy,
            call_seconds=max(timeout, retry_deadline),
            json_cap=self._json_cap,
        )

    # ------------------------------------------------------------------ identity

    @property
    def api_url(self) -> str | None:
        """The base URL in use (``None`` for the local engine until it has been found)."""
        return self._endpoint.url

    @property
    def is_local(self) -> bool:
        """True when this client uses the embedded local engine."""
        return self._endpoint.is_local

    def __repr__(self) -> str:
        url, key = self._endpoint.url, self._endpoint.key
        where = shown_url(url, [key]) if url else "local engine (not started yet)"
        local = ", local" if self.is_local else ""
        return f"<Odyssey url={where!r} key {'set' if key else 'not set'}{local}>"

    @property
    def honours_idempotency_keys(self) -> bool:
        """Whether the server in use has declared that it keeps submission keys (so far)."""
        return self._calls.honours_keys(self._endpoint.url)

    @property
    def declared_limits(self) -> tuple[int | None, int | None]:
        """(max active jobs, render slots) the server in use declared; None where it did not."""
        return self._calls.declared_limits(self._endpoint.url)

    async def handshake(self) -> None:
        """Make one authenticated request, so the server's declarations are known.

        Only the answer's headers matter: a list holding an entry this client refuses
        (an id with a '/', say) still declared the server's limits and keys.
        """
        try:
            await self.list_simulations(limit=1)
        except InvalidResponseError as exc:
            logger.info("the handshake's job list was refused (%s); its headers were read", exc)

    def _json_cap(self) -> int:
        """The JSON size cap: the argument, else ``max_json_mb`` as set now."""
        return self._max_json_bytes or self._settings().json_cap_bytes()

    def _artifact_cap(self) -> int:
        return self._max_artifact_bytes or self._settings().artifact_cap_bytes()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Odyssey:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (those of other, still running loops are closed there)."""
        await self._connections.aclose()

    # ------------------------------------------------------------------ local engine

    def needs_engine_start(self) -> bool:
        """True when this client uses the local engine and no live process serves it yet.

        A cheap check (no HTTP): the engine's ``engine.json`` names a live process,
        or this client has already found the engine.
        """
        return self._endpoint.needs_engine_start()

    async def start_engine(self) -> str:
        """Find or start the local engine now (a no-op for a remote API); the base URL."""
        return await self._endpoint.base()

    async def check_credentials(self, timeout: float | None = None) -> str:
        """Exchange the key for a token now; the base URL that accepted it.

        For a caller that wants to know at once whether a key works (``%odyssey_login``)
        rather than at the first submission. Raises AuthenticationError when the key
        is refused, a connection error when the API cannot be reached.
        """
        return await self._calls.check_credentials(timeout)

    # ------------------------------------------------------------------ endpoints

    async def simulate(
        self,
        script: Sequence[Mapping[str, Any]] | None = None,
        *,
        scripts: Sequence[Sequence[Mapping[str, Any]]] | None = None,
        script_url: str | None = None,
        portrait: bool = True,
        bypass_prompt_expansion: bool | None = None,
        idempotency_key: str | None = None,
    ) -> SimulationJobDetail:
        """Submit a simulation (one script, a batch, or a script URL); returns the pending job.

        Scripts and images are checked before anything is sent. The submission is
        retried when it certainly never reached the server, or, on a server that
        honours idempotency keys, after any transient failure (see ``idempotency``).
        ``idempotency_key`` is for a caller that keeps the key itself (a sweep's
        ledger), so that a repeat after a restart is the same submission; by
        default each call gets a fresh one.
        """
        if idempotency_key is not None:
            problem = idempotency.key_problem(idempotency_key)
            if problem is not None:
                raise InvalidRequestError(problem)
        body = await build_body(
            script,
            scripts,
            script_url,
            portrait=portrait,
            bypass_prompt_expansion=bypass_prompt_expansion,
        )
        data = await self._calls.send(
            "POST",
            "/simulation-jobs",
            json=body,
            unsent_only=True,
            idempotency_key=idempotency_key or idempotency.new_key(),
        )
        return self._calls.parsed(SimulationJobDetail.from_json, data)

    async def get_simulate_status(self, job_id: str) -> SimulationJobDetail:
        """The job's current detail, with its streams once they exist."""
        data = await self._calls.send("GET", f"/simulation-jobs/{_segment(job_id)}")
        return self._calls.parsed(SimulationJobDetail.from_json, data)

    async def list_simulations(
        self,
        status: str | JobStatus | None = None,
        active: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SimulationJobsList:
        """One page of your jobs, newest first (``limit`` 1..100, ``offset`` >= 0)."""
        params: dict[str, Any] = dict(_check_page(limit, offset))
        if status is not None:
            params["status"] = str(status.value if isinstance(status, JobStatus) else status)
        if active is not None:
            params["active"] = "true" if active else "false"
        data = await self._calls.send("GET", "/simulation-jobs", params=params)
        return self._calls.parsed(SimulationJobsList.from_json, data)

    async def cancel_simulation(self, job_id: str) -> SimulationJobInfo:
        """Cancel a job that has not finished; 400 (InvalidRequestError) when it is too late."""
        data = await self._calls.send("DELETE", f"/simulation-jobs/{_segment(job_id)}")
        if isinstance(data, Mapping) and "job_id" not in data:
            data = {**data, "job_id": job_id, "status": data.get("status", "cancelled")}
        return self._calls.parsed(SimulationJobInfo.from_json, data)

    async def get_recording(self, stream_id: str) -> Recording:
        """Fresh presigned URLs of a stream's artifacts (they expire; ask again later)."""
        data = await self._calls.send("GET", f"/recordings/{_segment(stream_id)}")
        return self._calls.parsed(Recording.from_json, data)

    async def list_stream_recordings(
        self, limit: int | None = None, offset: int | None = None
    ) -> StreamRecordingsList:
        """One page of your stream recordings, newest first."""
        data = await self._calls.send(
            "GET", "/stream-recordings", params=_check_page(limit, offset)
        )
        return self._calls.parsed(StreamRecordingsList.from_json, data)

    # ------------------------------------------------------------------ conveniences

    async def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        on_update: UpdateCallback | None = None,
        *,
        raise_on_failure: bool = False,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
    ) -> SimulationJobDetail:
        """Poll until the job ends (or ``timeout`` seconds pass); returns the last detail.

        ``on_update`` (sync or async) sees every change. With ``raise_on_failure``
        a failed, cancelled or timed-out wait raises JobFailedError,
        JobCancelledError or JobTimeoutError carrying the last detail.
        """
        return await wait_for_job(
            self.get_simulate_status,
            job_id,
            timeout,
            on_update,
            raise_on_failure=raise_on_failure,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )

    async def download(
        self,
        stream_id: str,
        dest_dir: str | os.PathLike[str],
        kinds: Iterable[str] = ARTIFACT_KINDS,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Path]:
        """Stream a recording's artifacts into ``dest_dir``; returns ``{kind: path}``.

        Each file is written to a temporary name and renamed when complete, so a
        reader never sees half a video. An expired URL is replaced by asking for a
        fresh recording. Artifacts the server does not have are skipped, except
        the video. ``progress(kind, bytes_done, bytes_total_or_None)`` may be async.
        """
        wanted = list(kinds)
        for kind in wanted:
            if kind not in ARTIFACT_FILES:
                raise ValueError(f"unknown artifact kind {kind!r}; use some of {ARTIFACT_KINDS}")
        directory = Path(dest_dir)
        directory.mkdir(parents=True, exist_ok=True)
        recording = await self.get_recording(stream_id)
        fetcher = ArtifactFetcher(
            http=self._connections.current(),
            stream_id=stream_id,
            refresh=lambda: self.get_recording(stream_id),
            base_url=await self._endpoint.base(),
            policy=self._policy,
            timeout=self._download_timeout,
            secrets=self._endpoint.secrets(),
            attempt_seconds=self._download_seconds,
            max_bytes=self._artifact_cap(),
            max_read_whole_bytes=self._json_cap(),
        )
        paths: dict[str, Path] = {}
        for kind in wanted:
            path, recording = await fetcher.fetch(
                kind, recording, directory / ARTIFACT_FILES[kind], progress
            )
            if path is not None:
                paths[kind] = path
        return paths


def _segment(value: str) -> str:
    """An id as one URL path segment (no slashes or dot-segments smuggled into the path)."""
    text = str(value).strip()
    if not text or text in (".", ".."):
        raise InvalidRequestError(f"not a valid id: {value!r}")
    return quote(text, safe="")


__all__ = ["Odyssey"]
