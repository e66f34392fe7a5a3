"""The command line's exit codes: one table, printed by ``--help`` and kept by every command."""

from __future__ import annotations

OK = 0
"""Done: every item completed (``run``/``resume``), nothing failed (``status``), listed."""
ITEMS_BAD = 1
"""Some items failed, are unknown, were cancelled or are left pending."""
BAD_INPUT = 2
"""Bad input: a mistyped command or flag, a bad spec, an unknown sweep; nothing was sent."""
BUSY = 3
"""Another process is running the sweep (``run``/``resume``): stop it there first."""
INTERRUPTED = 130
"""Ctrl-C: the ledger keeps the sweep, ``sweep resume NAME`` continues it."""

TABLE = (
    (OK, "ok: every item completed (status: none failed)"),
    (ITEMS_BAD, "some items failed, are unknown, cancelled or left pending"),
    (BAD_INPUT, "bad input (command, flag, spec, sweep name); nothing was sent"),
    (BUSY, "another process is running this sweep"),
    (INTERRUPTED, "interrupted (Ctrl-C); the ledger keeps the sweep"),
)


def described() -> str:
    """The table as ``--help`` prints it."""
    return "exit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in TABLE)
