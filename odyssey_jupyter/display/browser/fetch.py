"""Loop-side helpers of the job browser: prompts, thumbnails and playable recordings.

All of them run on the ``odyssey-loop`` thread and reach the network only through
the client and ``recordings.fetch`` (fresh URLs by stream id, missing files only).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.display.browser.cache import details, shrink_thumbnail, thumbs
from odyssey_jupyter.display.browser.rows import Known
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES, ARTIFACT_KINDS
from odyssey_jupyter.protocol.types import SimulationJobDetail, SimulationStream
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.session.recording import LocalRecording, chapters_from_events
from odyssey_jupyter.text.markup import escape

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey

log = logging.getLogger(__name__)


def user_namespace() -> MutableMapping[str, Any] | None:
    """The notebook's namespace when running under IPython (where Load puts handles)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    namespace = getattr(shell, "user_ns", None) if shell is not None else None
    return namespace if isinstance(namespace, MutableMapping) else None


def history_for(job_ids: list[str]) -> dict[str, Known]:
    """What the local submission history knows of these jobs: prompt, streams, length.

    Jobs submitted elsewhere are missing (their rows show dashes).
    """
    try:
        from odyssey_jupyter.session import history

        found = history.lookup(job_ids)
    except Exception:  # the history is a convenience: a broken one shows dashes
        log.debug("could not read the submission history", exc_info=True)
        return {}
    return {job_id: _known(entry) for job_id, entry in found.items()}


def _known(entry: dict[str, Any]) -> Known:
    prompt = entry.get("prompt") or entry.get("first_prompt")
    streams, length = entry.get("streams"), entry.get("length")
    return Known(
        prompt=prompt if isinstance(prompt, str) and prompt else None,
        stream_count=streams if isinstance(streams, int) and streams > 0 else None,
        expected_seconds=_seconds(length),
    )


def _seconds(value: Any) -> float | None:
    """A finite number of seconds above 0, else ``None`` (the history file may be edited)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


async def cancel_line(client: Odyssey, job_id: str) -> tuple[str, OdysseyError | None]:
    """Cancel ``job_id``; the message line (HTML) to show, and the error if it failed.

    What a refusal means is decided once, by ``cancel.cancel_job``: a job past cancelling
    gets a line saying so, not an error.
    """
    from odyssey_jupyter.session.cancel import cancel_job

    try:
        outcome, _ = await cancel_job(client, job_id)
    except OdysseyError as exc:
        return f"Could not cancel {escape(job_id)}: {escape(str(exc))}", exc
    line = escape(outcome.message)
    return line.replace(escape(job_id), f"<code>{escape(job_id)}</code>", 1), None


async def fetch_thumbnail(client: Odyssey, detail: SimulationJobDetail) -> tuple[bytes, str] | None:
    """The first stream's thumbnail, downloaded once into the recordings directory."""
    from odyssey_jupyter.session import recordings

    stream = min(detail.streams, key=lambda s: s.script_index)
    if not stream.thumbnail_url and detail.is_active:
        return None
    try:
        files = await recordings.fetch(client, detail.job_id, stream.stream_id, ("thumbnail",))
    except OdysseyError as exc:
        log.debug("no thumbnail for %s: %s", detail.job_id, exc)
        return None
    path = files.get("thumbnail")
    if path is None:
        return None
    data = await asyncio.to_thread(path.read_bytes)
    return await asyncio.to_thread(shrink_thumbnail, data)


async def job_detail(client: Odyssey, job_id: str, *, fresh: bool = False) -> SimulationJobDetail:
    """A job's detail: a finished job's from the process-wide cache, once fetched."""
    detail = None if fresh else details.get(job_id)
    if detail is None:
        detail = await client.get_simulate_status(job_id)
        if detail.is_terminal:
            details.put(job_id, detail)
    return detail


async def table_thumbnail(client: Odyssey, detail: SimulationJobDetail) -> tuple[bytes, str] | None:
    """A finished job's table thumbnail, fetched once; an active job has none yet."""
    if detail.job_id in thumbs or not detail.is_terminal:
        return thumbs.get(detail.job_id)
    thumb = await fetch_thumbnail(client, detail) if detail.streams else None
    thumbs.put(detail.job_id, thumb)
    return thumb


async def local_recordings(
    client: Odyssey, detail: SimulationJobDetail, full: bool
) -> list[LocalRecording]:
    """Each stream's files on disk, downloading the missing ones (a preview first if asked)."""
    from odyssey_jupyter.session import recordings

    kinds = ARTIFACT_KINDS if full else ("preview", "thumbnail", "events")
    recs: list[LocalRecording] = []
    for stream in sorted(detail.streams, key=lambda s: s.script_index):
        files = await recordings.fetch(client, detail.job_id, stream.stream_id, kinds)
        if "video" not in files and "preview" not in files:
            files = await recordings.fetch(client, detail.job_id, stream.stream_id, ("video",))
        rec = await asyncio.to_thread(recordings.load, detail.job_id, stream, files)
        if rec is None and "preview" in files:
            rec = _preview_only(detail.job_id, stream, files)
        if rec is not None:
            recs.append(rec)
    return recs


def _preview_only(job_id: str, stream: SimulationStream, files: dict[str, Path]) -> LocalRecording:
    """A recording whose full video is not downloaded yet: it plays the preview."""
    from odyssey_jupyter.session import recordings

    preview = files["preview"]
    info = read_mp4_info(preview)
    events = files.get("events")
    return LocalRecording(
        stream_id=stream.stream_id,
        script_index=stream.script_index,
        video_path=recordings.recording_dir(job_id, stream.stream_id) / ARTIFACT_FILES["video"],
        thumbnail_path=files.get("thumbnail"),
        preview_path=preview,
        events_path=events,
        duration_seconds=stream.duration_seconds,
        frame_count=stream.frame_count,
        width=info.width,
        height=info.height,
        chapters=chapters_from_events(events) if events is not None else (),
    )
