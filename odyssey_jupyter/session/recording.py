"""A downloaded recording as the displays read it: its files, size, length and chapters.

The model stands apart from the downloads (:mod:`.recordings`), which need the
client: a player or a finished job's output reads a recording without it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


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


def chapters_from_events(path: Path) -> tuple[Chapter, ...]:
    """Prompt chapters from an ``events.jsonl`` log; unreadable lines are skipped (a time
    that is not a finite number too).

    Times are relative to the first ``start`` event, which is frame 0 of the video.
    The log is a downloaded file: a byte that is not UTF-8 spoils its own line only.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return chapters_from_text(text)


def chapters_from_text(text: str) -> tuple[Chapter, ...]:
    """Prompt chapters from the text of an ``events.jsonl`` log (see ``chapters_from_events``)."""
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
        if not math.isfinite(stamp):  # NaN or 1e400: no time a video can seek to
            continue
        if kind == "start" and origin is None:
            origin = stamp
        prompt = event.get("prompt")
        if kind not in {"start", "interact"} or not isinstance(prompt, str) or origin is None:
            continue
        chapters.append(Chapter(max(0.0, (stamp - origin) / 1000.0), prompt, kind))
    return tuple(chapters)
