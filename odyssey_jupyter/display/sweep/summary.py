"""A sweep as text and static HTML: the progress line, the panel, the final output.

Pure: no widget and no kernel, so a terminal and a saved notebook draw the same
counts. The final output replaces the live panel (``update_display``) when the
sweep ends, so a saved notebook shows the outcome with no kernel.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from odyssey_jupyter.display.common.palette import (
    ERROR,
    MUTED_TEXT,
    RULE,
    SUCCESS,
    WARNING,
    status_colour,
)
from odyssey_jupyter.display.common.relative_time import format_duration, full_time
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.display.sweep.snapshot import SweepSnapshot
from odyssey_jupyter.text.markup import escape, printable, python_literal

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.handle import Sweep

BAR_WIDTH = 24
SHOWN_FAILURES = 3

CHIP_ORDER = (
    "completed",
    "failed",
    "running",
    "queued",
    "submitting",
    "pending",
    "cancelled",
    "unknown",
)
"""The item states the panel counts, in this order, each in its status colour."""


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
    for state in CHIP_ORDER:
        if snap.counts.get(state):
            chips.append(
                f'<span class="odyssey-sweep-count" data-state="{state}" '
                f'style="color:{status_colour(state)};margin-right:10px">'
                f"{snap.counts[state]} {state}</span>"
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

    def __init__(self, sweep: Sweep | SweepSnapshot) -> None:
        self.sweep = sweep

    def bundle(self) -> dict[str, str]:
        """Its ``text/html`` and ``text/plain``, both from one look at the sweep."""
        shown = SweepFinal(SweepSnapshot.of(self.sweep))
        return {"text/html": shown._repr_html_(), "text/plain": repr(shown)}

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


def saved_bundle(sweep: Sweep | SweepSnapshot, when: datetime) -> dict[str, str]:
    """What a headless run keeps: the final output, dated while the sweep still runs.

    A notebook saved before its sweep ended would otherwise show "running" with
    nothing to say that this was one moment of it.
    """
    snap = SweepSnapshot.of(sweep)
    bundle = SweepFinal(snap).bundle()
    if snap.finished:
        return bundle
    note = (
        f"Snapshot of {full_time(when)}; the sweep may have moved on since. "
        f"odyssey_jupyter.Sweep.open({python_literal(snap.name)}) reattaches to it."
    )
    return {
        "text/html": bundle["text/html"]
        + f'<div class="odyssey-note" style="color:{MUTED_TEXT}">{escape(note)}</div>',
        "text/plain": printable(bundle["text/plain"] + "\n" + note),
    }
