"""What a sweep looks like: live while it runs, then a static final output in its place.

Live (widget frontends): counts per state, one progress bar, videos per minute,
an ETA, in flight / limit (with the last 429 reason when the limit was lowered),
the last failures, and Pause / Resume / Cancel / Retry failed buttons. It is
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
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.display.gallery import gallery_html
from odyssey_jupyter.display.markup import escape, printable

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.plan import PlannedItem
    from odyssey_jupyter.sweeps.sweep import Sweep

LIVE_EVERY = 0.5
"""Shortest time between two updates of the live display (seconds)."""
GALLERY_EVERY = 5.0
"""Shortest time between two rebuilds of the live gallery (it grows with the sweep)."""
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


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _done_share(counts: dict[str, int]) -> tuple[int, int]:
    done = counts["completed"] + counts["failed"] + counts["cancelled"]
    return done, counts["total"]


def status_line(sweep: Sweep) -> str:
    """``NAME |██████░░░░| 12/40 · 2 failed · 5/10 in flight · 3.1 videos/min · ETA 1m20s``."""
    counts = sweep.counts
    done, total = _done_share(counts)
    filled = int(BAR_WIDTH * done / total) if total else 0
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    parts = [f"{sweep.name} |{bar}| {done}/{total}"]
    for state in ("failed", "unknown", "cancelled"):
        if counts[state]:
            parts.append(f"{counts[state]} {state}")
    parts.append(f"{sweep.in_flight()}/{int(sweep.target)} in flight")
    rate = sweep.videos_per_minute()
    if rate is not None:
        parts.append(f"{rate:.1f} videos/min")
    eta = sweep.eta_seconds()
    if eta is not None and sweep.state == "running":
        parts.append(f"ETA {_clock(eta)}")
    if sweep.budget_text() is not None:
        parts.append(str(sweep.budget_text()))
    if sweep.state != "running":
        parts.append(sweep.state)
    return printable(" · ".join(parts))


def status_html(sweep: Sweep) -> str:
    """The live panel (escaped throughout)."""
    counts = sweep.counts
    done, total = _done_share(counts)
    share = 100.0 * done / total if total else 0.0
    chips = []
    for state, colour in _STATE_COLOURS.items():
        if counts.get(state):
            chips.append(
                f'<span style="color:{colour};margin-right:10px">{counts[state]} {state}</span>'
            )
    rate = sweep.videos_per_minute()
    eta = sweep.eta_seconds()
    facts = [
        f"in flight {sweep.in_flight()} / {int(sweep.target)} (limit {sweep.limit})",
        f"{rate:.1f} videos/min" if rate is not None else "videos/min: —",
        f"ETA {_clock(eta)}" if eta is not None and sweep.state == "running" else "",
        sweep.budget_text() or "",
    ]
    lines = [
        f"<b>sweep {escape(sweep.name)}</b> — {escape(sweep.state)} — {done}/{total}",
        '<div style="background:#e0e0e0;height:8px;border-radius:4px;margin:4px 0;max-width:480px">'
        f'<div style="background:#2e7d32;height:8px;border-radius:4px;width:{share:.1f}%"></div>'
        "</div>",
        "<div>" + "".join(chips) + "</div>",
        "<div>" + escape(" · ".join(f for f in facts if f)) + "</div>",
    ]
    if sweep.last_limit_reason and sweep.target < sweep.limit:
        lines.append(
            "<div>limit lowered after a 429: " + escape(sweep.last_limit_reason) + "</div>"
        )
    if sweep.output_text():
        lines.append(f"<div>{escape(str(sweep.output_text()))}</div>")
    if sweep.message:
        lines.append(f'<div style="color:#ef6c00">{escape(sweep.message)}</div>')
    failures = [item for item in sweep.items if item.status in ("failed", "unknown")]
    for item in failures[-SHOWN_FAILURES:]:
        lines.append(
            f'<div style="color:#c62828">item {item.index}: '
            f"{escape(str(item.error or item.status))}</div>"
        )
    return '<div class="odyssey-sweep">' + "".join(lines) + "</div>"


class SweepFinal:
    """The static output that replaces the live display: summary, failures, gallery."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep

    def _repr_html_(self) -> str:
        return status_html(self.sweep) + gallery_html(self.sweep.items)

    def __repr__(self) -> str:
        lines = [status_line(self.sweep)]
        for item in self.sweep.items:
            if item.status in ("failed", "unknown"):
                lines.append(f"  item {item.index}: {item.status}: {item.error}")
        return printable("\n".join(lines))


class _Throttle:
    """Calls ``fn`` at most every ``every`` seconds, and once more at the end."""

    def __init__(self, every: float, fn: Callable[[], None]) -> None:
        self.every = every
        self.fn = fn
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.every:
                return
            self._last = now
        self.fn()


class SweepLive:
    """The live widget panel; replaced in place by :class:`SweepFinal` when the sweep ends."""

    def __init__(self, sweep: Sweep) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.sweep = sweep
        self.status = widgets.HTML(status_html(sweep))
        self.gallery = widgets.HTML("")
        buttons = []
        for label, action in (
            ("Pause", sweep.pause),
            ("Resume", sweep.resume),
            ("Cancel", sweep.cancel),
            ("Retry failed", sweep.retry_failed),
        ):
            button = widgets.Button(description=label, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _b, act=action: act())
            buttons.append(button)
        self.buttons = buttons
        self.box = widgets.VBox([self.status, widgets.HBox(buttons), self.gallery])
        self._shown_done = -1
        self._gallery_at = 0.0
        self._ended = False
        self._lock = threading.Lock()
        self.handle = display(self.box, display_id=True)  # type: ignore[no-untyped-call]
        self._refresh = _Throttle(LIVE_EVERY, self._draw)
        self._unsubscribe = sweep.add_listener(lambda s: self._refresh(force=s.finished))
        self._refresh(force=True)

    def _draw(self) -> None:
        sweep = self.sweep
        if sweep.finished:
            self._end()
            return
        self.status.value = status_html(sweep)
        done = sweep.counts["completed"]
        now = time.monotonic()
        if done != self._shown_done and now - self._gallery_at >= GALLERY_EVERY:
            self._shown_done, self._gallery_at = done, now
            self.gallery.value = gallery_html(sweep.items)

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
    """The live display for ``sweep``: widgets where they render, text lines otherwise."""
    from odyssey_jupyter.display.frontend import detect_frontend

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
        from odyssey_jupyter.config import get_config
        from odyssey_jupyter.sweeps.budget import cost_text

        cost = cost_text(self.seconds, get_config().price_per_video_second)
        return (
            f"sweep {self.name}: {len(self.items)} items, {self.jobs} jobs, "
            f"{self.seconds:g} s of video{', ' + cost if cost else ''} (nothing sent)"
        )

    def _scripts(self) -> list[tuple[str, str]]:
        from odyssey_jupyter.script_text import format_timeline
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
