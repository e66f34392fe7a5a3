"""Test-only storage faults on demand: a full disk cannot be had on every machine.

Off (and free) unless ``ODYSSEY_LOCAL_TEST_STORE_FAULTS`` names a file when the
engine starts. That file holds JSON such as ``{"writes": 3, "reads": 1}``: the
next 3 write transactions and the next read then fail with SQLite's own
``database or disk is full`` (a write fails at its COMMIT, as a real one does),
and the counts in the file go down. A test changes the file at any time to
start or end the fault; nothing else reads it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Literal

ENV_VAR = "ODYSSEY_LOCAL_TEST_STORE_FAULTS"
FAULT_MESSAGE = "database or disk is full"

Kind = Literal["writes", "reads"]


class StoreFaults:
    """Raises the injected fault when the control file asks for one; inert without one."""

    def __init__(self, control: Path | None) -> None:
        self.control = control

    @classmethod
    def from_env(cls) -> StoreFaults:
        named = os.environ.get(ENV_VAR)
        return cls(Path(named) if named else None)

    def check(self, kind: Kind) -> None:
        if self.control is None:
            return
        try:
            counts = json.loads(self.control.read_text())
            left = int(counts.get(kind, 0))
        except (OSError, ValueError, TypeError, AttributeError):
            return
        if left <= 0:
            return
        counts[kind] = left - 1
        scratch = self.control.with_name(self.control.name + ".tmp")
        scratch.write_text(json.dumps(counts))
        os.replace(scratch, self.control)
        raise sqlite3.OperationalError(FAULT_MESSAGE)


def set_faults(control: Path, *, writes: int = 0, reads: int = 0) -> None:
    """Ask an engine started with ``ENV_VAR=control`` for the next faults (used by tests)."""
    scratch = control.with_name(control.name + ".set")
    scratch.write_text(json.dumps({"writes": writes, "reads": reads}))
    os.replace(scratch, control)
