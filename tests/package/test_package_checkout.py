"""Installing from a checkout: editable (as ``make venv`` does) and without Node.js.

The suite runs in the editable install that ``make venv`` made with ``pip install
-e``: JupyterLab must list the extension from files pip installed (in the
distribution's RECORD, not a link made by hand). A checkout with no built extension
installed where Node.js cannot be found must stop with the one line that says what
to install.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.packaging import (
    DIST_NAME,
    LABEXT_SHARE,
    Venv,
    clean_copy,
    labextensions,
    listed_ok,
    source_version,
)

pytestmark = [pytest.mark.package, pytest.mark.slow]

NEEDS_NODE = (
    "error: building odyssey_jupyter's JupyterLab extension from source needs Node.js >= 18 "
    "on PATH (https://nodejs.org); a wheel or sdist of a release carries it built and needs none."
    " Node.js was not found."
)


def test_the_editable_install_lists_the_extension_it_installed() -> None:
    dist = importlib.metadata.distribution(DIST_NAME)
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    assert direct.get("dir_info", {}).get("editable") is True, direct
    recorded = {str(path) for path in dist.files or []}
    prefix = Path(sys.prefix)
    for name in ("package.json", "install.json"):
        shipped = next(path for path in recorded if path.endswith(f"{LABEXT_SHARE}/{name}"))
        assert (
            Path(str(dist.locate_file(shipped))).resolve()
            == (prefix / LABEXT_SHARE / name).resolve()
        )
    assert not (prefix / LABEXT_SHARE).is_symlink()
    listing = labextensions(Path(sys.executable).parent / "jupyter", None)
    assert listed_ok(listing, source_version()), listing


def test_a_checkout_without_node_stops_with_one_line(wheel_venv: Venv, tmp_path: Path) -> None:
    checkout = clean_copy(tmp_path / "checkout")
    assert not (checkout / DIST_NAME / "labextension").exists()
    result = subprocess.run(
        [wheel_venv.python, "-m", "pip", "install", "--no-deps", checkout],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=wheel_venv.env(),
    )
    assert result.returncode != 0
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
    assert NEEDS_NODE in lines, result.stdout + result.stderr
    assert "Traceback (most recent call last):" not in lines
