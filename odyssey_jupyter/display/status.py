"""The live status of one job: an ipywidgets panel, a text reporter, and a final summary.

All three read the same :func:`snapshot` of a ``Job``. The widget is written by
one thread only, the background loop thread: the job's listeners run there, and
the elapsed-time ticker is scheduled on the same loop, so no task on the kernel's
loop is needed and the panel keeps moving while another cell blocks. The cancel
button's click handler (kernel thread) only hands the cancel to the loop.
Players are appended to an ``Output`` with ``append_display_data`` (never
``with output:`` from a thread): relative ``<video src>`` is only rewritten to the
server's file route for real display outputs, not inside an ``HTML`` widget value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as widgets

from odyssey_jupyter.display.markup import class_name, escape, printable
from odyssey_jupyter.display.palette import status_colour
from odyssey_jupyter.types import SimulationJobDetail, is_terminal, parse_time

if TYPE_CHECKING:
    from odyssey_jupyter.recordings import LocalRecording

TICK_SECONDS = 1.0


class JobLike(Protocol):
    """What a status display reads of :class:`odyssey_jupyter.jobs.Job`."""

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


# --------------------------------------------------------------------------- snapshot

_STAGE_FRACTION = {
    "starting": 0.03,
    "submitting": 0.08,
    "pending": 0.15,
    "dispatched": 0.3,
    "processing": 0.5,
    "running": 0.5,
}


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

    @property
    def badge_class(self) -> str:
        return "odyssey-status-" + class_name(self.status)


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


def _fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _error_text(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def snapshot(job: JobLike, *, now: float | None = None, end: float | None = None) -> StatusView:  # noqa: C901  # split in progress
    """Read the job once; ``end`` freezes the elapsed time once it is terminal."""
    now = time.time() if now is None else now
    detail = job.detail
    phase = str(job.phase or "")
    status_value = job.status
    status = str(status_value) if status_value is not None else None
    terminal = status is not None and is_terminal(status)
    if phase == "error" and status is None:
        badge = "error"
    elif status is not None:
        badge = status.lower()
    elif phase.startswith("starting"):
        badge = "starting"
    else:
        badge = "submitting"
    if terminal and detail is not None and detail.completed_at:
        # The server's completion time, so the widget and the final summary agree.
        finished_at = parse_time(detail.completed_at)
        if finished_at is not None and finished_at.timestamp() >= float(job.created):
            end = finished_at.timestamp()
    elapsed = (end if end is not None else now) - float(job.created)

    if badge == "starting":
        stage = "starting local engine"
    elif badge == "submitting":
        stage = "submitting"
    elif badge == "error":
        stage = "not submitted"
    elif badge == "pending":
        stage = "queued"
    elif badge == "dispatched":
        stage = "dispatched to a worker"
    elif badge in ("processing", "running"):
        stage = "rendering"
    elif badge == "completed":
        stage = "downloading recordings" if phase == "downloading" else "completed"
    else:
        stage = badge

    wait_text = None
    if detail is not None and badge == "pending" and detail.estimated_wait_minutes is not None:
        minutes = detail.estimated_wait_minutes
        wait_text = "est. wait < 1 min" if minutes < 1 else f"est. wait ~{minutes:.0f} min"

    progress = detail.progress if detail is not None else None
    if terminal and badge == "completed":
        progress = 1.0
    fraction = progress if progress is not None else _STAGE_FRACTION.get(badge, 0.0)
    if terminal and badge != "completed":
        fraction = progress or 0.0  # a job that failed or was cancelled stops where it got to

    rows = _stream_rows(job, detail, badge)
    errors: list[str] = []
    if detail is not None and detail.error_message:
        errors.append(detail.error_message)
    job_error = _error_text(job.error)
    if job_error and not job.reconnecting and (terminal or phase in ("error", "done")):
        errors.append(job_error)

    # Failed/cancelled jobs are over at once; a completed one once its downloads are.
    # Phase "error" on a job still active means this side stopped following it (404/403).
    lost = phase == "error" and status is not None and not terminal
    finished = (
        badge == "error"
        or lost
        or (terminal and (badge != "completed" or phase in ("done", "error")))
    )
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
        stage=stage,
        elapsed_s=max(0.0, elapsed),
        wait_text=wait_text,
        progress=progress,
        stage_fraction=max(0.0, min(1.0, fraction)),
        streams=rows,
        error="; ".join(dict.fromkeys(errors)) or None,
        reconnecting=bool(job.reconnecting),
        terminal=terminal or badge == "error" or lost,
        finished=finished,
        summary=summary,
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
    for stream in streams:
        seen_scripts.add(stream.script_index)
        status = stream.status or (
            "ready" if stream.video_url else (badge if badge != "completed" else "completed")
        )
        length = (
            f" · {stream.duration_seconds:.1f} s" if stream.duration_seconds is not None else ""
        )
        rows.append(
            StreamRow(
                f"script {stream.script_index} · stream {stream.stream_id}{length}",
                status,
                stream.error_message,
            )
        )
    for index in range(len(scripts)):
        if index not in seen_scripts:
            rows.append(
                StreamRow(
                    f"script {index}",
                    "waiting" if not is_terminal(badge) and badge != "error" else badge,
                    None,
                )
            )
    return tuple(rows)


def _summary(
    job: JobLike, badge: str, elapsed: float, rows: Sequence[StreamRow], errors: Sequence[str]
) -> str:
    ident = job.job_id or "(not submitted)"
    if badge == "completed":
        recs = job.local_recordings or []
        parts = [f"Job {ident} completed in {_fmt_seconds(elapsed)}"]
        parts += stream_facts(job.detail)
        if recs:
            parts.append(f"recordings in {_common_dir(recs)}")
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
    return f"Job {ident} {badge} after {_fmt_seconds(elapsed)}{why}"


def _common_dir(recs: Sequence[LocalRecording]) -> str:
    dirs = {Path(r.video_path).parent.parent for r in recs}
    base = dirs.pop() if len(dirs) == 1 else Path(recs[0].video_path).parent
    try:
        return str(base.relative_to(Path.cwd()))
    except ValueError:
        return str(base)


def status_line(view: StatusView) -> str:
    """One text line for logs, terminals and ``text/plain``."""
    ident = view.job_id or "(no id yet)"
    parts = [f"Odyssey job {ident}: {view.status}"]
    if view.stage != view.status:
        parts.append(view.stage)
    if view.progress is not None and not view.terminal:
        parts.append(f"{view.progress:.0%}")
    parts.append(_fmt_seconds(view.elapsed_s))
    if view.wait_text:
        parts.append(view.wait_text)
    if view.reconnecting:
        parts.append("reconnecting...")
    if view.error:
        parts.append(view.error)
    return printable(" · ".join(parts))


def badge_html(status: str, css_class: str) -> str:
    colour = status_colour(status)
    return (
        f'<span class="odyssey-badge {escape(css_class)}" style="background:{colour};color:#fff;'
        'padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600">'
        f"{escape(status)}</span>"
    )


# --------------------------------------------------------------------------- final summary


class JobSummary:
    """The final state of a job as an ordinary output: HTML with players, or text.

    Displayed by the magic after ``--wait`` so that headless runs (nbclient keeps only
    what arrives while a cell runs) save the outcome and playable videos.
    """

    def __init__(self, job: JobLike, *, players: bool = True) -> None:
        self.job = job
        self.view = snapshot(job)
        self.recordings = list(job.local_recordings or []) if players else []

    def __repr__(self) -> str:
        lines = [self.view.summary or status_line(self.view)]
        lines += [
            f"  {row.label}: {row.status}" + (f" ({row.error})" if row.error else "")
            for row in self.view.streams
        ]
        if self.recordings:
            from odyssey_jupyter.display.player import PlayerGroup

            lines.append(repr(PlayerGroup(self.recordings)))
        return printable("\n".join(lines))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        view = self.view
        parts = [
            '<div class="odyssey-summary">',
            badge_html(view.status, view.badge_class),
            f" <code>{escape(view.job_id or '')}</code> ",
            escape(view.summary or status_line(view)),
        ]
        for row in view.streams:
            err = f' <span style="color:#c62828">{escape(row.error)}</span>' if row.error else ""
            parts.append(f"<div>{escape(row.label)}: {escape(row.status)}{err}</div>")
        parts.append("</div>")
        if self.recordings:
            from odyssey_jupyter.display.player import players_html

            parts.append(players_html(self.recordings))
        return "".join(parts)


# --------------------------------------------------------------------------- text reporter


class TextStatus:
    """Prints a line whenever the job's stage, status or error changes (no widgets).

    ``final=False`` leaves the closing summary to the caller (``--wait`` displays a
    :class:`JobSummary` as an ordinary output instead).
    """

    def __init__(
        self,
        job: JobLike,
        *,
        write: Callable[[str], None] | None = None,
        players: bool = True,
        final: bool = True,
    ) -> None:
        self.job = job
        self._show: Callable[[str], None] = write or (lambda text: print(text, flush=True))
        self._players = players
        self._final = final
        self._last: tuple[Any, ...] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._unsubscribe = job.add_listener(self._on_change)
        self._on_change(job)

    def _on_change(self, job: Any) -> None:
        view = snapshot(self.job)
        step = None if view.progress is None else int(view.progress * 4)
        key = (view.status, view.stage, step, view.reconnecting, view.error, view.finished)
        with self._lock:
            if key == self._last or self._done.is_set():
                return
            self._last = key
            if view.finished:
                self._done.set()
        if view.finished:
            self._unsubscribe()
            if not self._final:
                return
            self._write(view.summary or status_line(view))
            if self._players and self.job.local_recordings:
                from odyssey_jupyter.display.player import PlayerGroup

                self._write(repr(PlayerGroup(self.job.local_recordings)))
        else:
            self._write(status_line(view))

    def _write(self, text: str) -> None:
        self._show(printable(text))

    def wait_finished(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def keep_showing(self) -> None:
        """The caller stopped waiting: print the outcome and players here when they come."""
        with self._lock:
            self._players = True
            self._final = True

    def close(self) -> None:
        self._unsubscribe()


# --------------------------------------------------------------------------- widget


def _set(widget: widgets.Widget, **values: Any) -> None:
    """Assign only what changed, in one message."""
    changed = {k: v for k, v in values.items() if getattr(widget, k) != v}
    if not changed:
        return
    with widget.hold_sync():
        for key, value in changed.items():
            setattr(widget, key, value)


def panel_html(view: StatusView, *, note: str | None = None, summary: bool = True) -> str:
    """The widget's whole text part as one HTML fragment (one model, one update per change).

    The ``<progress>`` element is determinate when the server reports progress and
    indeterminate (animated) otherwise, with the stage written next to it.
    """
    ident = escape(view.job_id or "—")
    bits = [
        badge_html(view.status, view.badge_class),
        f'<code class="odyssey-job-id" style="user-select:text;-webkit-user-select:text">'
        f"{ident}</code>",
        f'<span class="odyssey-elapsed">{_fmt_seconds(view.elapsed_s)}</span>',
    ]
    if view.wait_text:
        bits.append(f'<span class="odyssey-wait">{escape(view.wait_text)}</span>')
    if view.reconnecting:
        bits.append(
            '<span class="odyssey-reconnecting" style="color:#ef6c00">reconnecting...</span>'
        )
    row = '<div style="display:flex;gap:10px;align-items:center;flex-wrap:wrap">'
    parts = [f'<div class="odyssey-status-panel">{row}{"".join(bits)}</div>']
    if view.progress is not None or view.terminal:
        value = view.stage_fraction
        bar = f'<progress class="odyssey-progress" max="1" value="{value:.3f}"></progress>'
    else:
        bar = '<progress class="odyssey-progress odyssey-progress-stage"></progress>'
    stage = view.stage
    if view.progress is not None and not view.terminal:
        stage = f"{stage} {view.progress:.0%}"
    parts.append(f'{row}{bar}<span class="odyssey-stage">{escape(stage)}</span></div>')
    for stream in view.streams:
        css = "odyssey-status-" + class_name(stream.status)
        err = (
            f' <span class="odyssey-error" style="color:#c62828">{escape(stream.error)}</span>'
            if stream.error
            else ""
        )
        parts.append(
            f'<div class="odyssey-stream">{badge_html(stream.status, css)} '
            f"{escape(stream.label)}{err}</div>"
        )
    error = "; ".join(e for e in (view.error, note) if e)
    if error:
        parts.append(f'<div class="odyssey-error" style="color:#c62828">{escape(error)}</div>')
    if view.summary and summary:
        parts.append(f'<div class="odyssey-summary-line">{escape(view.summary)}</div>')
    parts.append("</div>")
    return "".join(parts)


class StatusWidget(widgets.VBox):  # type: ignore[misc]
    """A live panel for one job: id, badge, elapsed, wait, progress, streams, cancel, players.

    Few models on purpose (a panel ``HTML``, a ``Button``, an ``Output``): every
    widget model costs a comm open, and the magic must return within milliseconds.
    ``show_players=False`` leaves the players and the closing summary line to the
    caller (the magic shows them as an ordinary output after ``--wait``, so they are
    not shown twice).
    ``loop`` is the loop whose thread writes to the widget (the runtime's by default).
    """

    def __init__(
        self,
        job: JobLike,
        *,
        show_players: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
        tick: float = TICK_SECONDS,
    ) -> None:
        self._job = job
        self._show_players = show_players
        self._tick = tick
        self._end: float | None = None
        self._players_shown = False
        self._cancelling = False
        self._cancel_error: str | None = None
        self._finished = threading.Event()
        self._closed = False
        self._ticker: asyncio.TimerHandle | None = None
        self.updates = 0
        if loop is None:
            from odyssey_jupyter.runtime import get_runtime

            loop = get_runtime().loop
        self._loop = loop
        # Built with their first values, so construction sends comm opens and nothing more.
        view = snapshot(job)
        self._panel = widgets.HTML(
            value=panel_html(view, summary=show_players), layout=widgets.Layout(flex="1 1 auto")
        )
        self._cancel = widgets.Button(
            description="Cancel",
            icon="stop",
            tooltip="Cancel this job",
            disabled=view.terminal,
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
            _dom_classes=("odyssey-cancel",),
        )
        self._cancel.on_click(self._on_cancel_click)
        self._players = widgets.Output()
        top = widgets.HBox(
            [self._panel, self._cancel], layout=widgets.Layout(align_items="flex-start")
        )
        super().__init__([top, self._players], _dom_classes=("odyssey-status", view.badge_class))
        # From here on every write happens on the loop thread (listeners and the ticker).
        self._unsubscribe = job.add_listener(self._on_change)
        self._loop.call_soon_threadsafe(self._on_tick)

    # ------------------------------------------------------------------ text form

    def __repr__(self) -> str:
        return status_line(snapshot(self._job, end=self._end))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def job(self) -> JobLike:
        return self._job

    @property
    def view(self) -> StatusView:
        return snapshot(self._job, end=self._end)

    def wait_finished(self, timeout: float) -> bool:
        """Block until the widget has rendered the job's final state (players included)."""
        return self._finished.wait(timeout)

    def keep_showing(self) -> None:
        """The caller stopped waiting (Ctrl-C, timeout): show the outcome and players here."""

        def adopt() -> None:
            self._show_players = True
            self._render()

        self._loop.call_soon_threadsafe(adopt)

    # ------------------------------------------------------------------ loop thread

    def _on_change(self, job: Any) -> None:
        if not self._closed:
            self._render()

    def _on_tick(self) -> None:
        if self._closed or self._finished.is_set():
            return
        self._render()
        if not self._finished.is_set():
            self._ticker = self._loop.call_later(self._tick, self._on_tick)

    def _render(self) -> None:
        try:
            self._render_now()
        except Exception as exc:  # a display hiccup must never kill the loop's callbacks
            self._panel.value = f"<pre>display error: {escape(repr(exc))}</pre>"

    def _render_now(self) -> None:
        now = time.time()
        view = snapshot(self._job, now=now, end=self._end)
        if view.terminal and self._end is None:
            self._end = now
        note = f"cancel failed: {self._cancel_error}" if self._cancel_error else None
        _set(self, _dom_classes=("odyssey-status", view.badge_class))
        _set(self._panel, value=panel_html(view, note=note, summary=self._show_players))
        _set(
            self._cancel,
            disabled=view.terminal or self._cancelling,
            description="Cancelling..." if self._cancelling and not view.terminal else "Cancel",
        )
        self.updates += 1
        if view.finished:
            if self._show_players and not self._players_shown and self._job.local_recordings:
                self._players_shown = True
                self._append_players(self._job.local_recordings)
            self._finished.set()
            if self._ticker is not None:
                self._ticker.cancel()

    def _append_players(self, recordings: Sequence[LocalRecording]) -> None:
        """Add the players as one display output of the ``Output`` widget.

        The same thing ``Output.append_display_data`` does, with both representations
        given here rather than left to the shell's formatter (a terminal shell keeps
        only text/plain).
        """
        from odyssey_jupyter.display.player import PlayerGroup

        group = PlayerGroup(recordings)
        output = {
            "output_type": "display_data",
            "data": {"text/html": group._repr_html_(), "text/plain": repr(group)},
            "metadata": {},
        }
        self._players.outputs = (*self._players.outputs, output)

    # ------------------------------------------------------------------ kernel thread

    def _on_cancel_click(self, _button: Any) -> None:
        """Runs on the kernel thread: hand the cancel to the loop and return at once."""
        future = self._job.cancel_async()
        self._loop.call_soon_threadsafe(self._mark_cancelling)
        future.add_done_callback(self._on_cancel_done)

    def _mark_cancelling(self) -> None:
        self._cancelling = True
        self._render()

    def _on_cancel_done(self, future: concurrent.futures.Future[Any]) -> None:
        exc = None if future.cancelled() else future.exception()

        def apply() -> None:
            self._cancelling = False
            self._cancel_error = _error_text(exc) if exc is not None else None
            self._render()

        self._loop.call_soon_threadsafe(apply)

    def close(self) -> None:
        """Stop listening and close the widget models."""
        self._closed = True
        self._unsubscribe()
        if self._ticker is not None:
            self._loop.call_soon_threadsafe(self._ticker.cancel)
        super().close()
