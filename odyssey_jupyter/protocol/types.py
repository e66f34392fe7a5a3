"""Frozen, slotted dataclasses for every object of the Simulate protocol.

Each ``from_json`` accepts the server's dict, ignores fields it does not know
(a server may add fields) and tolerates missing optional ones. A value of the
wrong type or out of range (a NaN or endless duration, a count past any sane
size, an id such as ``..`` or one holding ``/`` that would become a path) raises
:class:`~odyssey_jupyter.errors.InvalidResponseError` naming the field, so no
display, cache path or retry loop ever sees it. ``JobStatus`` is a
``str`` enum that compares equal to plain strings and keeps unknown values, so a
new server status never crashes a client: it is simply treated as active.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from odyssey_jupyter.errors import InvalidResponseError
from odyssey_jupyter.protocol.artifacts import ARTIFACT_KINDS

MAX_ID_BYTES = 255
"""Longest job or stream id accepted, in UTF-8 bytes: ids become directory names, and a
file name may have at most 255 bytes (``NAME_MAX``) on Linux, macOS and Windows."""
MAX_COUNT = 1_000_000_000
"""Largest count accepted from a server (frames, indices, totals, retries)."""
MAX_SECONDS = 1e8
"""Largest duration or wait accepted from a server, in seconds or minutes (about three years)."""
MAX_STATUS_LENGTH = 64


class JobStatus(str, Enum):
    """A job's status. Unknown server values become pseudo-members, treated as active.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import JobStatus

        JobStatus("completed") is JobStatus.COMPLETED   # True
        JobStatus.COMPLETED.is_terminal                 # True
    """

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


TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
"""A job in one of these is over: nothing about it changes again."""
RUNNING_STATUSES = frozenset({"dispatched", "processing"})
"""What the API reports for the phase the guide calls ``running``."""
ACTIVE_STATUSES = frozenset({"pending"}) | RUNNING_STATUSES
"""What a server reports for a job that is not over yet."""
_TERMINAL = TERMINAL_STATUSES
_IN_PROGRESS = RUNNING_STATUSES | {"running"}


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


def _bad(name: str, value: Any, expected: str) -> InvalidResponseError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidResponseError(
        f"the server sent {name}={shown}, which is not {expected}", field=name
    )


def _mapping(data: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _bad(name or "the answer", data, "a JSON object")
    return data


def is_id(value: Any) -> bool:
    """Whether ``value`` is safe as one URL path segment and as one directory name."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and value not in (".", "..")
        and not any(c in value for c in "/\\")
        and value.isprintable()
        and len(value.encode("utf-8")) <= MAX_ID_BYTES
    )


def _id(value: Any, name: str) -> str:
    """An id that is safe as one URL path segment and as one directory name."""
    if not is_id(value):
        raise _bad(
            name,
            value,
            f"an id (a printable string of 1 to {MAX_ID_BYTES} bytes, no '/' or '\\', "
            "not '.' or '..')",
        )
    return str(value)


def _opt_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _bad(name, value, "a string")


def _opt_url(value: Any, name: str) -> str | None:
    """An artifact URL: http(s), or a path on the API's own host; anything else refused."""
    text = _opt_str(value, name)
    if not text:
        return None
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")) or (
        text.startswith("/") and not text.startswith("//")
    ):
        return text
    raise _bad(name, value, "an http(s) URL or a path")


def _number(value: Any, name: str, top: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(name, value, "a number")
    try:
        number = float(value)
    except OverflowError:
        raise _bad(name, value, f"a number from 0 to {top:g}") from None
    if not 0 <= number <= top:  # NaN fails both comparisons
        raise _bad(name, value, f"a number from 0 to {top:g}")
    return number


def _count(value: Any, name: str, default: int = 0) -> int:
    if value is None:
        return default
    number = _number(value, name, MAX_COUNT)
    if number != int(number):
        raise _bad(name, value, "a whole number")
    return int(number)


def _opt_count(value: Any, name: str) -> int | None:
    return None if value is None else _count(value, name)


def _opt_seconds(value: Any, name: str) -> float | None:
    return None if value is None else _number(value, name, MAX_SECONDS)


def _status(value: Any, name: str) -> JobStatus:
    if value is None or value == "":
        return JobStatus.PENDING
    if not isinstance(value, str) or len(value) > MAX_STATUS_LENGTH or not value.isprintable():
        raise _bad(name, value, f"a status (a printable string of at most {MAX_STATUS_LENGTH})")
    return JobStatus(value)


def _rows(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(name, value, "a list")
    return value


@dataclass(frozen=True, slots=True)
class SimulationStream:
    """One stream of a job: its recording's URLs (presigned, they expire) and size.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            detail = await client.get_simulate_status(job_id)
            for stream in detail.streams:
                print(stream.script_index, stream.video_url)
    """

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
    def from_json(cls, data: Mapping[str, Any], where: str = "") -> SimulationStream:
        data = _mapping(data, where)
        return cls(
            stream_id=_id(data.get("stream_id"), f"{where}stream_id"),
            script_index=_count(data.get("script_index"), f"{where}script_index"),
            video_url=_opt_url(data.get("video_url"), f"{where}video_url"),
            events_url=_opt_url(data.get("events_url"), f"{where}events_url"),
            thumbnail_url=_opt_url(data.get("thumbnail_url"), f"{where}thumbnail_url"),
            preview_url=_opt_url(data.get("preview_url"), f"{where}preview_url"),
            frame_count=_opt_count(data.get("frame_count"), f"{where}frame_count"),
            duration_seconds=_opt_seconds(data.get("duration_seconds"), f"{where}duration_seconds"),
            status=_opt_str(data.get("status"), f"{where}status"),
            error_message=_opt_str(data.get("error_message"), f"{where}error_message"),
        )


@dataclass(frozen=True, slots=True)
class SimulationJobDetail:
    """Everything the API says about one job (``GET /simulation-jobs/{id}``).

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            detail = await client.get_simulate_status(job_id)
            print(detail.status, [stream.stream_id for stream in detail.streams])
    """

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
        data = _mapping(data, "")
        progress = _opt_seconds(data.get("progress"), "progress")
        return cls(
            job_id=_id(data.get("job_id"), "job_id"),
            status=_status(data.get("status"), "status"),
            priority=_opt_str(data.get("priority"), "priority"),
            created_at=_opt_str(data.get("created_at"), "created_at"),
            dispatched_at=_opt_str(data.get("dispatched_at"), "dispatched_at"),
            started_at=_opt_str(data.get("started_at"), "started_at"),
            completed_at=_opt_str(data.get("completed_at"), "completed_at"),
            error_message=_opt_str(data.get("error_message"), "error_message"),
            assigned_region=_opt_str(data.get("assigned_region"), "assigned_region"),
            retry_count=_count(data.get("retry_count"), "retry_count"),
            estimated_wait_minutes=_opt_seconds(
                data.get("estimated_wait_minutes"), "estimated_wait_minutes"
            ),
            streams=tuple(
                SimulationStream.from_json(s, f"streams[{n}].")
                for n, s in enumerate(_rows(data.get("streams"), "streams"))
            ),
            progress=None if progress is None else min(progress, 1.0),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def is_active(self) -> bool:
        return self.status.is_active


@dataclass(frozen=True, slots=True)
class SimulationJobInfo:
    """A row of the job list: no prompts, no streams.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            page = await client.list_simulations(limit=5)
            for info in page.jobs:
                print(info.job_id, info.status)
    """

    job_id: str
    status: JobStatus
    priority: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    error_message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "") -> SimulationJobInfo:
        data = _mapping(data, where)
        return cls(
            job_id=_id(data.get("job_id"), f"{where}job_id"),
            status=_status(data.get("status"), f"{where}status"),
            priority=_opt_str(data.get("priority"), f"{where}priority"),
            created_at=_opt_str(data.get("created_at"), f"{where}created_at"),
            completed_at=_opt_str(data.get("completed_at"), f"{where}completed_at"),
            error_message=_opt_str(data.get("error_message"), f"{where}error_message"),
        )


def _page_counts(data: Mapping[str, Any], rows: int) -> dict[str, int]:
    """The ``total``, ``limit`` and ``offset`` of a list page (the same on every list)."""
    return {
        "total": _count(data.get("total"), "total", rows),
        "limit": _count(data.get("limit"), "limit", 20),
        "offset": _count(data.get("offset"), "offset", 0),
    }


@dataclass(frozen=True, slots=True)
class SimulationJobsList:
    """One page of ``GET /simulation-jobs``, newest first.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            page = await client.list_simulations(status="completed", limit=10, offset=10)
            print(page.total, "jobs;", len(page.jobs), "from", page.offset)
    """

    jobs: tuple[SimulationJobInfo, ...] = ()
    total: int = 0
    limit: int = 20
    offset: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulationJobsList:
        data = _mapping(data, "")
        jobs = tuple(
            SimulationJobInfo.from_json(j, f"jobs[{n}].")
            for n, j in enumerate(_rows(data.get("jobs"), "jobs"))
        )
        return cls(jobs=jobs, **_page_counts(data, len(jobs)))


@dataclass(frozen=True, slots=True)
class Recording:
    """Fresh, presigned URLs of one stream's artifacts (``GET /recordings/{id}``).

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            recording = await client.get_recording(stream_id)
            print(recording.video_url)
    """

    stream_id: str
    video_url: str | None = None
    events_url: str | None = None
    thumbnail_url: str | None = None
    preview_url: str | None = None
    frame_count: int | None = None
    duration_seconds: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        data = _mapping(data, "")
        return cls(
            stream_id=_id(data.get("stream_id"), "stream_id"),
            video_url=_opt_url(data.get("video_url"), "video_url"),
            events_url=_opt_url(data.get("events_url"), "events_url"),
            thumbnail_url=_opt_url(data.get("thumbnail_url"), "thumbnail_url"),
            preview_url=_opt_url(data.get("preview_url"), "preview_url"),
            frame_count=_opt_count(data.get("frame_count"), "frame_count"),
            duration_seconds=_opt_seconds(data.get("duration_seconds"), "duration_seconds"),
        )

    def url_for(self, kind: str) -> str | None:
        """The URL of one artifact kind: ``video``, ``thumbnail``, ``preview`` or ``events``."""
        if kind not in ARTIFACT_KINDS:
            raise ValueError(f"unknown artifact kind {kind!r}; use one of {ARTIFACT_KINDS}")
        value: str | None = getattr(self, f"{kind}_url")
        return value


@dataclass(frozen=True, slots=True)
class StreamRecordingInfo:
    """A row of ``GET /stream-recordings``.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            newest = (await client.list_stream_recordings(limit=1)).recordings[0]
        print(newest.width, newest.height, newest.duration_seconds)
    """

    stream_id: str
    width: int | None = None
    height: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "") -> StreamRecordingInfo:
        data = _mapping(data, where)
        return cls(
            stream_id=_id(data.get("stream_id"), f"{where}stream_id"),
            width=_opt_count(data.get("width"), f"{where}width"),
            height=_opt_count(data.get("height"), f"{where}height"),
            started_at=_opt_str(data.get("started_at"), f"{where}started_at"),
            ended_at=_opt_str(data.get("ended_at"), f"{where}ended_at"),
            duration_seconds=_opt_seconds(data.get("duration_seconds"), f"{where}duration_seconds"),
        )


@dataclass(frozen=True, slots=True)
class StreamRecordingsList:
    """One page of ``GET /stream-recordings``, newest first.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            page = await client.list_stream_recordings(limit=10, offset=10)
            print(page.total, [info.stream_id for info in page.recordings])
    """

    recordings: tuple[StreamRecordingInfo, ...] = ()
    total: int = 0
    limit: int = 20
    offset: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StreamRecordingsList:
        data = _mapping(data, "")
        rows = tuple(
            StreamRecordingInfo.from_json(r, f"recordings[{n}].")
            for n, r in enumerate(_rows(data.get("recordings"), "recordings"))
        )
        return cls(recordings=rows, **_page_counts(data, len(rows)))


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The answer of ``POST /auth/token``; never printed (the repr hides the token)."""

    access_token: str = field(repr=False)
    expires_in: float = 3600.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenGrant:
        data = _mapping(data, "")
        token = data.get("access_token")
        if not isinstance(token, str) or not token or len(token) > 8192 or not _header_safe(token):
            # never shown: the value is a credential, however malformed
            raise InvalidResponseError(
                "the server sent an access_token that cannot be used as a bearer token "
                "(not a printable ASCII string of at most 8192 characters)",
                field="access_token",
            )
        expires = _opt_seconds(data.get("expires_in"), "expires_in")
        return cls(access_token=token, expires_in=3600.0 if expires is None else expires)


def _header_safe(text: str) -> bool:
    """Printable ASCII without spaces: what may follow ``Bearer `` in a header."""
    return text.isascii() and text.isprintable() and " " not in text
