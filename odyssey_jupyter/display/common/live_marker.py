"""The mark on a live output that lets the frontend extension fall back to its HTML.

A live widget output saved in a notebook outlives its widget model: reopened
without the kernel's widget state, JupyterLab and Notebook 7 show "Error
displaying widget" instead of the text/html form the same bundle carries. The
bundle therefore also carries ``LIVE_MIME``; the project's JupyterLab extension
renders that key by drawing the widget and, when the widget manager reports the
model missing, drawing the bundle's text/html instead. Frontends that do not know
the key ignore it.

The key and its value are kept in ``live_mark.json`` beside this module: the
extension's build copies the same file, so the two sides cannot disagree.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

MARK_FILE = "live_mark.json"

_MARK_DATA = json.loads(resources.files(__package__).joinpath(MARK_FILE).read_text("utf-8"))

#: The key the JupyterLab extension renders (``labextension/src/live.ts``).
LIVE_MIME: str = _MARK_DATA["mime"]
#: Its value: a version, so the extension can recognise what it understands.
LIVE_MARK: dict[str, Any] = _MARK_DATA["mark"]


def marked_live(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` plus the live mark (a new dict; the caller's is not changed)."""
    return {**bundle, LIVE_MIME: dict(LIVE_MARK)}
