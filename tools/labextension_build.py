"""Builds the JupyterLab extension for a wheel: hatch-jupyter-builder's build function.

It checks for Node.js first, so a build from a checkout without it stops with one line
that says what to install instead of a trace from deep inside the JavaScript tool chain
(pip shows a backend's output only when the build fails, so a warning would go unseen).
A wheel or sdist of a release carries the built extension and never gets here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from hatch_jupyter_builder import npm_builder

NODE_MAJOR = 18
NEEDS = (
    f"building odyssey_jupyter's JupyterLab extension from source needs Node.js >= {NODE_MAJOR} "
    "on PATH (https://nodejs.org); a wheel or sdist of a release carries it built and needs none"
)


def node_problem() -> str | None:
    """Why this machine cannot build the extension, or None when it can."""
    node = shutil.which("node")
    if node is None:
        return "Node.js was not found"
    try:
        shown = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"{node} --version failed ({error})"
    found = re.match(r"v?(\d+)\.", shown)
    if found is None or int(found.group(1)) < NODE_MAJOR:
        return f"{node} is Node.js {shown or 'of an unknown version'}"
    return None


def build(target_name: str, version: str, **kwargs: Any) -> None:
    """Build with jlpm (hatch-jupyter-builder's npm builder), or stop with what to install."""
    problem = node_problem()
    if problem is not None:
        raise SystemExit(f"error: {NEEDS}. {problem}.")
    npm_builder(target_name, version, **kwargs)
