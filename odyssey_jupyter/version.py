"""The package's version, read back from its installed metadata.

Its one source is ``labextension/package.json``: the build gives the Python package
the JupyterLab extension's version.

A module of its own, standard library only, so that the engine can record which
version it runs without importing the package's lazy top level (which names the magics).
"""

from __future__ import annotations

import importlib.metadata


def package_version() -> str:
    """The installed version, or ``0+unknown`` for a source tree that is not installed."""
    try:
        return importlib.metadata.version("odyssey_jupyter")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
