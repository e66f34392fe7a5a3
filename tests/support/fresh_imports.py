"""What importing some modules pulls in, seen from a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

FRONTEND_MODULES = ("IPython", "ipykernel", "ipywidgets", "anywidget")
"""What a pure display, or the command line, must not load."""


def loaded_by(modules: Sequence[str], watched: Sequence[str] = FRONTEND_MODULES) -> list[str]:
    """Which of the top-level packages ``watched`` are loaded after importing ``modules``."""
    found = f"sorted(m for m in sys.modules if m.split('.')[0] in {list(watched)!r})"
    code = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + f"print(json.dumps({found}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))
