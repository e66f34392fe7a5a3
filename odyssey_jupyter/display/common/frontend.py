"""Which kind of display the current process can show: live widgets, or text.

A widget needs a kernel with a frontend that renders widget models (JupyterLab,
Notebook 7, VS Code, Colab). Terminal IPython and plain ``python`` have no such
frontend, so they get text lines. :func:`detect_frontend` answers "widget" in
any kernel, a headless one too; :func:`watched` (below) tells the two apart.

``ODYSSEY_DISPLAY=text`` or ``=widget`` overrides the guess.

Where a frontend cannot serve the kernel's files to an output (Colab, VS Code:
:func:`serves_no_files`), players embed their videos instead.

Nothing here imports IPython: a kernel has loaded it already, and without a
kernel there is no shell to ask, so the static outputs that call this stay pure.

Within a kernel, :func:`watched` tells a person's frontend from a headless run by
the one thing the protocol says about it: JupyterLab, Notebook 7, VS Code and
Colab send their code with ``allow_stdin`` (a person can answer ``input()``);
nbclient, papermill and ``jupyter execute`` send it without. Nobody sees a live
widget there, and a widget view saved with its state is what the stock nbconvert
exporters prefer to draw (as nothing, offline): such runs get static outputs.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

Frontend = Literal["widget", "text"]


def _shell() -> Any:
    """The running IPython shell, or ``None`` (IPython is not even loaded without one)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if callable(get_ipython) else None


def _has_kernel() -> bool:
    """True inside an ipykernel (the shell has a kernel that can open comms)."""
    if "ipykernel" not in sys.modules:
        return False
    shell = _shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def detect_frontend() -> Frontend:
    """``"widget"`` inside a kernel, ``"text"`` elsewhere; ``ODYSSEY_DISPLAY`` overrides."""
    forced = os.environ.get("ODYSSEY_DISPLAY", "").strip().lower()
    if forced in ("text", "widget"):
        return forced  # type: ignore[return-value]
    return "widget" if _has_kernel() else "text"


def _request_allows_input() -> bool | None:
    """``allow_stdin`` of the execute request running now; ``None`` when there is none."""
    kernel = getattr(_shell(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if not callable(get_parent):
        return None
    try:
        parent = get_parent("shell")
    except Exception:  # an older or foreign kernel: no answer
        return None
    content = parent.get("content") if isinstance(parent, dict) else None
    if not isinstance(content, dict) or "allow_stdin" not in content:
        return None
    return bool(content["allow_stdin"])


def headless() -> bool:
    """True in a kernel run by nbclient or papermill: widgets would be drawn for nobody.

    Call it on the kernel's main thread while a cell runs (the request is the
    cell's). ``ODYSSEY_DISPLAY=widget`` says someone watches.
    """
    if detect_frontend() != "widget":
        return False
    if os.environ.get("ODYSSEY_DISPLAY", "").strip().lower() == "widget":
        return False
    return _request_allows_input() is False


def watched() -> bool:
    """True where live widgets are seen: a widget frontend that is not a headless run."""
    return detect_frontend() == "widget" and not headless()


def in_colab() -> bool:
    """Colab serves no local files to outputs: videos must be embedded there."""
    return "google.colab" in sys.modules


def in_vscode() -> bool:
    """VS Code's notebook renderer cannot fetch relative files from the kernel's folder."""
    return any(name in os.environ for name in ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"))


def serves_no_files() -> bool:
    """True where an output cannot load a file beside the notebook (Colab, VS Code)."""
    return in_colab() or in_vscode()
