"""The dry-run picture of a script: one lane per stream, prompts placed at their times.

An inline SVG (no JavaScript, so it survives untrusted notebooks and HTML
exports) followed by the script's timeline text form; ``text/plain`` is the text
form alone. A start image is drawn as a small thumbnail on its start when Pillow
can read it, otherwise as a labelled placeholder.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odyssey_jupyter.display.markup import escape, printable, safe_url
from odyssey_jupyter.script import Script, StreamPlan, plan_streams
from odyssey_jupyter.script_text import describe_image, format_timeline

WIDTH = 760
LEFT = 150
RIGHT = 20
LANE_HEIGHT = 76
TOP = 16
AXIS_HEIGHT = 26
THUMB = 36
CHAR_PX = 6.4
MAX_LANES = 100
"""Streams drawn at most: a batch may hold thousands, and the picture must stay small."""
NOTE_HEIGHT = 18


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


def timeline_svg(scripts: Sequence[Script]) -> str:
    """An SVG timeline of validated script(s): one lane per stream."""
    lanes: list[tuple[str, StreamPlan]] = []
    for index, script in enumerate(scripts):
        for number, plan in enumerate(plan_streams(script, script_index=index)):
            label = (
                f"stream {number + 1}"
                if len(scripts) == 1
                else (f"script {index} · stream {number + 1}")
            )
            lanes.append((label, plan))
    hidden = max(0, len(lanes) - MAX_LANES)
    lanes = lanes[:MAX_LANES]
    total = max((plan.end_ms for _, plan in lanes), default=1000) or 1000
    span = WIDTH - LEFT - RIGHT
    height = TOP + LANE_HEIGHT * len(lanes) + AXIS_HEIGHT + (NOTE_HEIGHT if hidden else 0)

    def x_of(ms: int) -> float:
        return LEFT + span * ms / total

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="odyssey-timeline" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" '
        'font-size="11">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fafafa"/>',
    ]
    step = _nice_step(total)
    axis_y = TOP + LANE_HEIGHT * len(lanes) + 4
    for tick in range(0, total + 1, step):
        x = x_of(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{axis_y}" stroke="#e0e0e0"/>'
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#757575">'
            f"{_fmt_tick(tick)}</text>"
        )
    for lane, (label, plan) in enumerate(lanes):
        top = TOP + lane * LANE_HEIGHT
        mid = top + 46
        x0, x1 = x_of(plan.start_ms), x_of(plan.end_ms)
        out.append(
            f'<text x="8" y="{mid + 4:.1f}" fill="#424242" font-weight="600">'
            f"{escape(label)}</text>"
            f'<rect x="{x0:.1f}" y="{mid - 6:.1f}" width="{max(x1 - x0, 2):.1f}" height="12" '
            f'rx="6" fill="#bbdefb" stroke="#1565c0"><title>{escape(label)}: '
            f"{plan.start_ms / 1000:g}s to {plan.end_ms / 1000:g}s</title></rect>"
            f'<line x1="{x1:.1f}" y1="{mid - 10:.1f}" x2="{x1:.1f}" y2="{mid + 10:.1f}" '
            'stroke="#c62828" stroke-width="2"><title>end</title></line>'
        )
        # Labels alternate above and below the bar; with a start image the image takes
        # the space above the start, so that stream's labels begin below.
        image_right = x0
        if plan.image is not None:
            thumb = _thumbnail(plan.image)
            ty = mid - 8 - THUMB
            if thumb is not None:
                url, width, height = thumb
                out.append(
                    f'<image class="odyssey-timeline-image" x="{x0:.1f}" y="{ty:.1f}" '
                    f'width="{width}" height="{height}" href="{safe_url(url)}" '
                    'preserveAspectRatio="xMidYMid meet"/>'
                )
            else:
                width = THUMB
                out.append(
                    f'<rect class="odyssey-timeline-image" x="{x0:.1f}" y="{ty:.1f}" '
                    f'width="{THUMB}" height="{THUMB}" fill="#eeeeee" stroke="#9e9e9e"/>'
                    f'<text x="{x0 + THUMB / 2:.1f}" y="{ty + THUMB / 2 + 4:.1f}" '
                    'text-anchor="middle" fill="#757575">image</text>'
                )
            image_right = x0 + width + 4
        first_row = 1 if plan.image is not None else 0
        cues = plan.cues
        for number, cue in enumerate(cues):
            x = x_of(cue.timestamp_ms)
            row = (number + first_row) % 2
            text_x = x + 4 if row == 1 else max(x + 4, image_right)
            # room until the next label in the same row (two cues later) or the edge
            limit = x_of(cues[number + 2].timestamp_ms) if number + 2 < len(cues) else WIDTH
            room = max(limit - text_x - 8, CHAR_PX * 4)
            fit = int(room / CHAR_PX)
            prompt = cue.prompt
            shown = prompt if len(prompt) <= fit else prompt[: max(fit - 1, 1)] + "…"
            text_y = mid + 22 if row == 1 else mid - 12
            colour = "#2e7d32" if cue.action == "start" else "#1565c0"
            out.append(
                f'<g class="odyssey-cue"><title>{cue.timestamp_ms / 1000:g}s {escape(cue.action)}: '
                f"{escape(prompt)}</title>"
                f'<circle cx="{x:.1f}" cy="{mid:.1f}" r="5" fill="{colour}"/>'
                f'<text x="{text_x:.1f}" y="{text_y:.1f}" fill="#212121">'
                f"{escape(shown)}</text></g>"
            )
    if hidden:
        out.append(
            f'<text class="odyssey-timeline-more" x="8" y="{height - 8}" fill="#757575">'
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
        streams = sum(len(plan_streams(s)) for s in self.scripts)
        batch = f"{len(self.scripts)} scripts, " if len(self.scripts) > 1 else ""
        shape = "portrait 704x1280" if self.portrait else "landscape 1280x704"
        return (
            f"Dry run (nothing sent): {batch}{streams} stream{'s' if streams != 1 else ''}, {shape}"
        )

    def text(self) -> str:
        return format_timeline(self.scripts)

    def __repr__(self) -> str:
        return printable(f"{self._header()}\n{self.text()}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        return (
            '<div class="odyssey-dry-run">'
            f"<div><b>{escape(self._header())}</b></div>"
            f"{timeline_svg(self.scripts)}"
            f'<pre class="odyssey-script-text">{escape(self.text())}</pre>'
            "</div>"
        )


__all__ = ["ScriptTimeline", "describe_image", "timeline_svg"]
