"""Frozen, slotted dataclasses for every object of the Simulate protocol.

Each ``from_json`` accepts the server's dict, ignores fields it does not know
(a server may add fields) and tolerates missing optional ones. ``JobStatus`` is a
``str`` enum that compares equal to plain strings and keeps unknown values, so a
new server status never crashes a client: it is simply treated as active.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class JobStatus(str, Enum):
    """A job's status. Unknown server values become pseudo-members, treated as active."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    PROCESSING = "processing"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def _missing_(cls, value: object) -> JobStatus | None:
        if not isinstance(value, str):
            return None
        lowered = value.lower()
        for member in cls:
            if member.value == lowered:
                return member
        # Keep the server's word instead of crashing: a pseudo-member, active by definition.
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value.upper()
        pseudo._value_ = value
        return pseudo

    def __str__(self) -> str:
        return str(self.value)

    def __eq__(self, other: object) -> bool:
        """Plain string equality, plus one alias: ``"running"`` names the whole in-progress phase.

        The Simulate API guide polls ``while status in ("pending", "running")``
        while the API reports ``dispatched``/``processing`` for that phase; treating
        those as equal to ``"running"`` keeps the guide's own loops correct.
        """
        if not isinstance(other, str):
            return NotImplemented
        if str.__eq__(self, other):
            return True
        theirs = str.__str__(other) if not isinstance(other, JobStatus) else other.value
        mine = self.value
        return (theirs == "running" and mine in _IN_PROGRESS) or (
            mine == "running" and theirs in _IN_PROGRESS
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        # Hash like the plain string so {"completed": ...}[status] works (the alias cannot).
        return str.__hash__(self)

    @property
    def is_terminal(self) -> bool:
        return self.value in _TERMINAL

    @property
    def is_active(self) -> bool:
        return not self.is_terminal


_TERMINAL = frozenset({"completed", "failed", "cancelled"})
_IN_PROGRESS = frozenset({"dispatched", "processing", "running"})


def is_terminal(status: str | JobStatus) -> bool:
    """True for ``completed``, ``failed`` and ``cancelled``."""
    return str(status).lower() in _TERMINAL


def is_active(status: str | JobStatus) -> bool:
    """True for every status that is not terminal, including unknown ones."""
    return not is_terminal(status)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (``Z`` or offset) as an aware datetime; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class SimulationStream:
    """One stream of a job: its recording's URLs (presigned, they expire) and size."""

    stream_id: str
    """Identifier to pass to ``get_recording`` for fresh URLs."""
    script_index: int = 0
    """Which script of a batch (``scripts=``) produced this stream."""
    video_url: str | None = None
    events_url: str | None = None
    thumbnail_url: str | None = None
    preview_url: str | None = None
    frame_count: int | None = None
    duration_seconds: float | None = None
    status: str | None = None
    """Per-stream status when the server reports it (failed streams of a batch)."""
    error_message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulationStream:
        return cls(
            stream_id=str(data["stream_id"]),
            script_index=int(data.get("script_index") or 0),
            video_url=_opt_str(data.get("video_url")),
            events_url=_opt_str(data.get("events_url")),
            thumbnail_url=_opt_str(data.get("thumbnail_url")),
            preview_url=_opt_str(data.get("preview_url")),
            frame_count=_opt_int(data.get("frame_count")),
            duration_seconds=_opt_float(data.get("duration_seconds")),
            status=_opt_str(data.get("status")),
            error_message=_opt_str(data.get("error_message")),
        )


@dataclass(frozen=True, slots=True)
class SimulationJobDetail:
    """Everything the API says about one job (``GET /simulation-jobs/{id}``)."""

    job_id: str
    status: JobStatus
    priority: str | None = None
    created_at: str | None = None
    dispatched_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    error_message: str | None = None
    assigned_region: str | None = None
    retry_count: int = 0
    estimated_wait_minutes: float | None = None
    streams: tuple[SimulationStream, ...] = ()
    progress: float | None = None
    """0..1 when the server reports it (the local engine does; the hosted API may not)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulationJobDetail:
        progress = data.get("progress")
        return cls(
            job_id=str(data["job_id"]),
            status=JobStatus(str(data.get("status") or "pending")),
            priority=_opt_str(data.get("priority")),
            created_at=_opt_str(data.get("created_at")),
            dispatched_at=_opt_str(data.get("dispatched_at")),
            started_at=_opt_str(data.get("started_at")),
            completed_at=_opt_str(data.get("completed_at")),
            error_message=_opt_str(data.get("error_message")),
            assigned_region=_opt_str(data.get("assigned_region")),
            retry_count=int(data.get("retry_count") or 0),
            estimated_wait_minutes=_opt_float(data.get("estimated_wait_minutes")),
            streams=tuple(SimulationStream.from_json(s) for s in data.get("streams") or ()),
            progress=_opt_float(progress),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def is_active(self) -> bool:
        return self.status.is_active


@dataclass(frozen=True, slots=True)
class SimulationJobInfo:
    """A row of the job list: no prompts, no streams."""

    job_id: str
    status: JobStatus
    priority: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    error_message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulationJobInfo:
        return cls(
            job_id=str(data["job_id"]),
            status=JobStatus(str(data.get("status") or "pending")),
            priority=_opt_str(data.get("priority")),
            created_at=_opt_str(data.get("created_at")),
            completed_at=_opt_str(data.get("completed_at")),
            error_message=_opt_str(data.get("error_message")),
        )


@dataclass(frozen=True, slots=True)
class SimulationJobsList:
    """One page of ``GET /simulation-jobs``, newest first."""

    jobs: tuple[SimulationJobInfo, ...] = ()
    total: int = 0
    limit: int = 20
    offset: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulationJobsList:
        jobs = tuple(SimulationJobInfo.from_json(j) for j in data.get("jobs") or ())
        return cls(
            jobs=jobs,
            total=int(data.get("total", len(jobs))),
            limit=int(data.get("limit", 20)),
            offset=int(data.get("offset", 0)),
        )


@dataclass(frozen=True, slots=True)
class Recording:
    """Fresh, presigned URLs of one stream's artifacts (``GET /recordings/{id}``)."""

    stream_id: str
    video_url: str | None = None
    events_url: str | None = None
    thumbnail_url: str | None = None
    preview_url: str | None = None
    frame_count: int | None = None
    duration_seconds: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        return cls(
            stream_id=str(data["stream_id"]),
            video_url=_opt_str(data.get("video_url")),
            events_url=_opt_str(data.get("events_url")),
            thumbnail_url=_opt_str(data.get("thumbnail_url")),
            preview_url=_opt_str(data.get("preview_url")),
            frame_count=_opt_int(data.get("frame_count")),
            duration_seconds=_opt_float(data.get("duration_seconds")),
        )

    def url_for(self, kind: str) -> str | None:
        """The URL of one artifact kind: ``video``, ``thumbnail``, ``preview`` or ``events``."""
        if kind not in ARTIFACT_KINDS:
            raise ValueError(f"unknown artifact kind {kind!r}; use one of {ARTIFACT_KINDS}")
        value: str | None = getattr(self, f"{kind}_url")
        return value


ARTIFACT_KINDS = ("video", "thumbnail", "preview", "events")


@dataclass(frozen=True, slots=True)
class StreamRecordingInfo:
    """A row of ``GET /stream-recordings``."""

    stream_id: str
    width: int | None = None
    height: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StreamRecordingInfo:
        return cls(
            stream_id=str(data["stream_id"]),
            width=_opt_int(data.get("width")),
            height=_opt_int(data.get("height")),
            started_at=_opt_str(data.get("started_at")),
            ended_at=_opt_str(data.get("ended_at")),
            duration_seconds=_opt_float(data.get("duration_seconds")),
        )


@dataclass(frozen=True, slots=True)
class StreamRecordingsList:
    """One page of ``GET /stream-recordings``, newest first."""

    recordings: tuple[StreamRecordingInfo, ...] = ()
    total: int = 0
    limit: int = 20
    offset: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StreamRecordingsList:
        rows = tuple(StreamRecordingInfo.from_json(r) for r in data.get("recordings") or ())
        return cls(
            recordings=rows,
            total=int(data.get("total", len(rows))),
            limit=int(data.get("limit", 20)),
            offset=int(data.get("offset", 0)),
        )


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The answer of ``POST /auth/token``; never printed (the repr hides the token)."""

    access_token: str = field(repr=False)
    expires_in: float = 3600.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenGrant:
        expires = data.get("expires_in")
        return cls(
            access_token=str(data["access_token"]),
            expires_in=float(expires) if expires is not None else 3600.0,
        )
