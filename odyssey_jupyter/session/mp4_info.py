"""The size and length of an MP4, read from its boxes (``tkhd``, ``mvhd``, ``stsz``).

Nothing here needs an imaging or video library: the container says it all.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


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
