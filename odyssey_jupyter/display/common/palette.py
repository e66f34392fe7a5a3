"""The display's colours, in one place: a colour per job status, and the theme's colours.

A status seen in a cell's widget and in the browser's row for the same job
means the same thing; it is drawn in the same colour. The widget's badge is the
solid colour, the browser's a light tint of it with the colour as text.

Everything else (players, chapter lists, final outputs, the dry-run timeline)
takes JupyterLab's theme variables, with the light theme's value as fallback, so
that dark and high-contrast themes look right and an exported page still does.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS_COLOURS: dict[str, str] = {
    "starting": "#6d4c41",
    "submitting": "#546e7a",
    "pending": "#757575",
    "queued": "#757575",
    "dispatched": "#0277bd",
    "processing": "#1565c0",
    "running": "#1565c0",
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef6c00",
    "error": "#c62828",
}
"""The job statuses, plus the widget's own phases before a job exists (starting, submitting)
and a sweep item's ``queued`` (its job is pending). A sweep item's ``unknown`` has the other
colour: nobody knows what became of it."""

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


# --------------------------------------------------------------------------- theme colours


@dataclass(frozen=True, slots=True)
class ThemeColour:
    """A JupyterLab theme variable, and what a page without JupyterLab's CSS uses instead.

    Why variables: a colour written out stays light in JupyterLab Dark and the
    high-contrast themes and glares there. Why a fallback: an exported or plain HTML
    page has no ``--jp-*`` variables; the fallback is the light theme's own value.
    """

    variable: str
    fallback: str

    def __str__(self) -> str:
        return f"var({self.variable},{self.fallback})"


PAGE = ThemeColour("--jp-layout-color0", "#ffffff")
"""The notebook's own background."""
PANEL = ThemeColour("--jp-layout-color1", "#ffffff")
"""A card or picture on the page: a player, the dry-run timeline."""
RAISED = ThemeColour("--jp-layout-color2", "#eeeeee")
"""Something standing in for a picture (a placeholder) inside a panel."""
TEXT = ThemeColour("--jp-ui-font-color0", "rgba(0,0,0,1)")
"""Headings."""
BODY_TEXT = ThemeColour("--jp-ui-font-color1", "rgba(0,0,0,0.87)")
"""Ordinary text and prompts."""
MUTED_TEXT = ThemeColour("--jp-ui-font-color2", "rgba(0,0,0,0.54)")
"""Facts, times and notes."""
BORDER = ThemeColour("--jp-border-color1", "#bdbdbd")
"""Outlines that must show."""
RULE = ThemeColour("--jp-border-color2", "#e0e0e0")
"""Quiet lines: card edges, the timeline's grid."""
ACCENT = ThemeColour("--jp-brand-color1", "#1976d2")
"""A stream's bar and its interactions in the timeline."""
SUCCESS = ThemeColour("--jp-success-color1", "#388e3c")
"""A stream's start in the timeline."""
WARNING = ThemeColour("--jp-warn-color1", "#f57c00")
"""A missing file."""
ERROR = ThemeColour("--jp-error-color1", "#d32f2f")
"""Errors, and a stream's end in the timeline."""
UI_FONT = "var(--jp-ui-font-family,sans-serif)"
"""The theme's interface font."""


def svg_paint(*, fill: ThemeColour | None = None, stroke: ThemeColour | None = None) -> str:
    """SVG ``fill``/``stroke`` attributes with the fallback colour, plus a ``style`` with the
    theme variable: the attributes alone serve where the style is stripped (a sanitiser).
    """
    attributes = []
    styles = []
    for name, colour in (("fill", fill), ("stroke", stroke)):
        if colour is not None:
            attributes.append(f'{name}="{colour.fallback}"')
            styles.append(f"{name}:{colour}")
    return " ".join([*attributes, f'style="{";".join(styles)}"'])
