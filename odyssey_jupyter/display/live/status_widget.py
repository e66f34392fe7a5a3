"""The live status panel of one job: an ipywidgets box around the pure status view.

The widget is written by one thread only, the background loop thread: the job's
listeners run there, and the elapsed-time ticker is scheduled on the same loop,
so no task on the kernel's loop is needed and the panel keeps moving while
another cell blocks. The cancel button's click handler (kernel thread) only
hands the cancel to the loop; the button itself (:mod:`.cancel_control`) shows
the request in the browser at click time. Players are appended to an ``Output``
with ``append_display_data`` (never ``with output:`` from a thread): relative
``<video src>`` is only rewritten to the server's file route for real display
outputs, not inside an ``HTML`` widget value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from odyssey_jupyter.display.job.status_html import panel_html
from odyssey_jupyter.display.job.status_text import status_line
from odyssey_jupyter.display.job.status_view import JobLike, StatusView, error_text, snapshot
from odyssey_jupyter.display.live.cancel_control import CancelControl
from odyssey_jupyter.text.markup import escape

if TYPE_CHECKING:
    from odyssey_jupyter.session.recording import LocalRecording

TICK_SECONDS = 1.0


def _set(widget: widgets.Widget, **values: Any) -> None:
    """Assign only what changed, in one message."""
    changed = {k: v for k, v in values.items() if getattr(widget, k) != v}
    if not changed:
        return
    with widget.hold_sync():
        for key, value in changed.items():
            setattr(widget, key, value)


class StatusWidget(widgets.VBox):  # type: ignore[misc]
    """A live panel for one job: id, badge, elapsed, wait, progress, streams, cancel, players.

    Few models on purpose (a panel ``HTML``, the Cancel control, an ``Output``): every
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
            from odyssey_jupyter.session.runtime import get_runtime

            loop = get_runtime().loop
        self.loop = loop
        """The loop thread's event loop, on which the widget's changes are made."""
        # Built with their first values, so construction sends comm opens and nothing more.
        view = snapshot(job)
        self._panel = widgets.HTML(
            value=panel_html(view, summary=show_players), layout=widgets.Layout(flex="1 1 auto")
        )
        self._cancel = CancelControl(
            self._on_cancel_click,
            disabled=view.terminal,
            hidden=view.terminal,
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
            _dom_classes=("odyssey-cancel",),
        )
        self._players = widgets.Output()
        top = widgets.HBox(
            [self._panel, self._cancel], layout=widgets.Layout(align_items="flex-start")
        )
        super().__init__([top, self._players], _dom_classes=("odyssey-status", view.badge_class))
        # From here on every write happens on the loop thread (listeners and the ticker).
        self._unsubscribe = job.add_listener(self._on_change)
        self.loop.call_soon_threadsafe(self._on_tick)

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

        self.loop.call_soon_threadsafe(adopt)

    # ------------------------------------------------------------------ loop thread

    def _on_change(self, job: Any) -> None:
        if not self._closed:
            self._render()

    def _on_tick(self) -> None:
        if self._closed or self._finished.is_set():
            return
        self._render()
        if not self._finished.is_set():
            self._ticker = self.loop.call_later(self._tick, self._on_tick)

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
        # A finished job shows no Cancel button at all (``disabled`` stays true for readers).
        _set(
            self._cancel,
            disabled=view.terminal or self._cancelling,
            hidden=view.terminal,
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
        from odyssey_jupyter.display.media.player import PlayerGroup

        group = PlayerGroup(recordings)
        output = {
            "output_type": "display_data",
            "data": {"text/html": group._repr_html_(), "text/plain": repr(group)},
            "metadata": {},
        }
        self._players.outputs = (*self._players.outputs, output)

    # ------------------------------------------------------------------ kernel thread

    def _on_cancel_click(self) -> None:
        """Runs on the kernel thread: hand the cancel to the loop and return at once."""
        future = self._job.cancel_async()
        self.loop.call_soon_threadsafe(self._mark_cancelling)
        future.add_done_callback(self._on_cancel_done)

    def _mark_cancelling(self) -> None:
        self._cancelling = True
        _set(self._cancel, answered=self._cancel.answered + 1, feedback="")
        self._render()

    def _on_cancel_done(self, future: concurrent.futures.Future[Any]) -> None:
        exc = None if future.cancelled() else future.exception()

        def apply() -> None:
            self._cancelling = False
            self._cancel_error = error_text(exc) if exc is not None else None
            outcome = getattr(self._job, "cancel_outcome", None) if exc is None else None
            refused = outcome is not None and getattr(outcome, "refused", False)
            _set(self._cancel, feedback=str(outcome) if refused else "")
            self._render()

        self.loop.call_soon_threadsafe(apply)

    def close(self) -> None:
        """Stop listening and close the widget models (once: ``__del__`` calls it again)."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self._ticker is not None:
            self.loop.call_soon_threadsafe(self._ticker.cancel)
        super().close()
