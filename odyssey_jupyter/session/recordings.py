"""Downloaded recordings on disk: where they live and how to fetch them.

Presigned URLs expire, so the local copy is what players reference. A file is
fetched through ``Odyssey.download``, which asks the API for a fresh recording by
stream id and writes through a temporary file plus an atomic rename: a file that
exists here is always complete. What a recording holds is :mod:`.recording`; its
size and length come from the MP4 itself (:mod:`.mp4_info`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from odyssey_jupyter.errors import InvalidRequestError
from odyssey_jupyter.files.private import make_private_dir
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES, ARTIFACT_KINDS
from odyssey_jupyter.protocol.types import is_id
from odyssey_jupyter.session.config import get_config
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.session.recording import LocalRecording, chapters_from_events

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.protocol.types import SimulationStream


def default_kinds() -> tuple[str, ...]:
    """What to download by default: everything, or video + events when previews are off."""
    return ARTIFACT_KINDS if get_config().download_previews else ("video", "events")


def recording_dir(job_id: str, stream_id: str) -> Path:
    """``<recordings dir>/<job_id>/<stream_id>/`` (not created here)."""
    for name, value in (("job_id", job_id), ("stream_id", stream_id)):
        if not is_id(value):
            raise InvalidRequestError(f"{name} {value!r} cannot be used as a directory name")
    return get_config().recordings_path() / job_id / stream_id


def recordings_base() -> str:
    """The recordings folder as a normalised absolute path (for :func:`recorded_file`)."""
    return os.path.normpath(get_config().recordings_path())


def recorded_file(value: object, base: str | None = None) -> Path | None:
    """``value`` as a path inside the recordings folder with no link below it, else ``None``.

    A ledger names files by path; a copied or edited one may name any file on the
    machine (``/etc/passwd``, ``../``, or a link planted in the folder pointing out).
    Only what lies under the recordings folder (``base``, from :func:`recordings_base`;
    the folder itself may be a link the user made) is played or embedded.
    """
    if not isinstance(value, str | Path) or not str(value):
        return None
    base = base if base is not None else recordings_base()
    try:
        text = os.path.normpath(os.path.abspath(value))
    except ValueError:
        return None
    if not text.startswith(base + os.sep):
        return None
    current = base
    for part in text[len(base) + 1 :].split(os.sep):
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return None
        except OSError:  # missing (or unreadable): there is no link further down to follow
            break
    return Path(text)


def missing_kinds(directory: Path, kinds: Iterable[str]) -> list[str]:
    """The kinds whose file is not in ``directory`` yet."""
    return [kind for kind in kinds if not (directory / ARTIFACT_FILES[kind]).is_file()]


async def fetch(
    client: Odyssey, job_id: str, stream_id: str, kinds: Sequence[str] = ARTIFACT_KINDS
) -> dict[str, Path]:
    """Download the kinds of one stream that are not on disk yet; returns what is there now.

    Only missing files are requested, and the client asks for fresh URLs by
    stream id, so this also repairs a cache whose files were deleted.
    """
    for kind in kinds:
        if kind not in ARTIFACT_FILES:
            raise ValueError(f"unknown artifact kind {kind!r}; use one of {ARTIFACT_KINDS}")
    directory = recording_dir(job_id, stream_id)
    missing = missing_kinds(directory, kinds)
    if missing:
        make_private_dir(directory)
        await client.download(stream_id, directory, kinds=tuple(missing))
    return {
        kind: directory / ARTIFACT_FILES[kind]
        for kind in ARTIFACT_KINDS
        if (directory / ARTIFACT_FILES[kind]).is_file()
    }


def load(
    job_id: str, stream: SimulationStream, files: dict[str, Path] | None = None
) -> LocalRecording | None:
    """The ``LocalRecording`` of a stream whose video is on disk, else ``None``."""
    directory = recording_dir(job_id, stream.stream_id)
    if files is None:
        files = {
            kind: directory / name
            for kind, name in ARTIFACT_FILES.items()
            if (directory / name).is_file()
        }
    video = files.get("video")
    if video is None or not video.is_file():
        return None
    info = read_mp4_info(video)
    events = files.get("events")
    return LocalRecording(
        stream_id=stream.stream_id,
        script_index=stream.script_index,
        video_path=video,
        thumbnail_path=files.get("thumbnail"),
        preview_path=files.get("preview"),
        events_path=events,
        duration_seconds=stream.duration_seconds
        if stream.duration_seconds is not None
        else info.duration_seconds,
        frame_count=stream.frame_count if stream.frame_count is not None else info.frame_count,
        width=info.width,
        height=info.height,
        chapters=chapters_from_events(events) if events is not None else (),
    )
