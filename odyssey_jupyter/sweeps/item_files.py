"""An item's file entries: made from its job, trusted from a ledger, read back as recordings.

An entry is a dict per stream: ``stream_id``, the local paths of its artifacts
(``video``, ``thumbnail``, ``preview``, ``events``), its duration, and, once the
sweep's output holds them, ``stored`` (key, size and URI per artifact).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.session.recording import LocalRecording
from odyssey_jupyter.session.recordings import recorded_file

if TYPE_CHECKING:
    from odyssey_jupyter.session.jobs import Job

FILE_KINDS = ("video", "thumbnail", "preview", "events")


def trusted_files(files: Any, base: str) -> list[dict[str, Any]]:
    """A ledger's file entries, each path kept only if it lies inside the recordings folder,
    and each stored object only if its key stays inside the output (see ``_stored_key``).

    Checked once when the ledger is read (``base`` from ``recordings_base``), so a
    gallery of 10,000 reopened items checks no path while it renders, and an export
    reads no file a copied or edited ledger names outside them.
    """
    out: list[dict[str, Any]] = []
    for entry in files if isinstance(files, list) else ():
        if not isinstance(entry, dict):
            continue
        kept = {key: value for key, value in entry.items() if key not in (*FILE_KINDS, "stored")}
        for kind in FILE_KINDS:
            path = recorded_file(entry.get(kind), base)
            if path is not None:
                kept[kind] = str(path)
        stored = entry.get("stored")
        if isinstance(stored, dict):
            kept["stored"] = {
                kind: found
                for kind, found in stored.items()
                if isinstance(found, dict) and _stored_key(found.get("key"))
            }
        out.append(kept)
    return out


def _stored_key(key: Any) -> bool:
    """A stored object's key as the output writes them: relative, no ``..``, no empty part."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def files_of(job: Job, script_index: int) -> list[dict[str, Any]]:
    """What the ledger keeps about one item's streams: ids and local paths."""
    out: list[dict[str, Any]] = []
    recordings = {r.stream_id: r for r in job.local_recordings or ()}
    streams = job.detail.streams if job.detail is not None else ()
    for stream in streams:
        if stream.script_index != script_index:
            continue
        entry: dict[str, Any] = {"stream_id": stream.stream_id}
        rec = recordings.get(stream.stream_id)
        if rec is not None:
            entry["video"] = str(rec.video_path)
            for kind in FILE_KINDS[1:]:
                path = getattr(rec, f"{kind}_path")
                if path is not None:
                    entry[kind] = str(path)
            if rec.duration_seconds is not None:
                entry["duration_seconds"] = rec.duration_seconds
        out.append(entry)
    return out


def recordings_of(files: list[dict[str, Any]], script_index: int) -> list[LocalRecording]:
    """The recordings the file entries name (those with a video)."""
    out = []
    for entry in files:
        video = entry.get("video")
        if not video:
            continue
        out.append(
            LocalRecording(
                stream_id=str(entry.get("stream_id", "")),
                script_index=script_index,
                video_path=Path(video),
                thumbnail_path=_opt_path(entry.get("thumbnail")),
                preview_path=_opt_path(entry.get("preview")),
                events_path=_opt_path(entry.get("events")),
                duration_seconds=_finite(entry.get("duration_seconds")),
            )
        )
    return out


def _opt_path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


def _finite(value: Any) -> float | None:
    """A number from the ledger, if it is one a display can use."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
