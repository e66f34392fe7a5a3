"""One output per job, live then final, under one IPython display id.

The magic displays the live status widget with a display id; its bundle also holds
a text/plain and text/html form of the current state, refreshed whenever the stage
changes, for every frontend that cannot draw the widget. When the job is over, the
loop thread replaces that same output (``update_display``) by the static bundle of
:mod:`odyssey_jupyter.display.job.final` and closes the widget. Frontends (JupyterLab,
Notebook 7, nbclient) apply the update to the output wherever it is, so a job that
ends while a later cell runs still leaves its final output in its own cell.

Where nobody watches (a headless run, see :func:`~.frontend.watched`) the output
carries no widget view at all: its dated snapshot, kept current the same way, is
what the notebook saves and what every stock nbconvert exporter shows. There the
cell also waits (bounded by ``finish_submissions_timeout``) until the job has an
id, so a notebook's last cell saves which job it started.

Updates are published from an empty ``contextvars`` context: ipykernel then tags
them with the cell running *now* (its global parent header) rather than the cell
that started the loop's task, and nbclient only applies messages tagged with the
cell it is executing.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from collections.abc import Callable
from typing import Any

from odyssey_jupyter.display.common.live_marker import marked_live
from odyssey_jupyter.display.job.final import MimeBundle, final_bundle, live_bundle
from odyssey_jupyter.display.job.status_view import JobLike, snapshot
from odyssey_jupyter.display.live.status_widget import StatusWidget
from odyssey_jupyter.text.markup import python_literal

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

_live: set[JobOutput] = set()
_live_lock = threading.Lock()
_recent_finals: list[tuple[str, dict[str, Any]]] = []
"""Final bundles sent since the last cell started (sent again when the next one starts)."""


def publish(bundle: dict[str, Any], display_id: str, *, update: bool) -> None:
    """Display (or replace) ``bundle`` under ``display_id``, tagged with the running cell.

    Outside IPython it does nothing; in a terminal (no display ids there, an update
    would print the whole output again) only first displays are shown.
    """
    from IPython import get_ipython
    from IPython.display import display

    from odyssey_jupyter.display.common.frontend import detect_frontend

    if get_ipython() is None:
        return
    if update and detect_frontend() != "widget":
        return

    def send() -> None:
        display(bundle, raw=True, display_id=display_id, update=update)  # type: ignore[no-untyped-call]

    contextvars.Context().run(send)


class JobOutput:
    """The output of one job in its cell: the live widget, then the final static bundle.

    ``players`` puts the recordings' players into the final output (``--no-download``
    has none to show).
    """

    def __init__(self, job: JobLike, *, players: bool = True) -> None:
        self.job = job
        self.players = players
        self.display_id = f"odyssey-job-{uuid.uuid4().hex}"
        self.widget: StatusWidget | None = None
        """Made in :meth:`show` where someone watches (a headless run opens no comms). It
        draws the outcome too: a frontend that ignores display updates still ends on it."""
        self._final = threading.Event()
        """Claimed: the final (or frozen) output is on its way; nothing else is sent."""
        self._named = threading.Event()
        """The output shown names the job (or says it was not submitted)."""
        self._sent = threading.Event()
        """The final output has been published (``--wait`` returns after this)."""
        self._lock = threading.Lock()
        self._last_key: tuple[Any, ...] | None = None
        self._unsubscribe: Callable[[], None] = _nothing
        self.updates = 0
        self.watched = True
        """Someone sees the widget: decided in :meth:`show`, from the cell's request."""

    # ------------------------------------------------------------------ kernel thread

    def show(self) -> JobOutput:
        """Display the live output now; from here on the loop thread keeps it current."""
        from odyssey_jupyter.display.common.frontend import watched

        self.watched = watched()
        if self.watched:
            self.widget = StatusWidget(self.job, show_players=self.players)
        view = snapshot(self.job)
        self._last_key = _key(view)
        if view.job_id or view.finished:
            self._named.set()
        publish(self._live_bundle(), self.display_id, update=False)
        with _live_lock:
            _live.add(self)
        self._unsubscribe = self.job.add_listener(self._on_change)
        self._loop().call_soon_threadsafe(self._on_change, self.job)
        if not self.watched:  # headless: what the cell saves must name its job
            from odyssey_jupyter.session.config import get_config

            self._named.wait(float(get_config().finish_submissions_timeout))
        return self

    def wait_finished(self, timeout: float) -> bool:
        """Block until the final output has been sent (``--wait``).

        Sent before the cell ends, so nbclient saves it even in a notebook's last cell.
        """
        return self._sent.wait(timeout)

    def keep_showing(self) -> None:
        """Nothing to do: the final output replaces the live one whenever the job ends."""

    @property
    def final(self) -> bool:
        return self._final.is_set()

    # ------------------------------------------------------------------ loop thread

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self.widget is not None:
            return self.widget.loop
        from odyssey_jupyter.session.runtime import get_runtime

        return get_runtime().loop

    def _close_widget(self) -> None:
        if self.widget is not None:
            self.widget.close()

    def _live_bundle(self) -> dict[str, Any]:
        if self.widget is None:
            return dict(live_bundle(self.job))
        data: dict[str, Any] = dict(self.widget._repr_mimebundle_() or {})
        data.update(live_bundle(self.job))
        return marked_live(data)

    def _on_change(self, _job: Any) -> None:
        view = snapshot(self.job)
        with self._lock:
            if self._final.is_set():
                return
            if view.finished:
                self._final.set()
                finishing = True
            else:
                key = _key(view)
                finishing = False
                if key == self._last_key:
                    return
                self._last_key = key
        if finishing:
            self._send_final()
        else:
            publish(self._live_bundle(), self.display_id, update=True)
            self.updates += 1
            if view.job_id:
                self._named.set()

    def _send_final(self) -> None:
        self._unsubscribe()
        try:
            bundle = final_bundle(self.job, players=self.players)
            remember_final(self.display_id, bundle)
            publish(bundle, self.display_id, update=True)
        finally:
            self._named.set()
            self._sent.set()
            self._forget()
            self._close_widget()

    def freeze(self, note: str) -> bool:
        """Replace the live output by the state reached so far (the kernel is stopping)."""
        with self._lock:
            if self._final.is_set():
                return False
            self._final.set()
        self._unsubscribe()
        try:
            publish(live_bundle(self.job, note=note), self.display_id, update=True)
        finally:
            self._named.set()
            self._sent.set()
            self._forget()
            self._close_widget()
        return True

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)


def _nothing() -> None:
    """The unsubscribe of an output not shown yet."""


PROGRESS_STEPS = 10
"""The saved snapshot follows rendering progress in tenths (not every tick)."""


def _key(view: Any) -> tuple[Any, ...]:
    """What makes the saved snapshot worth refreshing (not the ticking elapsed time)."""
    step = None if view.progress is None else int(view.progress * PROGRESS_STEPS)
    return (view.job_id, view.status, view.stage, step, view.error, view.reconnecting)


def remember_final(display_id: str, bundle: dict[str, Any]) -> None:
    """Keep a final output for :func:`resend_recent_finals` to send again."""
    with _live_lock:
        _recent_finals.append((display_id, bundle))


def resend_recent_finals() -> None:
    """At the start of each cell: send again the final outputs sent since the last one.

    A job (or a sweep followed headless) that ends between two cells (the kernel idle
    for a few milliseconds) publishes its final output tagged with the cell that has
    just finished; nbclient
    ignores messages of a finished cell. Sent again under the cell starting now, the
    update reaches it too. Frontends apply the same update twice harmlessly.
    """
    with _live_lock:
        recent = list(_recent_finals)
        _recent_finals.clear()
    for display_id, bundle in recent:
        publish(bundle, display_id, update=True)


def live_outputs() -> list[JobOutput]:
    with _live_lock:
        return list(_live)


def stopped_note(job_id: str | None) -> str:
    """The line under a frozen output; the id is a quoted literal, so the call can be pasted."""
    if not job_id:
        return "The kernel stopped before this job was submitted."
    return (
        "The kernel stopped before this job ended; it goes on on the server. "
        f"odyssey_jupyter.Job.from_id({python_literal(job_id)}) follows it again."
    )


def freeze_all() -> int:
    """Freeze every live job output into its last state (kernel shutdown); how many were."""
    count = 0
    for output in live_outputs():
        try:
            count += output.freeze(stopped_note(output.job.job_id))
        except Exception:  # shutting down: one broken output must not stop the others
            continue
    return count


__all__ = [
    "WIDGET_MIME",
    "JobOutput",
    "MimeBundle",
    "freeze_all",
    "live_outputs",
    "publish",
    "remember_final",
    "resend_recent_finals",
    "stopped_note",
]
