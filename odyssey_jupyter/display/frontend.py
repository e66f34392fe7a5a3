"""Which kind of display the current process can show: live widgets, or text.

A widget needs a kernel with a frontend that renders widget models (JupyterLab,
Notebook 7, VS Code, Colab). Terminal IPython and plain ``python`` have no such
frontend, so they get text lines. A kernel run headless by nbclient/papermill
cannot be told apart from a live one from inside the kernel, so it gets widgets;
the magic makes such runs complete by also displaying the final summary and
players as ordinary outputs when it waits (see ``magics``).

``ODYSSEY_DISPLAY=text`` or ``=widget`` overrides the guess.
"""

from __future__ import annotations

import os
import sys
from typing import Literal

Frontend = Literal["widget", "text"]


def _has_kernel() -> bool:
    """True inside an ipykernel (the shell has a kernel that can open comms)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def detect_frontend() -> Frontend:
    """``"widget"`` inside a kernel, ``"text"`` elsewhere; ``ODYSSEY_DISPLAY`` overrides."""
    forced = os.environ.get("ODYSSEY_DISPLAY", "").strip().lower()
    if forced in ("text", "widget"):
        return forced  # type: ignore[return-value]
    return "widget" if _has_kernel() else "text"
