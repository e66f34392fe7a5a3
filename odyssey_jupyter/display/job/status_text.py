"""A status view as text: the one-line status, the printing reporter, the final summary.

For terminals, logs, papermill and every ``text/plain``. :class:`TextStatus`
prints a line when something worth a line changes (never a line per tick);
:class:`JobSummary` is the outcome as an ordinary output after ``--wait``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from odyssey_jupyter.display.common.relative_time import format_duration
from odyssey_jupyter.display.job.status_html import ERROR_STYLE, badge_html, time_left_text
from odyssey_jupyter.display.job.status_view import JobLike, StatusView, snapshot
from odyssey_jupyter.text.markup import escape, printable


def status_line(view: StatusView) -> str:
    """One text line for logs, terminals and ``text/plain``."""
    ident = view.job_id or "(no id yet)"
    parts = [f"Odyssey job {ident}: {view.status}"]
    if view.stage != view.status:
        parts.append(view.stage)
    if view.progress is not None and not view.terminal:
        parts.append(f"{view.progress:.0%}")
    parts.append(format_duration(view.elapsed_s))
    left = time_left_text(view)
    if left:
        parts.append(left)
    if view.wait_text:
        parts.append(view.wait_text)
    if view.reconnecting:
        parts.append("reconnecting...")
    if view.error:
        parts.append(view.error)
    return printable(" · ".join(parts))


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
            from odyssey_jupyter.display.media.player import PlayerGroup

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
            err = f' <span style="{ERROR_STYLE}">{escape(row.error)}</span>' if row.error else ""
            parts.append(f"<div>{escape(row.label)}: {escape(row.status)}{err}</div>")
        parts.append("</div>")
        if self.recordings:
            from odyssey_jupyter.display.media.player import players_html

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
                from odyssey_jupyter.display.media.player import PlayerGroup

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
