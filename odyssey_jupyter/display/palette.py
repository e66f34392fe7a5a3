"""One colour for each job status, so the status widget and the job browser agree.

A status seen in a cell's widget and in the browser's row for the same job
means the same thing; it is drawn in the same colour. The widget's badge is the
solid colour, the browser's a light tint of it with the colour as text.
"""

from __future__ import annotations

STATUS_COLOURS: dict[str, str] = {
    "starting": "#6d4c41",
    "submitting": "#546e7a",
    "pending": "#757575",
    "dispatched": "#0277bd",
    "processing": "#1565c0",
    "running": "#1565c0",
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef6c00",
    "error": "#c62828",
}
"""The job statuses, plus the widget's own phases before a job exists (starting, submitting)."""

OTHER_COLOUR = "#607d8b"
"""A status this palette does not know (a server's new word)."""

TINT_STRENGTH = 0.15
"""How much of a status colour its light background keeps (the rest is white)."""


def status_colour(status: str) -> str:
    """The colour that stands for ``status``."""
    return STATUS_COLOURS.get(status, OTHER_COLOUR)


def tint(colour: str, strength: float = TINT_STRENGTH) -> str:
    """``#rrggbb`` mixed into white: a background on which the colour itself reads as text."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in channels)
