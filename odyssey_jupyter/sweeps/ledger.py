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

The folder may have come with a cloned repository, so nothing here follows a
planted link: the ledger and its side files (``-wal``, ``-shm``, ``-journal``)
must be regular files, a new ledger is created exclusively and ``0600``, and
the runner's lock never truncates or writes the lock file (who holds it is kept
in the ledger's ``meta``). ``status`` opens a ledger read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.files.finite_json import loads_neutral
from odyssey_jupyter.files.private import (
    ExclusiveLock,
    LockBusyError,
    UnsafePathError,
    create_private_file,
    make_private_dir,
    refuse_link,
)
from odyssey_jupyter.session.config import get_config
from odyssey_jupyter.sweeps.errors import SweepBusyError
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.plan import check_name
from odyssey_jupyter.sweeps.states import ItemState

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

SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite opens beside a database; none of them may be a planted link."""
_COLUMN_KINDS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "unit": ("a whole number", int),
    "attempts": ("a whole number", int),
    "params": ("an object", dict),
    "script": ("a list", list),
    "idem_key": ("a text", (str, type(None))),
    "job_id": ("a text", (str, type(None))),
    "error": ("a text", (str, type(None))),
}
"""What an item's columns hold as the ledger writes them (a key, job id or error may be null)."""
_JSON_COLUMNS = ("params", "script", "files")
RUNNER_KEY = "runner"
"""The ``meta`` key naming the process that holds the sweep's lock."""


class LedgerError(OdysseyError):
    """A sweep's file is a link, not a regular file, or not a sweep ledger (a setting it
    keeps included); nothing was changed."""


def sweeps_dir() -> Path:
    """``<recordings_dir>/sweeps`` (not created here)."""
    return get_config().recordings_path() / "sweeps"


def ledger_path(name: str) -> Path:
    """The ledger of the sweep ``name``; every command that takes a name checks it here."""
    return sweeps_dir() / f"{check_name(name)}.sqlite"


def side_files(path: Path) -> tuple[Path, ...]:
    return tuple(path.with_name(path.name + suffix) for suffix in SIDE_FILES)


def lock_path(path: Path) -> Path:
    return path.with_suffix(".lock")


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """A path refused by ``files.private`` as the ledger's own error (one line, exit 2)."""
    try:
        yield
    except UnsafePathError as exc:
        raise LedgerError(str(exc)) from None


def refuse_planted(path: Path) -> None:
    """The ledger, its side files and its lock are regular files or absent (else LedgerError)."""
    with _refusals():
        for each in (path, *side_files(path), lock_path(path)):
            refuse_link(each)


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:  # no WAL switch, no table made, nothing written
        uri = f"{Path(os.path.abspath(path)).as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)


class Ledger:
    """The SQLite file of one sweep; safe to call from any thread (one lock, one connection).

    Opens an existing ledger (``read_only=True`` for a look that changes nothing);
    :meth:`create` makes a new one.
    """

    def __init__(self, path: Path, *, read_only: bool = False, _new: bool = False) -> None:
        self.path = path
        refuse_planted(path)
        self._lock = threading.Lock()
        self._claim: ExclusiveLock | None = None
        self._db = _connect(path, read_only)
        self._db.row_factory = sqlite3.Row
        try:
            if not _new:  # before any change: another program's database stays as it was
                self._check_tables()
            if not read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA busy_timeout=5000")
            if _new:
                self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(f"{path} is not a sweep ledger ({exc})") from None
        except LedgerError:
            self._db.close()
            raise

    def _check_tables(self) -> None:
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        missing = {"meta", "items"} - {row["name"] for row in rows}
        if missing:
            raise LedgerError(
                f"{self.path} is not a sweep ledger (it has no {' or '.join(sorted(missing))} "
                "table); move it out of the sweeps folder"
            )

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        path: Path,
        meta: dict[str, Any],
        rows: Iterable[tuple[int, int, str, str]],
    ) -> Ledger:
        """A new ledger with every item ``pending``; refuses to overwrite an existing sweep.

        The file is created exclusively and ``0600`` (SQLite gives its side files the
        same mode); side files already beside it are refused, never reused.
        """
        refuse_planted(path)
        stale = [str(p) for p in side_files(path) if os.path.lexists(p)]
        if stale:
            raise LedgerError(f"{stale[0]} is left from another database; remove it first")
        with _refusals():
            make_private_dir(path.parent)
            os.close(create_private_file(path, exclusive=True))
        ledger = cls(path, _new=True)
        now = time.time()
        with ledger._transaction() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in meta.items()],
            )
            db.executemany(
                "INSERT INTO items (idx, unit, params, script, state, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*row, ItemState.PENDING.value, now) for row in rows],
            )
        return ledger

    def claim(self) -> None:
        """Make this process the sweep's only runner (an OS lock, released even by SIGKILL).

        Two processes scheduling one ledger would send its pending items twice. The
        lock file is never written; the holder is named in the ledger's ``meta``.
        """
        if self._claim is not None:
            return
        lock = ExclusiveLock(lock_path(self.path))
        try:
            with _refusals():
                lock.acquire()
        except LockBusyError:
            holder = self.meta().get(RUNNER_KEY)
            named = isinstance(holder, str) and re.fullmatch(r"process [0-9]{1,10}", holder)
            raise SweepBusyError(
                f"the sweep {self.path.stem} is being run by "
                f"{holder if named else 'another process'}; "
                "stop it there (or wait for it) before opening it here"
            ) from None
        self._claim = lock
        self._change(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (RUNNER_KEY, json.dumps(f"process {os.getpid()}")),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    # ------------------------------------------------------------------ reading

    def meta(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        try:
            return {row["key"]: loads_neutral(row["value"]) for row in rows}
        except (TypeError, ValueError, RecursionError):
            what = "a setting is not JSON"
            raise LedgerError(f"{self.path} is not a readable sweep ledger ({what})") from None

    def items(self) -> list[SweepItem]:
        """Every item, by index; a value the ledger cannot hold makes it no ledger."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM items ORDER BY idx").fetchall()
        places: dict[int, int] = {}  # a unit's items in index order: their place in its job
        items = []
        for row in rows:
            values = self._checked(row)
            unit = values["unit"]
            places[unit] = places.get(unit, -1) + 1
            items.append(
                SweepItem(
                    index=values["idx"],
                    unit=unit,
                    params=values["params"],
                    script=values["script"],
                    state=self._state(values["idx"], values["state"]),
                    key=values["idem_key"],
                    job_id=values["job_id"],
                    error=values["error"],
                    files=values["files"],
                    attempts=values["attempts"],
                    script_index=places[unit],
                )
            )
        return items

    def _checked(self, row: sqlite3.Row) -> dict[str, Any]:
        """One row's values, its JSON read, each of the kind the ledger writes (else
        LedgerError: an edited ledger is refused here, not by a ``TypeError`` later)."""
        values = dict(row)
        index = values["idx"]
        for column in _JSON_COLUMNS:
            try:
                values[column] = loads_neutral(values[column])
            except (TypeError, ValueError, RecursionError):
                raise self._damaged(index, f"its {column} column is not JSON") from None
        for column, (kind, types) in _COLUMN_KINDS.items():
            value = values[column]
            if isinstance(value, bool) or not isinstance(value, types):
                raise self._damaged(index, f"its {column} column is not {kind}")
        return values

    def _damaged(self, index: Any, what: str) -> LedgerError:
        return LedgerError(f"{self.path} is not a sweep ledger (item {index}: {what})")

    def _state(self, index: int, stored: Any) -> ItemState:
        try:
            return ItemState(stored)
        except ValueError:
            raise LedgerError(
                f"{self.path} is not a sweep ledger (item {index} has the state {stored!r})"
            ) from None

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
        self,
        unit: int,
        state: str,
        error: str | None,
        files: dict[int, list[dict[str, Any]]],
    ) -> None:
        """A unit's final state (an ``ItemState``) and each item's files, in one transaction."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "UPDATE items SET state = ?, error = ?, updated = ? WHERE unit = ?",
                (ItemState(state).value, error, now, unit),
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
    names = []
    for path in directory.glob("*.sqlite"):
        with contextlib.suppress(OdysseyError):
            if ledger_path(path.stem) == path and not path.is_symlink():
                names.append(path.stem)
    return sorted(names)
