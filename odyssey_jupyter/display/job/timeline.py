"""The dry-run picture of a script: one lane per stream, prompts placed at their times.

An inline SVG (no JavaScript, so it survives HTML exports; JupyterLab's sanitiser
drops it from an untrusted notebook, where the header and the text form remain)
followed by the script's timeline text form, folded; ``text/plain`` is the header
and the text form. A start image is drawn as a small thumbnail on its start when
Pillow can read it, otherwise as a labelled placeholder. Prompts wrap into the room
they have and show in full on hover; colours are the theme's, with fallbacks.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_jupyter.display.common.labels import stream_name
from odyssey_jupyter.display.common.palette import (
    ACCENT,
    BODY_TEXT,
    BORDER,
    ERROR,
    MUTED_TEXT,
    PANEL,
    RAISED,
    RULE,
    SUCCESS,
    UI_FONT,
    svg_paint,
)
from odyssey_jupyter.display.common.relative_time import format_duration
from odyssey_jupyter.script.rules import Cue, Script, StreamPlan, plan_streams
from odyssey_jupyter.script.timeline_format import describe_image, format_timeline
from odyssey_jupyter.text.markup import escape, printable, safe_url

WIDTH = 760
LEFT = 150
RIGHT = 20
TOP = 16
AXIS_HEIGHT = 26
THUMB = 36
CHAR_PX = 6.4
MAX_LANES = 100
"""Streams drawn at most: a batch may hold thousands, and the picture must stay small."""
NOTE_HEIGHT = 18
LINE_PX = 13
"""Line height of a wrapped prompt."""
MAX_LINES = 3
"""Lines a prompt wraps to at most; the rest is in its hover text (``<title>``)."""


def _thumbnail(image: Any) -> tuple[str, int, int] | None:
    """(JPEG data URL, width, height) of a small copy of a start image, or ``None``."""
    try:
        from PIL import Image
    except ImportError:
        return None
    picture: Any
    try:
        if isinstance(image, (str, Path)) and str(image).startswith("data:image/"):
            payload = str(image).split(",", 1)[1]
            picture = Image.open(io.BytesIO(base64.b64decode(payload)))
        elif isinstance(image, (str, Path)):
            picture = Image.open(Path(image).expanduser())
        elif isinstance(image, (bytes, bytearray, memoryview)):
            picture = Image.open(io.BytesIO(bytes(image)))
        elif hasattr(image, "__array_interface__") and not hasattr(image, "thumbnail"):
            picture = Image.fromarray(image)
        else:
            picture = image
        picture = picture.convert("RGB")
        picture.thumbnail((THUMB * 4, THUMB * 2))
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=70)
        width = max(1, round(THUMB * picture.width / max(picture.height, 1)))
    except Exception:  # any unreadable image just gets a placeholder
        return None
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return url, width, THUMB


_STEPS: tuple[int, ...] = (250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000)
_STEPS += (120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000)
"""Tick steps (ms): round seconds, minutes and hours."""


def _nice_step(total_ms: int) -> int:
    """A tick step giving at most ten ticks for any length, so drawing time is bounded."""
    for step in _STEPS:
        if total_ms <= step * 10:
            return step
    return -(-total_ms // (10 * _STEPS[-1])) * _STEPS[-1]


def _fmt_tick(ms: int) -> str:
    if ms >= 3_600_000:
        hours, rest = divmod(ms // 1000, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    seconds = ms / 1000
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class _Scale:
    """Milliseconds to x: the longest stream's end meets the right edge."""

    total_ms: int

    def x(self, ms: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * ms / self.total_ms


@dataclass(frozen=True, slots=True)
class _CueLabel:
    """A prompt's dot and its text, wrapped to the room before the next label in its row."""

    cue: Cue
    x: float
    text_x: float
    below: bool
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Lane:
    """One stream's row: where its bar sits and what is drawn around it."""

    name: str
    plan: StreamPlan
    thumb: tuple[str, int, int] | None
    labels: tuple[_CueLabel, ...]
    mid: float
    height: float


def _lane_names(scripts: Sequence[Script]) -> list[tuple[str, StreamPlan]]:
    """Every stream with its 1-based name ("stream 2", "script 3 · stream 1")."""
    found = []
    for index, script in enumerate(scripts):
        plans = plan_streams(script, script_index=index)
        for number, plan in enumerate(plans):
            name = stream_name(index, number, batch=len(scripts) > 1, several=len(plans) > 1)
            found.append((name, plan))
    return found


def _wrap(prompt: str, room_px: float) -> tuple[str, ...]:
    """``prompt`` in lines that fit ``room_px``; at most three, the last one ending in "…"."""
    width = max(int(room_px / CHAR_PX), 4)
    most = MAX_LINES if width >= 12 else 1  # a narrow slot gets one line, not a tower
    lines = textwrap.wrap(prompt, width=width, max_lines=most, placeholder="…")
    return tuple(lines) or ("",)


def _cue_labels(plan: StreamPlan, scale: _Scale, image_right: float) -> tuple[_CueLabel, ...]:
    """Labels alternate above and below the bar; a start image takes the space above the
    start, so that stream's labels begin below and the upper row starts after the image."""
    first_row = 1 if plan.image is not None else 0
    labels = []
    cues = plan.cues
    for number, cue in enumerate(cues):
        x = scale.x(cue.timestamp_ms)
        below = (number + first_row) % 2 == 1
        text_x = x + 4 if below else max(x + 4, image_right)
        # room until the next label in the same row (two cues later) or the edge
        limit = scale.x(cues[number + 2].timestamp_ms) if number + 2 < len(cues) else WIDTH
        room = max(limit - text_x - 8, CHAR_PX * 4)
        labels.append(_CueLabel(cue, x, text_x, below, _wrap(cue.prompt, room)))
    return tuple(labels)


def _layout_lane(name: str, plan: StreamPlan, scale: _Scale, top: float) -> _Lane:
    """The lane's labels and height: as tall as its longest wrapped label needs."""
    thumb = _thumbnail(plan.image) if plan.image is not None else None
    x0 = scale.x(plan.start_ms)
    image_right = x0 + (thumb[1] if thumb else THUMB) + 4 if plan.image is not None else x0
    labels = _cue_labels(plan, scale, image_right)
    above = max((len(label.lines) for label in labels if not label.below), default=0)
    below = max((len(label.lines) for label in labels if label.below), default=0)
    above_px = max(24 + (above - 1) * LINE_PX if above else 12, THUMB + 10 if plan.image else 0)
    below_px = 30 + (below - 1) * LINE_PX if below else 14
    return _Lane(name, plan, thumb, labels, top + above_px, above_px + below_px)


def _draw_axis(scale: _Scale, axis_y: float) -> str:
    parts = []
    for tick in range(0, scale.total_ms + 1, _nice_step(scale.total_ms)):
        x = scale.x(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{axis_y}" '
            f"{svg_paint(stroke=RULE)}/>"
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" '
            f"{svg_paint(fill=MUTED_TEXT)}>{_fmt_tick(tick)}</text>"
        )
    return "".join(parts)


def _draw_image(lane: _Lane, x0: float) -> str:
    """The start image's thumbnail above the start, or a labelled placeholder."""
    y = lane.mid - 8 - THUMB
    if lane.thumb is not None:
        url, width, height = lane.thumb
        return (
            f'<image class="odyssey-timeline-image" x="{x0:.1f}" y="{y:.1f}" '
            f'width="{width}" height="{height}" href="{safe_url(url)}" '
            'preserveAspectRatio="xMidYMid meet"/>'
        )
    return (
        f'<rect class="odyssey-timeline-image" x="{x0:.1f}" y="{y:.1f}" '
        f'width="{THUMB}" height="{THUMB}" {svg_paint(fill=RAISED, stroke=BORDER)}/>'
        f'<text x="{x0 + THUMB / 2:.1f}" y="{y + THUMB / 2 + 4:.1f}" '
        f'text-anchor="middle" {svg_paint(fill=MUTED_TEXT)}>image</text>'
    )


def _draw_cue(label: _CueLabel, mid: float) -> str:
    """The dot, the wrapped text, and the whole prompt as the hover text."""
    cue, step = label.cue, LINE_PX
    first_y = mid + 22 if label.below else mid - 12 - (len(label.lines) - 1) * step
    colour = SUCCESS if cue.action == "start" else ACCENT
    lines = "".join(
        f'<tspan x="{label.text_x:.1f}" dy="{0 if n == 0 else step}">{escape(line)}</tspan>'
        for n, line in enumerate(label.lines)
    )
    return (
        f'<g class="odyssey-cue"><title>{cue.timestamp_ms / 1000:g}s {escape(cue.action)}: '
        f"{escape(cue.prompt)}</title>"
        f'<circle cx="{label.x:.1f}" cy="{mid:.1f}" r="5" {svg_paint(fill=colour)}/>'
        # a halo of the background colour keeps the text readable across grid lines
        f'<text x="{label.text_x:.1f}" y="{first_y:.1f}" stroke-width="3" paint-order="stroke" '
        f"{svg_paint(fill=BODY_TEXT, stroke=PANEL)}>"
        f"{lines}</text></g>"
    )


def _draw_lane(lane: _Lane, scale: _Scale) -> str:
    plan, mid = lane.plan, lane.mid
    x0, x1 = scale.x(plan.start_ms), scale.x(plan.end_ms)
    parts = [
        f'<text x="8" y="{mid + 4:.1f}" {svg_paint(fill=BODY_TEXT)} font-weight="600">'
        f"{escape(lane.name)}</text>"
        f'<rect x="{x0:.1f}" y="{mid - 6:.1f}" width="{max(x1 - x0, 2):.1f}" height="12" '
        f'rx="6" fill-opacity="0.3" {svg_paint(fill=ACCENT, stroke=ACCENT)}>'
        f"<title>{escape(lane.name)}: {plan.start_ms / 1000:g}s to {plan.end_ms / 1000:g}s"
        "</title></rect>"
        f'<line x1="{x1:.1f}" y1="{mid - 10:.1f}" x2="{x1:.1f}" y2="{mid + 10:.1f}" '
        f'stroke-width="2" {svg_paint(stroke=ERROR)}><title>end</title></line>'
    ]
    if plan.image is not None:
        parts.append(_draw_image(lane, x0))
    parts += [_draw_cue(label, mid) for label in lane.labels]
    return "".join(parts)


def timeline_svg(scripts: Sequence[Script]) -> str:
    """An SVG timeline of validated script(s): one lane per stream, in the theme's colours."""
    named = _lane_names(scripts)
    hidden = max(0, len(named) - MAX_LANES)
    named = named[:MAX_LANES]
    scale = _Scale(max((plan.end_ms for _, plan in named), default=1000) or 1000)
    lanes: list[_Lane] = []
    top: float = TOP
    for name, plan in named:
        lanes.append(_layout_lane(name, plan, scale, top))
        top += lanes[-1].height
    axis_y = top + 4
    height = round(axis_y + AXIS_HEIGHT + (NOTE_HEIGHT if hidden else 0))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="odyssey-timeline" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" '
        f'font-size="11" style="max-width:100%;height:auto;font-family:{UI_FONT}">',
        f'<rect class="odyssey-timeline-background" x="0.5" y="0.5" width="{WIDTH - 1}" '
        f'height="{height - 1}" rx="3" {svg_paint(fill=PANEL, stroke=RULE)}/>',
        _draw_axis(scale, axis_y),
        *(_draw_lane(lane, scale) for lane in lanes),
    ]
    if hidden:
        out.append(
            f'<text class="odyssey-timeline-more" x="8" y="{height - 8}" '
            f"{svg_paint(fill=MUTED_TEXT)}>"
            f"… and {hidden} more stream{'s' if hidden != 1 else ''} (not drawn)</text>"
        )
    out.append("</svg>")
    return "".join(out)


class ScriptTimeline:
    """What ``--dry-run`` shows: the picture plus the text form; nothing is sent."""

    def __init__(self, scripts: Sequence[Script], *, portrait: bool = True) -> None:
        self.scripts = [list(s) for s in scripts]
        self.portrait = portrait

    def _header(self) -> str:
        """Scripts, streams, how much video that makes in all, and the frame shape."""
        per_script = [plan_streams(s, script_index=i) for i, s in enumerate(self.scripts)]
        streams = sum(len(plans) for plans in per_script)
        lengths = [sum(plan.duration_ms for plan in plans) / 1000 for plans in per_script]
        batch = f"{len(self.scripts)} scripts, " if len(self.scripts) > 1 else ""
        total = f"{format_duration(sum(lengths))} of video"
        if len(self.scripts) > 1:
            total += f" (longest script {format_duration(max(lengths))})"
        shape = "portrait 704x1280" if self.portrait else "landscape 1280x704"
        plural = "s" if streams != 1 else ""
        return f"Dry run (nothing sent): {batch}{streams} stream{plural}, {total}, {shape}"

    def text(self) -> str:
        return format_timeline(self.scripts)

    def __repr__(self) -> str:
        return printable(f"{self._header()}\n{self.text()}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _fold_title(self) -> str:
        entries = sum(len(script) for script in self.scripts)
        return f"The script as text ({entries} entr{'ies' if entries != 1 else 'y'})"

    def _repr_html_(self) -> str:
        """The header, the picture, and the text form folded (it is also the text/plain)."""
        text = self.text()
        return (
            f'<div class="odyssey-dry-run" style="color:{BODY_TEXT}">'
            f"<div><b>{escape(self._header())}</b></div>"
            f"{timeline_svg(self.scripts)}"
            '<details class="odyssey-script-text-fold" style="margin-top:4px">'
            f'<summary style="cursor:pointer;color:{MUTED_TEXT}">{escape(self._fold_title())}'
            "</summary>"
            f'<pre class="odyssey-script-text">{escape(text)}</pre></details>'
            "</div>"
        )


__all__ = ["ScriptTimeline", "describe_image", "timeline_svg"]
