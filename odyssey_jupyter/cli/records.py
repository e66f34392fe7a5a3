"""A sweep as its ledger records it, read without the network, for ``status``/``items``/``list``.

An item the ledger holds as in flight (``submitting``, ``queued``, ``running``) is
only in flight while a process runs the sweep. Once that process has stopped, its
job may well have finished since: such items are counted as ``stopped``, never as
``running``, until ``sweep resume NAME`` follows them again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_jupyter.cli.terminal import UNLIMITED, Column
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.files.private import lock_held
from odyssey_jupyter.sweeps.item import SweepItem, with_trusted_files
from odyssey_jupyter.sweeps.ledger import Ledger, LedgerError, ledger_path, lock_path
from odyssey_jupyter.sweeps.plan import check_name, describe_params
from odyssey_jupyter.sweeps.states import IN_FLIGHT, ItemState

STOPPED = "stopped"
"""In flight when the last run stopped (no process follows the sweep now)."""
SHOWN_STATES = (*(state.value for state in ItemState), STOPPED)


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """One sweep's ledger: its rows, its settings, and whether a process is running it now."""

    name: str
    path: Path
    rows: list[SweepItem]
    meta: dict[str, Any]
    running: bool

    def state(self, row: SweepItem) -> str:
        """The item's state as it is known now (``stopped`` for in flight with no runner)."""
        return STOPPED if row.state in IN_FLIGHT and not self.running else row.state

    def counts(self) -> dict[str, int]:
        """Items per state (every state, zeros included), and ``total``."""
        counts = dict.fromkeys(SHOWN_STATES, 0)
        for row in self.rows:
            counts[self.state(row)] += 1
        counts["total"] = len(self.rows)
        return counts


def runner_active(path: Path) -> bool:
    """Whether a process holds the sweep's run lock now (see ``Ledger.claim``)."""
    return lock_held(lock_path(path))


def read_record(name: str) -> SweepRecord:
    """The sweep ``name``; an unknown or unreadable one is an error naming it.

    Its items keep only the files ``trusted_files`` keeps, as ``Sweep.open`` reads them.
    """
    check_name(name)
    path = ledger_path(name)
    if not os.path.lexists(path):
        raise OdysseyError(f"no sweep named {name!r} in {path.parent}")
    try:
        ledger = Ledger(path, read_only=True)  # never switched to WAL, never given tables
        try:
            rows, meta = ledger.items(), ledger.meta()
        finally:
            ledger.close()
    except LedgerError:
        raise
    except Exception as exc:  # a damaged or foreign file: say so, name it
        raise OdysseyError(
            f"{path} is not a readable sweep ledger ({type(exc).__name__})"
        ) from None
    return SweepRecord(name, path, with_trusted_files(rows), meta, runner_active(path))


def shown_path(value: Any) -> str:
    """A file path relative to the working directory when it is below it."""
    text = str(value)
    try:
        return os.path.relpath(text) if Path(text).is_absolute() else text
    except ValueError:  # another drive (Windows)
        return text


def params_text(row: SweepItem) -> str:
    """``style='ink', seed=3`` in full: the table cuts it to the terminal, a pipe gets it all."""
    return describe_params(row.params, limit=UNLIMITED)


def videos(row: SweepItem) -> list[str]:
    return [shown_path(entry["video"]) for entry in row.files if entry.get("video")]


def item_json(record: SweepRecord, row: SweepItem) -> dict[str, Any]:
    """One item for ``--json``: the documented keys, in this order."""
    return {
        "index": row.index,
        "state": record.state(row),
        "params": row.params,
        "job_id": row.job_id,
        "error": row.error,
        "videos": videos(row),
    }


ITEM_COLUMNS = (
    Column("INDEX", numeric=True, shrinks=False),
    Column("STATE", shrinks=False),
    Column("PARAMS"),
    Column("JOB"),
    Column("VIDEO"),
    Column("ERROR"),
)


def item_cells(record: SweepRecord, row: SweepItem) -> list[Any]:
    """One item as a table row: index, state, params, job id, first video, error."""
    found = videos(row)
    return [
        row.index,
        record.state(row),
        params_text(row),
        row.job_id or "",
        found[0] if found else "",
        row.error or "",
    ]
