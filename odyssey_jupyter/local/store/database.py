"""One SQLite file behind two locked connections, its failures turned into ``StorageError``.

One connection writes, one reads, each under its own lock. Reads are tiny
(milliseconds), so the HTTP side calls them straight from the event loop; WAL
lets them go on while a large submission (up to 64 MB) is written from a worker
thread, and survives a SIGKILL.

Every SQLite failure leaves here as a ``StorageError`` (disk full, I/O error,
locked) that names the file: the HTTP side answers 503 and the dispatcher
retries, instead of either crashing on a raw ``sqlite3`` error. A file that is
not a database at all is a ``CorruptDatabase`` at open.
"""

from __future__ import annotations

import shlex
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.store.faults import StoreFaults
from odyssey_jupyter.local.store.schema import SCHEMA

Row = dict[str, Any]

_CORRUPTION_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_PASSED_THROUGH = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.NotSupportedError)
"""Errors of the engine's own SQL (a bug), not of the storage: never turned into a 503."""


class StorageError(RuntimeError):
    """The database could not be read or written; ``reason`` is SQLite's word for why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class CorruptDatabase(StorageError):
    """The file is not a database this engine can open; only its owner may move it aside."""

    def __str__(self) -> str:
        aside = self.path.with_name(self.path.name + ".corrupt")
        return (
            f"the engine's database {self.path} is damaged ({self.reason}); nothing was "
            f"changed: move it aside (mv {shlex.quote(str(self.path))} "
            f"{shlex.quote(str(aside))}) and start again with an empty queue"
        )


def _tolerant_text(raw: bytes) -> str:
    """Text cells that are not UTF-8 read with U+FFFD, so one damaged cell spoils no listing."""
    return raw.decode("utf-8", "replace")


class Database:
    """The engine's database at ``path``, opened in WAL mode with its tables made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._read_lock = threading.RLock()
        self._faults = StoreFaults.from_env()
        self._writer = self._connect()
        try:
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.executescript(SCHEMA)
            self._writer.execute("SELECT COUNT(*) FROM jobs").fetchone()
            self._reader = self._connect()
        except (sqlite3.Error, StorageError) as exc:
            self._writer.close()
            if isinstance(exc, StorageError):
                raise
            raise self._storage_error(exc) from None

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10
            )
        except sqlite3.Error as exc:
            raise StorageError(self.path, str(exc)) from None
        db.row_factory = sqlite3.Row
        db.text_factory = _tolerant_text
        return db

    def _storage_error(self, exc: sqlite3.Error) -> StorageError:
        code = getattr(exc, "sqlite_errorname", "")
        corrupt = code in _CORRUPTION_CODES or type(exc) is sqlite3.DatabaseError
        return (CorruptDatabase if corrupt else StorageError)(self.path, str(exc))

    @contextmanager
    def _guarded(self, lock: threading.RLock) -> Iterator[None]:
        """Under ``lock``, with SQLite's storage failures made ``StorageError``."""
        with lock:
            try:
                yield
            except _PASSED_THROUGH:
                raise
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from None

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._writer.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; whatever fails (a COMMIT on a full disk too) rolls it back.

        A failed COMMIT leaves SQLite's transaction open: without the rollback every
        later ``BEGIN`` would fail too, long after the disk has room again.
        """
        with self._guarded(self._lock):
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                self._faults.check("writes")
                self._writer.execute("COMMIT")
            except BaseException:
                if self._writer.in_transaction:
                    with suppress(sqlite3.Error):
                        self._writer.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that must see one state (a count and its page): no write between.

        The writer has its own connection and lock, so holding the reader's lock alone
        would not keep its commits out: one read transaction (WAL) does.
        """
        with self._guarded(self._read_lock):
            self._reader.execute("BEGIN")
            try:
                yield
            finally:
                if self._reader.in_transaction:
                    with suppress(sqlite3.Error):
                        self._reader.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The reading connection, for a lookup of several statements."""
        with self._guarded(self._read_lock):
            self._faults.check("reads")
            yield self._reader

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.reading() as db:
            return [dict(r) for r in db.execute(sql, params).fetchall()]

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.reading() as db:
            return int(db.execute(sql, params).fetchone()[0])

    def row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        found = self.rows(sql, params)
        return found[0] if found else None
