"""The version is written once, in labextension/package.json, and read back from metadata.

The build (hatch-nodejs-version) gives the Python package the extension's version;
tests/package checks that the built wheel and sdist agree too.
"""

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


def _source_version() -> str:
    """The one place the version is written: the JupyterLab extension's package.json."""
    package = json.loads((ROOT / "labextension" / "package.json").read_text(encoding="utf-8"))
    return str(package["version"])


def test_the_version_is_the_installed_metadata_of_the_one_source() -> None:
    from odyssey_jupyter import __version__

    assert __version__ == odyssey_jupyter.__version__
    assert __version__ == importlib.metadata.version("odyssey_jupyter")
    assert __version__ == _source_version()
    Version(__version__)  # a PEP 440 version, as pip compares them


def test_pyproject_takes_the_version_from_package_json() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dynamic\s*=\s*\[[^]]*"version"', project, re.M), "version is not dynamic"
    assert not re.search(r"^version\s*=", project, re.M), "pyproject.toml writes a version"
    source = pyproject.split("[tool.hatch.version]", 1)[1].split("\n[", 1)[0]
    assert 'source = "nodejs"' in source and 'path = "labextension/package.json"' in source


def test_no_module_of_the_package_writes_the_version_itself() -> None:
    version = re.escape(_source_version())
    written = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(rf"""["']{version}["']""", path.read_text(encoding="utf-8"))
    ]
    assert written == []


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
