"""A finished job's recordings fetched to disk: each stream's files, a few streams at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from odyssey_jupyter.errors import NotFoundError
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail, SimulationStream
from odyssey_jupyter.session import recordings

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.recording import LocalRecording

STREAMS_AT_ONCE = 4
"""Streams of one job whose files are fetched at the same time."""


async def download_streams(
    client: Odyssey,
    job_id: str,
    detail: SimulationJobDetail,
    kinds: Sequence[str] | None = None,
) -> list[LocalRecording]:
    """Fetch the missing files of every stream of a finished job; its recordings, in order.

    ``kinds`` defaults to the ``download_previews`` setting's; the video is always
    fetched. A failed stream has none; a stream of a job that did not complete may
    never have recorded (a 404 then is no error).
    """
    chosen = tuple(kinds) if kinds is not None else recordings.default_kinds()
    if "video" not in chosen:
        chosen = ("video", *chosen)
    semaphore = asyncio.Semaphore(STREAMS_AT_ONCE)

    async def one(stream: SimulationStream) -> LocalRecording | None:
        if stream.status is not None and str(stream.status).lower() == "failed":
            return None
        async with semaphore:
            try:
                files = await recordings.fetch(client, job_id, stream.stream_id, chosen)
            except NotFoundError:
                if detail.status == JobStatus.COMPLETED:
                    raise
                return None  # a stream of a failed/cancelled job that never recorded
        return await asyncio.to_thread(recordings.load, job_id, stream, files)

    loaded = await asyncio.gather(*(one(s) for s in detail.streams))
    found = [rec for rec in loaded if rec is not None]
    found.sort(key=lambda rec: (rec.script_index, _detail_order(detail, rec.stream_id)))
    return found


def _detail_order(detail: SimulationJobDetail, stream_id: str) -> int:
    for index, stream in enumerate(detail.streams):
        if stream.stream_id == stream_id:
            return index
    return len(detail.streams)
