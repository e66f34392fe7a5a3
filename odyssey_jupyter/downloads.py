"""Streaming a recording's artifacts to disk, riding out expiry and flaky hosts.

Presigned artifact URLs expire and artifact hosts fail like any other: each
artifact is streamed in chunks (constant memory) to a hidden temporary file and
renamed into place only when complete, so a reader never sees half a video.
An answer meaning "this URL is no longer good" (400/401/403/404/410) triggers a
fresh ``get_recording``; transport errors, 5xx and short bodies are retried with
backoff. No bearer token is ever sent to the artifact host.
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

from odyssey_jupyter.errors import NotFoundError, OdysseyConnectionError
from odyssey_jupyter.http_errors import error_from_response, scrub
from odyssey_jupyter.retry import RETRY_STATUSES, Deadline, RetryPolicy
from odyssey_jupyter.types import Recording

logger = logging.getLogger("odyssey_jupyter.downloads")

ARTIFACT_FILES: dict[str, str] = {
    "video": "video.mp4",
    "thumbnail": "thumbnail.jpg",
    "preview": "preview.mp4",
    "events": "events.jsonl",
}
CHUNK = 64 * 1024
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

    async def fetch(
        self, kind: str, recording: Recording, dest: Path, progress: ProgressCallback | None
    ) -> tuple[Path | None, Recording]:
        """Download one artifact to ``dest``; ``None`` when the server has none (not video)."""
        deadline = Deadline(self.policy.deadline)
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
            try:
                async with self.http.stream("GET", url, timeout=self.timeout) as response:
                    status = response.status_code
                    if status in REFRESH_STATUSES and refreshes < MAX_REFRESHES:
                        refreshes += 1
                        await response.aread()
                        recording = await self.refresh()
                        continue
                    if not response.is_success:
                        await response.aread()
                        if status not in RETRY_STATUSES:
                            raise error_from_response(
                                response,
                                method="GET",
                                path=f"{kind} of stream {self.stream_id}",
                                secrets=self.secrets,
                            )
                        problem = f"the artifact host answered {status}"
                    else:
                        complete, problem = await self._save(response, kind, tmp, progress)
                        if complete:
                            os.replace(tmp, dest)
                            return dest, recording
            except httpx.RequestError as exc:
                problem = scrub(f"{type(exc).__name__}: {exc}", self.secrets)
            finally:
                if tmp.exists():
                    tmp.unlink()
            attempt += 1
            wait = self.policy.delay(attempt, None)
            if attempt > self.policy.max_retries or not deadline.allows(wait):
                raise OdysseyConnectionError(
                    f"could not download the {kind} of stream {self.stream_id}: {problem}"
                )
            logger.debug("retrying the %s download in %.2fs: %s", kind, wait, problem)
            await asyncio.sleep(wait)

    @staticmethod
    async def _save(
        response: httpx.Response, kind: str, tmp: Path, progress: ProgressCallback | None
    ) -> tuple[bool, str]:
        """Stream the body to ``tmp``; (complete?, what went wrong)."""
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        done = 0
        with open(tmp, "wb") as out:
            async for chunk in response.aiter_bytes(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    await maybe_await(progress(kind, done, total))
        if total is not None and done != total:
            return False, f"the {kind} stopped after {done} of {total} bytes"
        return True, ""
