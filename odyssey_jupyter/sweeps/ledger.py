"""A sweep's durable record: one SQLite file per sweep, beside the recordings.

``odyssey_recordings/sweeps/NAME.sqlite`` holds the sweep's settings and one row
per item: its params, its script, the idempotency key of its job, the job id,
its state, its error and its files. The database runs in WAL mode and every
change is one transaction, so a SIGKILL at any moment leaves the last committed
state (WAL with ``synchronous=NORMAL`` loses nothing to a process crash).

An item is written with state ``submitting`` and its key *before* its job is
sent, and again when the job id arrives: after a crash, an item still
``submitting`` is exactly one whose answer may have been lost.

Items packed into one job (``pack=K``) share a ``unit``: its key, job id and
state are written together, in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from odyssey_jupyter.config import get_config
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.types import TERMINAL_STATUSES

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    idx INTEGER PRIMARY KEY,
    unit INTEGER NOT NULL,
    params TEXT NOT NULL,
    script TEXT NOT NULL,
    state TEXT NOT NULL,
    idem_key TEXT,
    job_id TEXT,
    error TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_unit ON items (unit);
"""

STATES = (
    "pending",
    "submitting",
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
    "unknown",
)
IN_FLIGHT = frozenset({"submitting", "queued", "running"})
FINISHED = TERMINAL_STATUSES
"""An item is finished when its job is (the sweep's own states never are)."""


class SweepBusyError(OdysseyError):
    """The sweep is already being run by another live process."""


@dataclass(slots=True)
class ItemRow:
    """One item as the ledger holds it."""

    index: int
    unit: int
    params: dict[str, Any]
    script: list[dict[str, Any]]
    state: str
    key: str | None
    job_id: str | None
    error: str | None
    files: list[dict[str, Any]]
    attempts: int


def sweeps_dir() -> Path:
    """``<recordings_dir>/sweeps`` (not created here)."""
    return get_config().recordings_path() / "sweeps"


def ledger_path(name: str) -> Path:
    return sweeps_dir() / f"{name}.sqlite"


class Ledger:
    """The SQLite file of one sweep; safe to call from any thread (one lock, one connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._claim: IO[str] | None = None

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        path: Path,
        meta: dict[str, Any],
        rows: Iterable[tuple[int, int, str, str]],
    ) -> Ledger:
        """A new ledger with every item ``pending``; refuses to overwrite an existing sweep."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise FileExistsError(str(path))
        ledger = cls(path)
        now = time.time()
        with ledger._transaction() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in meta.items()],
            )
            db.executemany(
                "INSERT INTO items (idx, unit, params, script, state, updated) "
                "VALUES (?, ?, ?, ?, 'pending', ?)",
                [(*row, now) for row in rows],
            )
        return ledger

    def claim(self) -> None:
        """Make this process the sweep's only runner (an OS lock, released even by SIGKILL).

        Two processes scheduling one ledger would send its pending items twice.
        """
        if self._claim is not None:
            return
        try:
            import fcntl
        except ImportError:  # no flock on this platform: the caller's care
            return
        lock_path = self.path.with_suffix(".lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the life of the sweep
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SweepBusyError(
                f"the sweep {self.path.stem} is being run by {holder}; "
                "stop it there (or wait for it) before opening it here"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        self._claim = handle

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._claim is not None:
            self._claim.close()
            self._claim = None

    # ------------------------------------------------------------------ reading

    def meta(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {row["key"]: json.loads(row["value"]) for row in rows}

    def items(self) -> list[ItemRow]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM items ORDER BY idx").fetchall()
        return [
            ItemRow(
                index=row["idx"],
                unit=row["unit"],
                params=json.loads(row["params"]),
                script=json.loads(row["script"]),
                state=row["state"],
                key=row["idem_key"],
                job_id=row["job_id"],
                error=row["error"],
                files=json.loads(row["files"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) AS n FROM items GROUP BY state")
            found = {row["state"]: row["n"] for row in rows}
        return {state: found.get(state, 0) for state in STATES}

    # ------------------------------------------------------------------ changes

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One change as one transaction: all of it survives a SIGKILL, or none of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _change(self, sql: str, params: Sequence[Any]) -> None:
        with self._transaction() as db:
            db.execute(sql, params)

    def set_unit(self, unit: int, **fields: Any) -> None:
        """Change ``state``/``idem_key``/``job_id``/``error``/``attempts`` of a unit's items."""
        allowed = {"state", "idem_key", "job_id", "error", "attempts"}
        names = sorted(fields)
        if not names or not set(names) <= allowed:
            raise ValueError(f"cannot set {names} on a sweep unit")
        assignments = ", ".join(f"{name} = ?" for name in names)
        self._change(
            f"UPDATE items SET {assignments}, updated = ? WHERE unit = ?",
            [*(fields[n] for n in names), time.time(), unit],
        )

    def finish_unit(
        self, unit: int, state: str, error: str | None, files: dict[int, list[dict[str, Any]]]
    ) -> None:
        """A unit's final state and each item's files, in one transaction."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "UPDATE items SET state = ?, error = ?, updated = ? WHERE unit = ?",
                (state, error, now, unit),
            )
            db.executemany(
                "UPDATE items SET files = ? WHERE idx = ?",
                [(json.dumps(f), idx) for idx, f in files.items()],
            )

    def set_files(self, index: int, files: list[dict[str, Any]]) -> None:
        """One item's files (where the output store holds them, too), in one transaction."""
        self._change(
            "UPDATE items SET files = ?, updated = ? WHERE idx = ?",
            (json.dumps(files), time.time(), index),
        )

    def set_meta(self, key: str, value: Any) -> None:
        """Change one setting of the sweep (its budget), in one transaction."""
        self._change(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )


def list_names() -> list[str]:
    """Names of the sweeps whose ledgers are in the recordings directory."""
    directory = sweeps_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.sqlite"))
