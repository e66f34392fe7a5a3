"""The version is written once, in pyproject.toml, and read back from package metadata."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.version import Version

import odyssey_jupyter

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(odyssey_jupyter.__file__).parent


def _pyproject_version() -> str:
    """``[project] version`` (read by hand: tomllib is not in Python 3.10)."""
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("[project]", 1)[1]
    found = re.search(r'^version\s*=\s*"([^"]+)"', project.split("\n[", 1)[0], re.M)
    assert found, "pyproject.toml has no [project] version"
    return found.group(1)


def test_the_version_is_the_installed_metadata_of_pyproject() -> None:
    from odyssey_jupyter import __version__

    assert __version__ == odyssey_jupyter.__version__
    assert __version__ == importlib.metadata.version("odyssey_jupyter")
    assert __version__ == _pyproject_version()
    Version(__version__)  # a PEP 440 version, as pip compares them


def test_no_module_of_the_package_writes_the_version_itself() -> None:
    version = re.escape(_pyproject_version())
    written = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(rf"""["']{version}["']""", path.read_text(encoding="utf-8"))
    ]
    assert written == []


def test_the_jupyterlab_extension_ships_the_same_version() -> None:
    """Its package.json must carry a version of its own: keep it the package's."""
    package = json.loads((ROOT / "labextension" / "package.json").read_text(encoding="utf-8"))
    assert package["version"] == _pyproject_version()


def test_an_uninstalled_source_tree_still_has_a_valid_version(tmp_path: Path) -> None:
    """Without metadata (a copied source tree), a placeholder pip would still accept."""
    copy = tmp_path / "odyssey_jupyter"
    copy.mkdir()
    for module in ("__init__.py", "version.py"):  # the version's one home, and the top level
        shutil.copy(PACKAGE / module, copy / module)
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import odyssey_jupyter; print(odyssey_jupyter.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shown = result.stdout.strip()
    assert shown == "0+unknown"
    Version(shown)
