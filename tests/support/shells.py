"""IPython's in-process test shell: one for the whole run, and running a cell in it."""

from __future__ import annotations

from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython


def global_shell() -> InteractiveShell:
    """IPython's global test shell, whether or not another module started it first.

    ``start_ipython`` answers only its first call; the mark is reset so that a module
    running later (test_magics) gets the same shell from it too.
    """
    ip: InteractiveShell | None = start_ipython()
    if hasattr(start_ipython, "already_called"):
        del start_ipython.already_called
    if ip is None:
        ip = TerminalInteractiveShell.instance()
    return ip


def run(shell: InteractiveShell, text: str) -> Any:
    """Run a cell; return the exception it raised (or None)."""
    result = shell.run_cell(text)
    return result.error_in_exec or result.error_before_exec
