"""Downloaded recordings on disk: where they live, what they hold, how to fetch them.

Presigned URLs expire, so the local copy is what players reference. A file is
fetched through ``Odyssey.download``, which asks the API for a fresh recording by
stream id and writes through a temporary file plus an atomic rename: a file that
exists here is always complete. Sizes come from the MP4 itself (``tkhd`` box) so
nothing needs an imaging library; chapters come from the stream's events log.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from odyssey_jupyter.errors import InvalidRequestError
from odyssey_jupyter.files.private import make_private_dir
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES, ARTIFACT_KINDS
from odyssey_jupyter.protocol.types import is_id
from odyssey_jupyter.session.config import get_config

if TYPE_CHECKING:
    from odyssey_jupyter.client import Odyssey
    from odyssey_jupyter.protocol.types import SimulationStream

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Chapter:
    """One prompt of a stream, at its time from the start of the video."""

    time_s: float
    prompt: str
    action: str
    """``start`` or ``interact``."""


@dataclass(frozen=True, slots=True)
class LocalRecording:
    """One stream's downloaded artifacts. Paths are absolute; optional files may be absent.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        script = [
            {"timestamp_ms": 0, "start": {"prompt": "a fox"}},
            {"timestamp_ms": 2000, "end": {}},
        ]
        job = oj.simulate(script)
        job.wait()
        for recording in job.local_recordings:
            print(recording.video_path, recording.duration_seconds, recording.chapters)
    """

    stream_id: str
    script_index: int
    video_path: Path
    thumbnail_path: Path | None = None
    preview_path: Path | None = None
    events_path: Path | None = None
    duration_seconds: float | None = None
    frame_count: int | None = None
    width: int | None = None
    height: int | None = None
    chapters: tuple[Chapter, ...] = ()

    @property
    def path(self) -> Path:
        """Alias of ``video_path``."""
        return self.video_path

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "?x?"
        length = f"{self.duration_seconds:g} s" if self.duration_seconds is not None else "? s"
        return f"<LocalRecording {self.stream_id} {size} {length} {self.video_path}>"


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


# --------------------------------------------------------------------------- chapters


def chapters_from_events(path: Path) -> tuple[Chapter, ...]:
    """Prompt chapters from an ``events.jsonl`` log; unreadable lines are skipped.

    Times are relative to the first ``start`` event, which is frame 0 of the video.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ()
    chapters: list[Chapter] = []
    origin: float | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            kind = str(event.get("type") or "")
            stamp = float(event["timestamp_ms"])
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if kind == "start" and origin is None:
            origin = stamp
        prompt = event.get("prompt")
        if kind not in {"start", "interact"} or not isinstance(prompt, str) or origin is None:
            continue
        chapters.append(Chapter(max(0.0, (stamp - origin) / 1000.0), prompt, kind))
    return tuple(chapters)


# --------------------------------------------------------------------------- MP4 boxes


@dataclass(frozen=True, slots=True)
class Mp4Info:
    """What the container says: the video track's size and length."""

    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    frame_count: int | None = None


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box between ``start`` and ``end``."""
    position = start
    while position + 8 <= end:
        handle.seek(position)
        header = handle.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        payload = position + 8
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                return
            size = struct.unpack(">Q", large)[0]
            payload += 8
        elif size == 0:
            size = end - position
        if size < payload - position or position + size > end:
            return
        yield kind, payload, position + size
        position += size


def _read_at(handle: BinaryIO, offset: int, count: int) -> bytes:
    handle.seek(offset)
    return handle.read(count)


def _tkhd_size(handle: BinaryIO, start: int, end: int) -> tuple[int, int] | None:
    version = _read_at(handle, start, 1)
    if not version:
        return None
    # version 1 has 64-bit times and duration: 8+8+4+4+8 = 32 bytes, version 0: 20
    offset = start + 4 + (32 if version[0] == 1 else 20) + 8 + 2 + 2 + 2 + 2 + 36
    raw = _read_at(handle, offset, 8)
    if offset + 8 > end or len(raw) < 8:
        return None
    width, height = struct.unpack(">II", raw)
    return width >> 16, height >> 16


def _mvhd_duration(handle: BinaryIO, start: int, end: int) -> float | None:
    version = _read_at(handle, start, 1)
    if not version:
        return None
    if version[0] == 1:
        raw = _read_at(handle, start + 4 + 16, 12)
        if len(raw) < 12:
            return None
        scale, duration = struct.unpack(">IQ", raw)
    else:
        raw = _read_at(handle, start + 4 + 8, 8)
        if len(raw) < 8:
            return None
        scale, duration = struct.unpack(">II", raw)
    return duration / scale if scale else None


def _stsz_count(handle: BinaryIO, start: int, end: int) -> int | None:
    raw = _read_at(handle, start + 8, 4)
    return struct.unpack(">I", raw)[0] if len(raw) == 4 and start + 12 <= end else None


def read_mp4_info(path: Path) -> Mp4Info:
    """Width/height (first track with a size), duration and frame count of an MP4.

    Seeks over ``mdat`` instead of reading it, so a large file costs a few reads.
    A file that is not an MP4 gives an empty ``Mp4Info`` rather than an error.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            total = handle.tell()
            return _scan(handle, total)
    except (OSError, struct.error) as exc:
        log.debug("cannot read MP4 boxes of %s: %s", path, exc)
        return Mp4Info()


def _scan(handle: BinaryIO, total: int) -> Mp4Info:
    size: tuple[int, int] | None = None
    duration: float | None = None
    frames: int | None = None
    for kind, start, end in _boxes(handle, 0, total):
        if kind != b"moov":
            continue
        for sub, sub_start, sub_end in _boxes(handle, start, end):
            if sub == b"mvhd":
                duration = _mvhd_duration(handle, sub_start, sub_end)
            elif sub == b"trak" and size is None:
                track_size, track_frames = _scan_track(handle, sub_start, sub_end)
                if track_size is not None and track_size != (0, 0):
                    size, frames = track_size, track_frames
    return Mp4Info(
        width=size[0] if size else None,
        height=size[1] if size else None,
        duration_seconds=duration,
        frame_count=frames,
    )


def _scan_track(
    handle: BinaryIO, start: int, end: int
) -> tuple[tuple[int, int] | None, int | None]:
    size: tuple[int, int] | None = None
    frames: int | None = None
    stack = [(start, end)]
    while stack:
        box_start, box_end = stack.pop()
        for kind, sub_start, sub_end in _boxes(handle, box_start, box_end):
            if kind == b"tkhd":
                size = _tkhd_size(handle, sub_start, sub_end)
            elif kind == b"stsz":
                frames = _stsz_count(handle, sub_start, sub_end)
            elif kind in _CONTAINERS:
                stack.append((sub_start, sub_end))
    return size, frames
