"""What a sweep looks like: live while it runs, then a static final output in its place.

Live (widget frontends): counts per state, one progress bar of completed (and
failed) work, videos per minute, an ETA when one can be estimated, in flight /
limit (with the last 429 reason when the limit was lowered), the last failures,
and Pause / Resume / Cancel / Retry failed buttons, each enabled only when it can
act. Every part is drawn from one :class:`SweepSnapshot`, so the counts, the
tiles and the buttons never contradict each other. It is
shown with a display id; when the sweep ends the same output is replaced
(``update_display``) by static HTML (summary + gallery) and a real
``text/plain``, so a saved notebook shows the outcome with no kernel.
Without widgets a tqdm-like line is printed at most every few seconds.

Button handlers only hand work to the loop thread (the sweep's controls return
at once); updates come from the sweep's listener on the loop thread, throttled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.display.common.palette import ERROR, RULE, SUCCESS, WARNING
from odyssey_jupyter.display.common.relative_time import format_duration
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.text.markup import escape, printable

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.handle import Sweep
    from odyssey_jupyter.sweeps.plan import PlannedItem

LIVE_EVERY = 0.5
"""Shortest time between two updates of the live display (seconds)."""
TEXT_EVERY = 5.0
"""Shortest time between two printed progress lines."""
BAR_WIDTH = 24
SHOWN_FAILURES = 3

_STATE_COLOURS = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "queued": "#6a1b9a",
    "submitting": "#6a1b9a",
    "pending": "#757575",
    "cancelled": "#9e9e9e",
    "unknown": "#ef6c00",
}


@dataclass(frozen=True)
class SweepSnapshot:
    """One look at a sweep: header, counts, bar, tiles and buttons are all drawn from it.

    The counts are made from the very items the tiles show, so the two cannot
    disagree; the ETA is there only while items are left and it can be estimated.
    """

    name: str
    state: str
    finished: bool
    items: tuple[Any, ...]
    counts: dict[str, int]
    in_flight: int
    target: int
    limit: int
    rate: float | None
    eta: float | None
    message: str | None
    limit_reason: str | None
    budget: str | None
    """Video seconds used against the budget (``42/60 s of video``), when there is one."""
    dataset: str | None
    """Where the dataset goes and what the players play (``output=``), when it has one."""

    @classmethod
    def of(cls, sweep: Sweep | SweepSnapshot) -> SweepSnapshot:
        if isinstance(sweep, SweepSnapshot):
            return sweep
        items = tuple(sweep.items)
        counts = dict.fromkeys(sweep.counts, 0)
        for item in items:
            counts[item.status] = counts.get(item.status, 0) + 1
        counts["total"] = len(items)
        left = sum(counts.get(state, 0) for state in _LEFT)
        eta = sweep.eta_seconds() if sweep.state == "running" and left else None
        over = sweep.state in ("done", "cancelled")
        return cls(
            name=sweep.name,
            state=sweep.state,
            finished=sweep.finished,
            items=items,
            counts=counts,
            in_flight=sweep.in_flight(),
            target=int(sweep.target),
            limit=int(sweep.limit),
            rate=sweep.videos_per_minute(),
            eta=eta if eta is not None and eta >= 1.0 else None,
            message=None if over else sweep.message,
            limit_reason=sweep.last_limit_reason if sweep.target < sweep.limit else None,
            budget=sweep.budget_text(),
            dataset=sweep.output_text(),
        )

    @property
    def completed(self) -> int:
        return self.counts.get("completed", 0)

    @property
    def total(self) -> int:
        return self.counts["total"]

    def can(self, action: str) -> bool:
        """Whether a button would act now (disabled otherwise)."""
        if action == "pause":
            return self.state == "running" and not self.finished
        if action == "resume":
            return self.state == "paused"
        if action == "cancel":
            return self.state in ("running", "paused") and not self.finished
        if action == "retry":
            return self.state != "cancelled" and self.counts.get("failed", 0) > 0
        raise ValueError(f"no sweep action {action!r}")


_LEFT = ("pending", "submitting", "queued", "running", "unknown")
"""Item states with work still to come."""


def status_line(sweep: Sweep | SweepSnapshot) -> str:
    """``NAME |██████░░░░| 12/40 completed · 2 failed · 5/10 in flight · 3.1 videos/min``."""
    snap = SweepSnapshot.of(sweep)
    filled = int(BAR_WIDTH * snap.completed / snap.total) if snap.total else 0
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    parts = [f"{snap.name} |{bar}| {snap.completed}/{snap.total} completed"]
    for state in ("failed", "unknown", "cancelled"):
        if snap.counts.get(state):
            parts.append(f"{snap.counts[state]} {state}")
    parts.append(f"{snap.in_flight}/{snap.target} in flight")
    if snap.rate is not None:
        parts.append(f"{snap.rate:.1f} videos/min")
    if snap.eta is not None:
        parts.append(f"ETA {format_duration(snap.eta)}")
    if snap.budget is not None:
        parts.append(snap.budget)
    if snap.state != "running":
        parts.append(snap.state)
    return printable(" · ".join(parts))


def _bar_html(snap: SweepSnapshot) -> str:
    """Completed work in green, failed in red; what was cancelled or is left stays empty."""
    segments = []
    for state, colour in (("completed", SUCCESS), ("failed", ERROR)):
        share = 100.0 * snap.counts.get(state, 0) / snap.total if snap.total else 0.0
        if share:
            segments.append(
                f'<div class="odyssey-sweep-{state}" style="background:{colour};height:8px;'
                f'width:{share:.1f}%"></div>'
            )
    return (
        f'<div class="odyssey-sweep-bar" style="display:flex;background:{RULE};height:8px;'
        'border-radius:4px;overflow:hidden;margin:4px 0;max-width:480px">'
        f"{''.join(segments)}</div>"
    )


def status_html(sweep: Sweep | SweepSnapshot) -> str:
    """The live panel (escaped throughout)."""
    snap = SweepSnapshot.of(sweep)
    chips = []
    for state, colour in _STATE_COLOURS.items():
        if snap.counts.get(state):
            chips.append(
                f'<span class="odyssey-sweep-count" data-state="{state}" '
                f'style="color:{colour};margin-right:10px">{snap.counts[state]} {state}</span>'
            )
    facts = [
        f"in flight {snap.in_flight} / {snap.target} (limit {snap.limit})",
        f"{snap.rate:.1f} videos/min" if snap.rate is not None else "videos/min: —",
        f"ETA {format_duration(snap.eta)}" if snap.eta is not None else "",
        snap.budget or "",
    ]
    lines = [
        f"<b>sweep {escape(snap.name)}</b> — {escape(snap.state)} — "
        f"{snap.completed}/{snap.total} completed",
        _bar_html(snap),
        "<div>" + "".join(chips) + "</div>",
        "<div>" + escape(" · ".join(f for f in facts if f)) + "</div>",
    ]
    if snap.limit_reason:
        lines.append("<div>limit lowered after a 429: " + escape(snap.limit_reason) + "</div>")
    if snap.dataset:
        lines.append(f"<div>{escape(snap.dataset)}</div>")
    if snap.message:
        lines.append(f'<div style="color:{WARNING}">{escape(snap.message)}</div>')
    failures = [item for item in snap.items if item.status in ("failed", "unknown")]
    for item in failures[-SHOWN_FAILURES:]:
        lines.append(
            f'<div style="color:{ERROR}">item {item.index}: '
            f"{escape(str(item.error or item.status))}</div>"
        )
    return '<div class="odyssey-sweep">' + "".join(lines) + "</div>"


class SweepFinal:
    """The static output that replaces the live display: summary, failures, gallery."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep

    def _repr_html_(self) -> str:
        snap = SweepSnapshot.of(self.sweep)
        return status_html(snap) + gallery_html(snap.items)

    def __repr__(self) -> str:
        snap = SweepSnapshot.of(self.sweep)
        lines = [status_line(snap)]
        for item in snap.items:
            if item.status in ("failed", "unknown"):
                lines.append(f"  item {item.index}: {item.status}: {item.error}")
        return printable("\n".join(lines))


class _Throttle:
    """Calls ``fn`` at most every ``every`` seconds; a call it holds back comes later.

    The last change before a quiet spell is never lost: a held-back call is made
    when the interval is over (on a timer thread), so what is shown catches up.
    """

    def __init__(self, every: float, fn: Callable[[], None]) -> None:
        self.every = every
        self.fn = fn
        self._last = 0.0
        self._lock = threading.Lock()
        self._running = threading.Lock()
        self._timer: threading.Timer | None = None

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            wait = self.every - (now - self._last)
            if not force and wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._later)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._last = now
        self._call()

    def _later(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._call()

    def _call(self) -> None:
        with self._running:  # one drawing at a time
            self.fn()


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
        self._ended = False
        self._lock = threading.Lock()
        self._show(snap)
        self.handle = display(self.box, display_id=True)  # type: ignore[no-untyped-call]
        self._refresh = _Throttle(LIVE_EVERY, self._draw)
        self._unsubscribe = sweep.add_listener(lambda s: self._refresh(force=s.finished))
        self._refresh(force=True)

    def _draw(self) -> None:
        snap = SweepSnapshot.of(self.sweep)
        if snap.finished:
            self._end()
            return
        with self.box.hold_sync():
            self._show(snap)

    def _show(self, snap: SweepSnapshot) -> None:
        """Header, counts, bar, buttons and tiles, all from the one snapshot."""
        self.status.value = status_html(snap)
        for action, button in self.buttons.items():
            button.disabled = not snap.can(action)
        tiles = tuple((item.index, item.status, len(item.recordings)) for item in snap.items)
        if tiles != self._tiles:
            self._tiles = tiles
            self.gallery.value = gallery_html(snap.items)

    def _end(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        self._unsubscribe()
        if self.handle is not None:
            self.handle.update(SweepFinal(self.sweep))
        self.box.close()


class SweepText:
    """A tqdm-like line at most every few seconds, then the final summary."""

    def __init__(self, sweep: Sweep, write: Callable[[str], None] | None = None) -> None:
        self.sweep = sweep
        self._write = write or (lambda text: print(text, flush=True))
        self._ended = False
        self._refresh = _Throttle(TEXT_EVERY, self._draw)
        self._unsubscribe = sweep.add_listener(lambda s: self._refresh(force=s.finished))
        self._refresh(force=True)

    def _draw(self) -> None:
        if self._ended:
            return
        if self.sweep.finished:
            self._ended = True
            self._unsubscribe()
            self._write(repr(SweepFinal(self.sweep)))
            return
        self._write(status_line(self.sweep))


def show_sweep(sweep: Sweep) -> SweepLive | SweepText:
    """The live display for ``sweep``: widgets where they render, text lines otherwise.

    :param sweep: the sweep to follow.
    :returns: the live view (widgets), or its text form where widgets do not render;
        it is displayed already.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.Sweep.open("rainy_animals")
        oj.show_sweep(s)
    """
    from odyssey_jupyter.display.common.frontend import detect_frontend

    if detect_frontend() == "widget":
        return SweepLive(sweep)
    return SweepText(sweep)


class SweepPlan:
    """``--dry-run --sweep``: items, jobs, seconds of video, and the first items' scripts."""

    def __init__(
        self, name: str, items: Sequence[PlannedItem], *, pack: int = 1, first: int = 3
    ) -> None:
        self.name = name
        self.items = list(items)
        self.pack = pack
        self.first = first

    @property
    def jobs(self) -> int:
        return -(-len(self.items) // max(1, self.pack))

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    def _head(self) -> str:
        from odyssey_jupyter.session.config import get_config
        from odyssey_jupyter.sweeps.budget import cost_text

        cost = cost_text(self.seconds, get_config().price_per_video_second)
        return (
            f"sweep {self.name}: {len(self.items)} items, {self.jobs} jobs, "
            f"{self.seconds:g} s of video{', ' + cost if cost else ''} (nothing sent)"
        )

    def _scripts(self) -> list[tuple[str, str]]:
        from odyssey_jupyter.script.timeline_format import format_timeline
        from odyssey_jupyter.sweeps.plan import describe_params

        return [
            (f"item {item.index} ({describe_params(item.params)})", format_timeline([item.script]))
            for item in self.items[: self.first]
        ]

    def __repr__(self) -> str:
        lines = [self._head()]
        for title, text in self._scripts():
            lines.append(title)
            lines.extend("    " + row for row in text.splitlines())
        return printable("\n".join(lines))

    def _repr_html_(self) -> str:
        parts = [f"<div><b>{escape(self._head())}</b></div>"]
        for title, text in self._scripts():
            parts.append(
                f'<div>{escape(title)}</div><pre style="margin:2px 0 6px 1em">{escape(text)}</pre>'
            )
        return '<div class="odyssey-sweep-plan">' + "".join(parts) + "</div>"


def plan_summary(items: Sequence[PlannedItem], pack: int) -> dict[str, Any]:
    """Counts a dry run reports, for callers that want numbers (the CLI)."""
    plan = SweepPlan("", items, pack=pack)
    return {"items": len(plan.items), "jobs": plan.jobs, "seconds": plan.seconds}
