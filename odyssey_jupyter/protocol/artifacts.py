"""The artifacts of a finished stream: each kind's file name and media type, in one table.

The engine renders and serves these files and the client downloads them under
the same names, so both read them from here. It imports nothing of the package:
the lowest layer, open to the client and the engine alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Artifact:
    """One kind of artifact: its API name (``{kind}_url``), file name and media type."""

    kind: str
    filename: str
    media_type: str


ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("video", "video.mp4", "video/mp4"),
    Artifact("thumbnail", "thumbnail.jpg", "image/jpeg"),
    Artifact("preview", "preview.mp4", "video/mp4"),
    Artifact("events", "events.jsonl", "application/x-ndjson"),
)

ARTIFACT_KINDS: tuple[str, ...] = tuple(artifact.kind for artifact in ARTIFACTS)
"""``video``, ``thumbnail``, ``preview``, ``events``."""

ARTIFACT_FILES: dict[str, str] = {artifact.kind: artifact.filename for artifact in ARTIFACTS}
"""Kind -> the file name it is rendered, served and downloaded as."""

MEDIA_TYPES: dict[str, str] = {artifact.filename: artifact.media_type for artifact in ARTIFACTS}
"""File name -> the media type it is served with."""
