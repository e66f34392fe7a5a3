"""Streaming a recording's artifacts to disk, riding out expiry and flaky hosts.

Presigned artifact URLs expire and artifact hosts fail like any other: each
artifact is streamed in chunks (constant memory) to a hidden temporary file and
renamed into place only when complete, so a reader never sees half a video.
An answer meaning "this URL is no longer good" (400/401/403/404/410) triggers a
fresh ``get_recording``; transport errors, 5xx and short bodies are retried with
backoff. Artifact hosts (presigned URLs, CDNs) may redirect, anywhere: no
request here carries ``Authorization`` or any other credential, so following
them gives nothing away. Each attempt ends by ``attempt_seconds`` however
slowly the host trickles, and a body past its cap or past its declared
``Content-Length`` stops at once with no file left behind. Videos and previews
are capped by ``max_artifact_mb``; the events log and the thumbnail, which are
read whole into the kernel, by ``max_json_mb``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from odyssey_jupyter.client.bounded import (
    MAX_ARTIFACT_REDIRECTS,
    capped_chunks,
    declared_length,
    read_capped,
    send_following,
    settled,
    within,
)
from odyssey_jupyter.client.http_errors import error_from_response
from odyssey_jupyter.client.retry import RETRY_STATUSES, Deadline, RetryPolicy
from odyssey_jupyter.errors import NotFoundError, OdysseyConnectionError
from odyssey_jupyter.files.private import create_private_file
from odyssey_jupyter.protocol.types import Recording
from odyssey_jupyter.text.redaction import scrub

logger = logging.getLogger("odyssey_jupyter.client.downloads")

CHUNK = 64 * 1024
READ_WHOLE = frozenset({"events", "thumbnail"})
"""Kinds the kernel reads whole (chapters, the job browser's thumbnails): the JSON cap."""
REFRESH_STATUSES = frozenset({400, 401, 403, 404, 410})
MAX_REFRESHES = 3
"""Fresh URLs asked for per artifact before giving up (one may expire again in transit)."""

ProgressCallback = Callable[[str, int, "int | None"], Any]


async def maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


@dataclass
class ArtifactFetcher:
    """Fetches the artifacts of one stream; ``refresh`` asks the API for fresh URLs."""

    http: httpx.AsyncClient
    stream_id: str
    refresh: Callable[[], Awaitable[Recording]]
    base_url: str
    policy: RetryPolicy
    timeout: httpx.Timeout
    secrets: list[str | None]
    attempt_seconds: float
    """The longest one attempt at one artifact may take, its whole body included."""
    max_bytes: int
    """The size cap of videos and previews (``max_artifact_mb``)."""
    max_read_whole_bytes: int
    """The size cap of the kinds read whole, and of error bodies (``max_json_mb``)."""

    async def fetch(
        self, kind: str, recording: Recording, dest: Path, progress: ProgressCallback | None
    ) -> tuple[Path | None, Recording]:
        """Download one artifact to ``dest``; ``None`` when the server has none (not video)."""
        # the first attempt always gets its whole ``attempt_seconds``, retries share the rest
        deadline = Deadline(max(self.policy.deadline, self.attempt_seconds))
        attempt = refreshes = 0
        while True:
            url = recording.url_for(kind)
            if url is None:
                if kind == "video":
                    raise NotFoundError(f"stream {self.stream_id} has no video (yet)")
                return None, recording
            if url.startswith("/"):
                url = self.base_url + url
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
            # No headers beyond the client's defaults: an artifact host gets no credential.
            request = self.http.build_request("GET", url, timeout=self.timeout)
            seconds = min(self.attempt_seconds, max(0.0, deadline.remaining()))
            try:
                problem = await within(
                    self._attempt(
                        request, kind, tmp, progress, may_refresh=refreshes < MAX_REFRESHES
                    ),
                    seconds,
                    request,
                )
                if problem is None:
                    os.replace(tmp, dest)
                    return dest, recording
            except httpx.RequestError as exc:
                problem = scrub(f"{type(exc).__name__}: {exc}", self.secrets)
            finally:
                if tmp.exists():
                    tmp.unlink()
            if problem is _EXPIRED:
                refreshes += 1
                recording = await self.refresh()
                continue
            attempt += 1
            wait = self.policy.delay(attempt, None)
            if attempt > self.policy.max_retries or not deadline.allows(wait):
                raise OdysseyConnectionError(
                    f"could not download the {kind} of stream {self.stream_id}: {problem}"
                )
            logger.debug("retrying the %s download in %.2fs: %s", kind, wait, problem)
            await asyncio.sleep(wait)

    async def _attempt(
        self,
        request: httpx.Request,
        kind: str,
        tmp: Path,
        progress: ProgressCallback | None,
        *,
        may_refresh: bool,
    ) -> str | None:
        """One GET of the artifact into ``tmp``: ``None`` when complete, else what went wrong
        (``_EXPIRED`` when the URL should be replaced); non-transient failures raise."""
        response = await send_following(
            self.http,
            request,
            redirects="anywhere",
            method="GET",
            path=f"the {kind} of stream {self.stream_id}",
            max_hops=MAX_ARTIFACT_REDIRECTS,
        )
        try:
            status = response.status_code
            if status in REFRESH_STATUSES and may_refresh:
                return _EXPIRED
            if not response.is_success:
                if status not in RETRY_STATUSES:
                    body = await read_capped(
                        response,
                        self.max_read_whole_bytes,
                        what=f"the artifact host's {status} answer",
                        setting="max_json_mb",
                    )
                    raise error_from_response(
                        settled(response, body),
                        method="GET",
                        path=f"{kind} of stream {self.stream_id}",
                        secrets=self.secrets,
                    )
                return f"the artifact host answered {status}"
            return await self._save(response, kind, tmp, progress)
        finally:
            await response.aclose()

    async def _save(
        self, response: httpx.Response, kind: str, tmp: Path, progress: ProgressCallback | None
    ) -> str | None:
        """Stream the body to ``tmp``; ``None`` when complete, else what went wrong."""
        total = declared_length(response)
        done = 0
        what = f"the {kind} of stream {self.stream_id}"
        with os.fdopen(create_private_file(tmp, exclusive=True), "wb") as out:
            async for chunk in capped_chunks(response, *self._cap(kind), what=what, chunk=CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    await maybe_await(progress(kind, done, total))
        if total is not None and response.num_bytes_downloaded != total:
            return f"the {kind} stopped after {response.num_bytes_downloaded} of {total} bytes"
        return None

    def _cap(self, kind: str) -> tuple[int, str]:
        """(bytes, setting) capping one kind of artifact."""
        if kind in READ_WHOLE:
            return self.max_read_whole_bytes, "max_json_mb"
        return self.max_bytes, "max_artifact_mb"


_EXPIRED = "the URL has expired"
