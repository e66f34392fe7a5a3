"""Notebooks the tests write or run: one code cell per source, and the kernel they name."""

from __future__ import annotations

from typing import Any

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
"""The kernel a notebook saved by JupyterLab names: the one ipykernel installs."""


def code_notebook(*sources: str) -> Any:
    """A version 4 notebook naming :data:`KERNELSPEC`, a code cell for each source."""
    built = nbformat.v4.new_notebook()
    built.metadata["kernelspec"] = KERNELSPEC
    built.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return built
