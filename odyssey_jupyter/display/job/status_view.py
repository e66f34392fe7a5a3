"""What a job's status display shows, computed from one look at the job: no widgets here.

:func:`snapshot` turns a ``Job`` (anything shaped like :class:`JobLike`) into a
frozen :class:`StatusView`; the widget, the text line and the final output all
draw from it. Being pure (no ipywidgets, no frontend, no clock of its own when
``now`` is given) it is tested directly, and an import-linter contract keeps it so.
How each status reads (its stage words, where the bar sits before the server
reports progress, whether a wait or a time left is shown) is one table,
:data:`STAGES`, rather than a chain of conditions.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from odyssey_jupyter.display.common.labels import (
    from_a_batch,
    script_name,
    stream_name,
    stream_numbers,
)
from odyssey_jupyter.display.common.relative_time import format_duration
from odyssey_jupyter.protocol.types import SimulationJobDetail, is_terminal, parse_time
from odyssey_jupyter.text.markup import class_name

if TYPE_CHECKING:
    from odyssey_jupyter.session.recording import LocalRecording


class JobLike(Protocol):
    """What a status display reads of :class:`odyssey_jupyter.session.jobs.Job`."""

    job_id: str | None
    phase: str
    detail: SimulationJobDetail | None
    error: BaseException | None
    reconnecting: bool
    scripts: list[list[dict[str, Any]]] | None
    created: float
    local_recordings: list[LocalRecording] | None

    @property
    def status(self) -> Any: ...

    def add_listener(self, fn: Callable[[Any], None]) -> Callable[[], None]: ...

    def cancel_async(self) -> concurrent.futures.Future[Any]: ...


# --------------------------------------------------------------------------- one table per status


@dataclass(frozen=True)
class Stage:
    """How one badge (a job status, or this side's own phase before there is one) reads."""

    words: str
    """The stage written next to the bar."""
    fraction: float = 0.0
    """Where the bar sits until the server reports progress."""
    words_while_downloading: str | None = None
    """The stage while this side downloads the recordings (a completed job only)."""
    shows_wait: bool = False
    """The server's estimated queue wait is shown."""
    shows_time_left: bool = False
    """An estimate of the time left is shown, from progress and time spent rendering."""


STAGES: dict[str, Stage] = {
    "starting": Stage("starting local engine", 0.03),
    "submitting": Stage("submitting", 0.08),
    "error": Stage("not submitted"),
    "pending": Stage("queued", 0.15, shows_wait=True),
    "dispatched": Stage("dispatched to a worker", 0.3),
    "processing": Stage("rendering", 0.5, shows_time_left=True),
    "running": Stage("rendering", 0.5, shows_time_left=True),
    "completed": Stage("completed", words_while_downloading="downloading recordings"),
}
"""Every badge this side knows; any other status (failed, cancelled, a server's new
word) reads as itself, with the bar at zero."""


def stage_of(badge: str) -> Stage:
    """The table's row for ``badge``; an unknown status reads as its own name."""
    return STAGES.get(badge) or Stage(badge)


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class StreamRow:
    label: str
    status: str
    error: str | None


@dataclass(frozen=True)
class StatusView:
    """Everything a status display shows, computed from one look at the job."""

    job_id: str | None
    status: str
    """Badge text and DOM class suffix: starting, submitting, a job status, or error."""
    stage: str
    elapsed_s: float
    wait_text: str | None
    progress: float | None
    """Server-reported progress (0..1), ``None`` when unknown."""
    stage_fraction: float
    streams: tuple[StreamRow, ...]
    error: str | None
    reconnecting: bool
    terminal: bool
    finished: bool
    """Terminal and nothing more will happen (downloads done or not wanted)."""
    summary: str | None
    time_left_s: float | None = None
    """Estimated seconds of rendering left (see :func:`time_left`); ``None`` when unknown."""
    warnings: tuple[str, ...] = ()
    """The script's warning lines (shown, never blocking); empty until a job carries any."""

    @property
    def badge_class(self) -> str:
        return "odyssey-status-" + class_name(self.status)


def time_left(progress: float | None, elapsed_s: float) -> float | None:
    """Seconds left at the rate seen so far, as tqdm estimates them; ``None`` when unknown.

    Progress 0 (or unknown, or done) says nothing about the rate, so no estimate.
    """
    if progress is None or not 0.0 < progress < 1.0 or elapsed_s <= 0.0:
        return None
    return elapsed_s * (1.0 - progress) / progress


def stream_facts(detail: SimulationJobDetail | None) -> list[str]:
    """ "2 streams", "6.0 s of video": the facts of a job's streams that every summary gives."""
    if detail is None or not detail.streams:
        return []
    count = len(detail.streams)
    facts = [f"{count} stream{'s' if count != 1 else ''}"]
    seconds = sum(s.duration_seconds or 0.0 for s in detail.streams)
    if seconds:
        facts.append(f"{seconds:.1f} s of video")
    return facts


def error_text(exc: BaseException | None) -> str | None:
    """``Name: message`` of an exception, for one line of a display."""
    if exc is None:
        return None
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def common_dir(recs: Sequence[LocalRecording]) -> str:
    """The folder a job's recordings are in, relative to the working directory when inside it."""
    dirs = {Path(r.video_path).parent.parent for r in recs}
    base = dirs.pop() if len(dirs) == 1 else Path(recs[0].video_path).parent
    try:
        return str(base.relative_to(Path.cwd()))
    except ValueError:
        return str(base)


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class _Look:
    """One read of the job's fields, so every part of the view sees the same values."""

    job: JobLike
    detail: SimulationJobDetail | None
    phase: str
    status: str | None
    badge: str
    terminal: bool
    now: float


def _look(job: JobLike, now: float) -> _Look:
    phase = str(job.phase or "")
    status_value = job.status
    status = str(status_value) if status_value is not None else None
    if phase == "error" and status is None:
        badge = "error"
    elif status is not None:
        badge = status.lower()
    else:
        badge = "starting" if phase.startswith("starting") else "submitting"
    terminal = status is not None and is_terminal(status)
    return _Look(job, job.detail, phase, status, badge, terminal, now)


def _elapsed(look: _Look, end: float | None) -> float:
    detail = look.detail
    if look.terminal and detail is not None and detail.completed_at:
        # The server's completion time, so the widget and the final summary agree.
        finished_at = parse_time(detail.completed_at)
        if finished_at is not None and finished_at.timestamp() >= float(look.job.created):
            end = finished_at.timestamp()
    return (end if end is not None else look.now) - float(look.job.created)


def _stage_words(look: _Look) -> str:
    stage = stage_of(look.badge)
    if look.phase == "downloading" and stage.words_while_downloading:
        return stage.words_while_downloading
    return stage.words


def _wait_text(look: _Look) -> str | None:
    minutes = look.detail.estimated_wait_minutes if look.detail is not None else None
    if minutes is None or not stage_of(look.badge).shows_wait:
        return None
    return "est. wait < 1 min" if minutes < 1 else f"est. wait ~{minutes:.0f} min"


def _progress(look: _Look) -> tuple[float | None, float]:
    """(server progress, bar position): a failed or cancelled job stops where it got to."""
    progress = look.detail.progress if look.detail is not None else None
    if look.terminal and look.badge == "completed":
        progress = 1.0
    fraction = progress if progress is not None else stage_of(look.badge).fraction
    if look.terminal and look.badge != "completed":
        fraction = progress or 0.0
    return progress, max(0.0, min(1.0, fraction))


def _time_left(look: _Look, progress: float | None, elapsed: float) -> float | None:
    """From the time spent rendering (the server's ``started_at``), else since submission."""
    if look.terminal or not stage_of(look.badge).shows_time_left:
        return None
    started = parse_time(look.detail.started_at) if look.detail is not None else None
    rendering = look.now - started.timestamp() if started is not None else elapsed
    if not 0.0 < rendering <= elapsed + 1.0:  # a server clock ahead of ours: trust our own
        rendering = elapsed
    return time_left(progress, rendering)


def _errors(look: _Look) -> list[str]:
    errors: list[str] = []
    if look.detail is not None and look.detail.error_message:
        errors.append(look.detail.error_message)
    job_error = error_text(look.job.error)
    followed_to_end = look.terminal or look.phase in ("error", "done")
    if job_error and not look.job.reconnecting and followed_to_end:
        errors.append(job_error)
    return errors


def _warning_lines(job: JobLike) -> tuple[str, ...]:
    """The script's warnings as display lines (``Job.warnings``), unless the cell shows them.

    The magic displays them once above the job's output; a job made in code
    (``simulate()``) has its warnings in its own display.
    """
    if getattr(job, "warnings_shown", False):
        return ()
    return tuple(str(warning) for warning in getattr(job, "warnings", None) or ())


def snapshot(job: JobLike, *, now: float | None = None, end: float | None = None) -> StatusView:
    """Read the job once; ``end`` freezes the elapsed time once it is terminal."""
    look = _look(job, time.time() if now is None else now)
    badge, terminal = look.badge, look.terminal
    elapsed = _elapsed(look, end)
    progress, fraction = _progress(look)
    rows = _stream_rows(job, look.detail, badge)
    errors = _errors(look)
    # Failed/cancelled jobs are over at once; a completed one once its downloads are.
    # Phase "error" on a job still active means this side stopped following it (404/403).
    lost = look.phase == "error" and look.status is not None and not terminal
    over_here = badge != "completed" or look.phase in ("done", "error")
    finished = badge == "error" or lost or (terminal and over_here)
    if lost:
        why = "; ".join(errors) or "unknown error"
        summary: str | None = f"Job {job.job_id} was {badge} when it stopped being followed: {why}"
    elif terminal or badge == "error":
        summary = _summary(job, badge, elapsed, rows, errors)
    else:
        summary = None
    return StatusView(
        job_id=job.job_id,
        status=badge,
        stage=_stage_words(look),
        elapsed_s=max(0.0, elapsed),
        wait_text=_wait_text(look),
        progress=progress,
        stage_fraction=fraction,
        streams=rows,
        error="; ".join(dict.fromkeys(errors)) or None,
        reconnecting=bool(job.reconnecting),
        terminal=terminal or badge == "error" or lost,
        finished=finished,
        summary=summary,
        time_left_s=_time_left(look, progress, elapsed),
        warnings=_warning_lines(job),
    )


def _stream_rows(
    job: JobLike, detail: SimulationJobDetail | None, badge: str
) -> tuple[StreamRow, ...]:
    scripts = job.scripts or []
    streams = detail.streams if detail is not None else ()
    if len(scripts) <= 1 and len(streams) <= 1:
        return ()
    rows: list[StreamRow] = []
    seen_scripts = set()
    indexes = [stream.script_index for stream in streams]
    batch = len(scripts) > 1 or from_a_batch(indexes)
    for stream, (number, count) in zip(streams, stream_numbers(indexes), strict=True):
        seen_scripts.add(stream.script_index)
        status = stream.status or (
            "ready" if stream.video_url else (badge if badge != "completed" else "completed")
        )
        length = (
            f" · {stream.duration_seconds:.1f} s" if stream.duration_seconds is not None else ""
        )
        rows.append(
            StreamRow(
                f"{stream_name(stream.script_index, number, batch=batch, several=count > 1)}"
                f" · {stream.stream_id}{length}",
                status,
                stream.error_message,
            )
        )
    waiting = "waiting" if not is_terminal(badge) and badge != "error" else badge
    rows += [
        StreamRow(script_name(i), waiting, None)
        for i in range(len(scripts))
        if i not in seen_scripts
    ]
    return tuple(rows)


def _summary(
    job: JobLike, badge: str, elapsed: float, rows: Sequence[StreamRow], errors: Sequence[str]
) -> str:
    ident = job.job_id or "(not submitted)"
    if badge == "completed":
        recs = job.local_recordings or []
        parts = [f"Job {ident} completed in {format_duration(elapsed)}"]
        parts += stream_facts(job.detail)
        if recs:
            parts.append(f"recordings in {common_dir(recs)}")
        elif job.phase == "downloading":
            parts.append("downloading recordings")
        return " · ".join(parts)
    if badge == "error":
        why = "; ".join(errors) or "unknown error"
        return f"Not submitted: {why}"
    why = f": {'; '.join(errors)}" if errors else ""
    failed = [r for r in rows if r.error]
    if failed:
        why += f" ({len(failed)} stream{'s' if len(failed) != 1 else ''} failed)"
    return f"Job {ident} {badge} after {format_duration(elapsed)}{why}"
