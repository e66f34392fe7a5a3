"""Following a sweep as it runs: a widget panel where widgets are seen, text lines elsewhere.

Live (widget frontends): counts per state, one progress bar of completed (and
failed) work, videos per minute, an ETA when one can be estimated, in flight /
limit (with the last 429 reason when the limit was lowered), the last failures,
and Pause / Resume / Cancel / Retry failed buttons, each enabled only when it can
act. It is shown with a display id; when the sweep ends the same output is
replaced by :class:`~.summary.SweepFinal`; a kernel that stops first replaces it
by the dated state it reached (:func:`freeze_all`). A kernel run headless (nobody sees a
widget there) shows that static output from the start, kept current. Without
widgets a tqdm-like line is printed at most every few seconds.

Button handlers only hand work to the loop thread (the sweep's controls return
at once); updates come from the sweep's listener on the loop thread, throttled.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.display.common.frontend import detect_frontend, watched
from odyssey_jupyter.display.common.live_marker import marked_live
from odyssey_jupyter.display.live.final_output import publish, remember_final
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.display.sweep.snapshot import SweepSnapshot
from odyssey_jupyter.display.sweep.summary import (
    SweepFinal,
    saved_bundle,
    status_html,
    status_line,
)
from odyssey_jupyter.display.sweep.throttle import Throttle
from odyssey_jupyter.session import at_exit

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.handle import Sweep

LIVE_EVERY = 0.5
"""Shortest time between two updates of the live display (seconds)."""
TEXT_EVERY = 5.0
"""Shortest time between two printed progress lines."""
SAVED_EVERY = 2.0
"""Shortest time between two updates of the static output of a headless run (seconds)."""


class SweepLive:
    """The live widget panel; replaced in place by :class:`SweepFinal` when the sweep ends."""

    def __init__(self, sweep: Sweep) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.sweep = sweep
        snap = SweepSnapshot.of(sweep)
        self.status = widgets.HTML(status_html(snap))
        self.gallery = widgets.HTML("")
        self.buttons: dict[str, Any] = {}
        for label, action, call in (
            ("Pause", "pause", sweep.pause),
            ("Resume", "resume", sweep.resume),
            ("Cancel", "cancel", sweep.cancel),
            ("Retry failed", "retry", sweep.retry_failed),
        ):
            button = widgets.Button(description=label, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _b, act=call: act())
            self.buttons[action] = button
        self.box = widgets.VBox(
            [self.status, widgets.HBox(list(self.buttons.values())), self.gallery]
        )
        self._tiles: tuple[Any, ...] | None = None
        self._show(snap)
        # The widget, and for a notebook reopened without its kernel the dated state
        # as it was shown (the live mark lets the extension draw that instead).
        bundle = dict(self.box._repr_mimebundle_() or {})
        bundle.update(saved_bundle(snap, _now()))
        self.handle = display(marked_live(bundle), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        with _live_lock:
            _live.add(self)
        self.following = Following(sweep, LIVE_EVERY, self._draw)
        at_exit.on_exit(_freeze_at_exit)

    def _draw(self, finished: bool) -> None:
        if finished:
            if self._forget() and self.handle is not None:
                self.handle.update(SweepFinal(self.sweep))
            self.box.close()
            return
        with self.box.hold_sync():
            self._show(SweepSnapshot.of(self.sweep))

    def freeze(self) -> bool:
        """The kernel is stopping: the panel gives way to the sweep's dated state (once)."""
        if not self._forget():
            return False
        self.following.stop()
        if self.handle is not None:
            publish(saved_bundle(self.sweep, _now()), self.handle.display_id, update=True)
        self.box.close()
        return True

    def _forget(self) -> bool:
        """Take the panel off the live ones; ``False`` when it was off already."""
        with _live_lock:
            if self not in _live:
                return False
            _live.discard(self)
            return True

    def _show(self, snap: SweepSnapshot) -> None:
        """Header, counts, bar, buttons and tiles, all from the one snapshot."""
        self.status.value = status_html(snap)
        for action, button in self.buttons.items():
            button.disabled = not snap.can(action)
        tiles = tuple((item.index, item.status, len(item.recordings)) for item in snap.items)
        if tiles != self._tiles:
            self._tiles = tiles
            self.gallery.value = gallery_html(snap.items)


class Following:
    """Draws a sweep at most every ``every`` seconds, and a last time when it finishes.

    ``draw`` is told whether the sweep has finished; after that it is not called again.
    """

    def __init__(self, sweep: Sweep, every: float, draw: Callable[[bool], None]) -> None:
        self.sweep = sweep
        self.draw = draw
        self.ended = False
        self._refresh = Throttle(every, self._drawn)
        self._unsubscribe = sweep.add_listener(lambda s: self._refresh(force=s.finished))
        self._refresh(force=True)

    def stop(self) -> None:
        """Draw no more (the output was replaced by other means)."""
        if not self.ended:
            self.ended = True
            self._unsubscribe()

    def redraw(self) -> None:
        """Draw now, whenever the last drawing was (nothing once the last one is done)."""
        self._refresh(force=True)

    def _drawn(self) -> None:
        if self.ended:
            return
        finished = self.sweep.finished
        if finished:
            self.ended = True
            self._unsubscribe()
        self.draw(finished)


class SweepText:
    """A tqdm-like line at most every few seconds, then the final summary."""

    def __init__(self, sweep: Sweep, write: Callable[[str], None] | None = None) -> None:
        self.sweep = sweep
        self.write = write or (lambda text: print(text, flush=True))
        self.following = Following(sweep, TEXT_EVERY, self._draw)

    def _draw(self, finished: bool) -> None:
        self.write(repr(SweepFinal(self.sweep)) if finished else status_line(self.sweep))


class SweepSaved:
    """Where nobody watches (a headless run): a static output kept current, then the final one.

    A widget view would be saved for nobody, and the stock nbconvert exporters draw
    it as nothing; the panel and gallery as plain HTML are what the notebook keeps.
    """

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.display_id = f"odyssey-sweep-{uuid.uuid4().hex}"
        publish(saved_bundle(sweep, _now()), self.display_id, update=False)
        self.following = Following(sweep, SAVED_EVERY, self._draw)

    def _draw(self, finished: bool) -> None:
        bundle = saved_bundle(self.sweep, _now())
        if finished:  # it may end between two cells: the next one sends it again
            remember_final(self.display_id, bundle)
        publish(bundle, self.display_id, update=True)


_live: set[SweepLive] = set()
_live_lock = threading.Lock()


def freeze_all() -> int:
    """At exit: every live sweep panel keeps the sweep's dated state; how many did."""
    with _live_lock:
        shown = list(_live)
    count = 0
    for panel in shown:
        try:
            count += panel.freeze()
        except Exception:  # shutting down: one broken output must not stop the others
            continue
    return count


def _freeze_at_exit() -> None:
    freeze_all()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def show_sweep(sweep: Sweep) -> SweepLive | SweepSaved | SweepText:
    """The live display for ``sweep``: widgets where someone sees them, text lines otherwise.

    A kernel run headless (nbclient, papermill) gets static outputs, kept current.

    :param sweep: the sweep to follow.
    :returns: the live view (widgets), its static form in a headless run, or its text
        form where widgets do not render; it is displayed already.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.Sweep.open("rainy_animals")
        oj.show_sweep(s)
    """
    if watched():
        return SweepLive(sweep)
    if detect_frontend() == "widget":  # a kernel nobody watches
        return SweepSaved(sweep)
    return SweepText(sweep)
