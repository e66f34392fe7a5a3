"""SQLite storage of jobs, their scripts and streams: the engine's memory across restarts.

Two connections, each guarded by a lock: one writes, one reads. Reads are tiny
(milliseconds), so the HTTP side calls them straight from the event loop; WAL
lets them go on while a large submission (up to 64 MB) is written from a worker
thread, and survives a SIGKILL.

Every SQLite failure leaves here as a ``StorageError`` (disk full, I/O error,
locked) that names the file: the HTTP side answers 503 and the dispatcher
retries, instead of either crashing on a raw ``sqlite3`` error. A file that is
not a database at all is a ``CorruptDatabase`` at open, and a stored script that
cannot be read is a ``CorruptRow``: the job fails, the queue moves on.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.store.faults import StoreFaults
from odyssey_jupyter.protocol.types import ACTIVE_STATUSES

_ACTIVE_SQL = "(" + ",".join(f"'{status}'" for status in sorted(ACTIVE_STATUSES)) + ")"
"""``types.ACTIVE_STATUSES`` as an SQL list, so every query asks for the same set."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT UNIQUE NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    created_at TEXT NOT NULL,
    dispatched_at TEXT,
    started_at TEXT,
    completed_at TEXT,
    error_message TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    portrait INTEGER NOT NULL,
    bypass_vlm_expansion INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE TABLE IF NOT EXISTS scripts (
    job_id TEXT NOT NULL,
    script_index INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job_id, script_index)
);
CREATE TABLE IF NOT EXISTS streams (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT UNIQUE NOT NULL,
    job_id TEXT NOT NULL,
    script_index INTEGER NOT NULL,
    plan_index INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error_message TEXT,
    frame_count INTEGER,
    duration_seconds REAL,
    started_at TEXT,
    ended_at TEXT,
    render_seconds REAL
);
CREATE INDEX IF NOT EXISTS streams_job ON streams(job_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
"""

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
"""How long a submission's ``Idempotency-Key`` keeps answering with the job it created."""


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


class CorruptRow(ValueError):
    """A stored row cannot be decoded; the message names the job and what is wrong."""


_CORRUPTION_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_PASSED_THROUGH = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.NotSupportedError)
"""Errors of this module's own SQL (a bug), not of the storage: never turned into a 503."""


def _tolerant_text(raw: bytes) -> str:
    """Text cells that are not UTF-8 read with U+FFFD, so one damaged cell spoils no listing."""
    return raw.decode("utf-8", "replace")


class IdempotencyConflict(ValueError):
    """An ``Idempotency-Key`` already named a different submission; ``key`` is that key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key for one submission, and a digest of the body it came with."""

    key: str
    fingerprint: str


def utc_now() -> str:
    """ISO 8601 in UTC with a ``Z``, millisecond precision."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Row = dict[str, Any]


def _key_cutoff() -> str:
    """Keys created before this time (same format as ``utc_now``) have expired."""
    oldest = datetime.now(timezone.utc) - IDEMPOTENCY_KEY_TTL
    return oldest.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_counts(path: Path) -> dict[str, int] | None:
    """Jobs by status in the database at ``path``, read-only (``None`` if it cannot be read).

    For ``status`` beside a running engine or none: it opens the file without
    creating, migrating or locking anything, and SQLite's WAL lets it read while
    the engine writes.
    """
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    try:
        rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return {str(status): int(count) for status, count in rows}


def _job_for_key(db: sqlite3.Connection, owner: str, idempotency: IdempotencyKey) -> str | None:
    """The one lookup of a key: expired keys count as absent, another body is a conflict."""
    row = db.execute(
        "SELECT fingerprint, job_id FROM idempotency_keys "
        "WHERE owner = ? AND key = ? AND created_at >= ?",
        (owner, idempotency.key, _key_cutoff()),
    ).fetchone()
    if row is None:
        return None
    if row["fingerprint"] != idempotency.fingerprint:
        raise IdempotencyConflict(idempotency.key)
    return str(row["job_id"])


class Store:
    """Jobs, scripts and streams in ``<data_dir>/engine.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._read_lock = threading.RLock()
        self._faults = StoreFaults.from_env()
        self._db = self._connect()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()
            self._reader = self._connect()
        except (sqlite3.Error, StorageError) as exc:
            self._db.close()
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
    def _guarded(self, lock: threading.RLock | None = None) -> Iterator[None]:
        """Under ``lock`` (the writer's), with SQLite's storage failures made ``StorageError``."""
        with lock or self._lock:
            try:
                yield
            except _PASSED_THROUGH:
                raise
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from None

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; whatever fails (a COMMIT on a full disk too) rolls it back.

        A failed COMMIT leaves SQLite's transaction open: without the rollback every
        later ``BEGIN`` would fail too, long after the disk has room again.
        """
        with self._guarded():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._faults.check("writes")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._guarded(self._read_lock):
            self._faults.check("reads")
            return [dict(r) for r in self._reader.execute(sql, params).fetchall()]

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._guarded(self._read_lock):
            self._faults.check("reads")
            return int(self._reader.execute(sql, params).fetchone()[0])

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ jobs

    def create_job(
        self,
        *,
        owner: str,
        scripts: Sequence[Sequence[dict[str, Any]]],
        streams: Iterable[tuple[int, int, int]],
        portrait: bool,
        bypass_vlm_expansion: bool | None,
        idempotency: IdempotencyKey | None = None,
    ) -> str:
        """Record a new pending job; ``streams`` holds (script_index, plan_index, duration_ms).

        With ``idempotency``, a key already used by ``owner`` returns the job it
        created instead of a new one (in the same transaction, so two racing
        repeats still make one job); the same key with another body raises
        ``IdempotencyConflict``.
        """
        job_id = str(uuid.uuid4())
        width, height = (704, 1280) if portrait else (1280, 704)
        bodies = [(job_id, i, json.dumps(s, separators=(",", ":"))) for i, s in enumerate(scripts)]
        with self._tx() as db:
            if idempotency is not None:
                earlier = self._claim_key(db, owner, idempotency, job_id)
                if earlier is not None:
                    return earlier
            db.execute(
                "INSERT INTO jobs (job_id, owner, status, created_at, portrait, "
                "bypass_vlm_expansion) VALUES (?, ?, 'pending', ?, ?, ?)",
                (
                    job_id,
                    owner,
                    utc_now(),
                    int(portrait),
                    None if bypass_vlm_expansion is None else int(bypass_vlm_expansion),
                ),
            )
            db.executemany(
                "INSERT INTO scripts (job_id, script_index, body) VALUES (?, ?, ?)", bodies
            )
            db.executemany(
                "INSERT INTO streams (stream_id, job_id, script_index, plan_index, duration_ms, "
                "width, height) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(str(uuid.uuid4()), job_id, si, pi, ms, width, height) for si, pi, ms in streams],
            )
        return job_id

    def job_for_key(self, owner: str, idempotency: IdempotencyKey) -> str | None:
        """The job an unexpired key already created, if any (raises on a body mismatch)."""
        with self._guarded(self._read_lock):
            self._faults.check("reads")
            return _job_for_key(self._reader, owner, idempotency)

    @staticmethod
    def _claim_key(
        db: sqlite3.Connection, owner: str, idempotency: IdempotencyKey, job_id: str
    ) -> str | None:
        earlier = _job_for_key(db, owner, idempotency)
        if earlier is not None:
            return earlier
        db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (_key_cutoff(),))
        db.execute(
            "INSERT INTO idempotency_keys (owner, key, fingerprint, job_id, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (owner, idempotency.key, idempotency.fingerprint, job_id, utc_now()),
        )
        return None

    def job(self, job_id: str) -> Row | None:
        return self._one("SELECT * FROM jobs WHERE job_id = ?", (job_id,))

    def streams_of(self, job_id: str) -> list[Row]:
        return self._all("SELECT * FROM streams WHERE job_id = ? ORDER BY seq", (job_id,))

    def script(self, job_id: str, script_index: int) -> list[dict[str, Any]]:
        """A stored script, decoded strictly (a damaged prompt must not render as U+FFFD)."""
        row = self._one(
            "SELECT CAST(body AS BLOB) AS body FROM scripts WHERE job_id = ? AND script_index = ?",
            (job_id, script_index),
        )
        where = f"script {script_index} of job {job_id}"
        if row is None:
            raise CorruptRow(f"{where} is missing")
        try:
            body = json.loads(bytes(row["body"]).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise CorruptRow(f"{where} is not UTF-8 text ({exc.reason})") from None
        except (ValueError, RecursionError) as exc:
            raise CorruptRow(f"{where} is not JSON ({exc})") from None
        if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
            raise CorruptRow(f"{where} is not a list of entries")
        return body

    def list_jobs(
        self, *, owner: str, statuses: Sequence[str] | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        where, params = "owner = ?", [owner]
        if statuses is not None:
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(statuses)
        with self._read_lock:
            total = self._count(f"SELECT COUNT(*) FROM jobs WHERE {where}", params)
            rows = self._all(
                f"SELECT * FROM jobs WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        return rows, total

    def count_active(self, owner: str | None = None) -> int:
        sql = f"SELECT COUNT(*) FROM jobs WHERE status IN {_ACTIVE_SQL}"
        params: list[Any] = []
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        return self._count(sql, params)

    def count_active_streams(self, owner: str) -> int:
        """Streams of this owner's active jobs (for ``--max-active-streams``)."""
        sql = (
            "SELECT COUNT(*) FROM streams s JOIN jobs j ON j.job_id = s.job_id "
            f"WHERE j.status IN {_ACTIVE_SQL} AND j.owner = ?"
        )
        return self._count(sql, [owner])

    def active_job_ids(self) -> list[str]:
        rows = self._all(f"SELECT job_id FROM jobs WHERE status IN {_ACTIVE_SQL} ORDER BY seq")
        return [r["job_id"] for r in rows]

    def update_job(self, job_id: str, **fields: Any) -> None:
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as db:
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ?", [*fields.values(), job_id]
            )

    def set_job_status_if(self, job_id: str, expected: Collection[str], **fields: Any) -> bool:
        """Update a job only while its status is one of ``expected``; True when it did."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        marks = ",".join("?" * len(expected))
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ? AND status IN ({marks})",
                [*fields.values(), job_id, *expected],
            )
            return cursor.rowcount > 0

    def mark_dispatched(self, job_id: str, stream_id: str) -> None:
        """A stream handed to a worker, and its job ``dispatched`` if it was pending: one write."""
        with self._tx() as db:
            db.execute("UPDATE streams SET status = 'dispatched' WHERE stream_id = ?", (stream_id,))
            db.execute(
                "UPDATE jobs SET status = 'dispatched', dispatched_at = ? "
                "WHERE job_id = ? AND status = 'pending'",
                (utc_now(), job_id),
            )

    def cancel_job(self, job_id: str) -> bool:
        """Cancel an active job and its unfinished streams in one write; False if it had ended."""
        now = utc_now()
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'cancelled', completed_at = ? "
                f"WHERE job_id = ? AND status IN {_ACTIVE_SQL}",
                (now, job_id),
            )
            if cursor.rowcount == 0:
                return False
            db.execute(
                "UPDATE streams SET status = 'cancelled', ended_at = ? "
                f"WHERE job_id = ? AND status IN {_ACTIVE_SQL}",
                (now, job_id),
            )
            return True

    def fail_job(self, job_id: str, message: str) -> None:
        """End an active job as failed, with its unfinished streams, for ``message``."""
        now = utc_now()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET status = 'failed', error_message = ?, completed_at = ? "
                f"WHERE job_id = ? AND status IN {_ACTIVE_SQL}",
                (message, now, job_id),
            )
            db.execute(
                "UPDATE streams SET status = 'failed', error_message = ?, ended_at = ? "
                f"WHERE job_id = ? AND status IN {_ACTIVE_SQL}",
                (message, now, job_id),
            )

    # ------------------------------------------------------------------ streams

    def stream(self, stream_id: str) -> Row | None:
        return self._one(
            "SELECT s.*, j.owner AS owner, j.status AS job_status FROM streams s "
            "JOIN jobs j USING (job_id) WHERE s.stream_id = ?",
            (stream_id,),
        )

    def update_stream(self, stream_id: str, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as db:
            db.execute(
                f"UPDATE streams SET {assignments} WHERE stream_id = ?",
                [*fields.values(), stream_id],
            )

    def queued_streams(self) -> list[Row]:
        """Pending streams of active jobs, oldest job first, in script order."""
        return self._all(
            "SELECT s.* FROM streams s JOIN jobs j USING (job_id) "
            f"WHERE s.status = 'pending' AND j.status IN {_ACTIVE_SQL} "
            "ORDER BY j.seq, s.seq"
        )

    def completed_recordings(self, *, owner: str, limit: int, offset: int) -> tuple[list[Row], int]:
        base = (
            "FROM streams s JOIN jobs j USING (job_id) WHERE s.status = 'completed' AND j.owner = ?"
        )
        with self._read_lock:
            total = self._count(f"SELECT COUNT(*) {base}", (owner,))
            rows = self._all(
                f"SELECT s.* {base} ORDER BY s.ended_at DESC, s.seq DESC LIMIT ? OFFSET ?",
                (owner, limit, offset),
            )
        return rows, total

    def recent_render_rates(self, n: int = 20) -> list[float]:
        """Seconds of rendering per second of video, for the latest completed streams."""
        rows = self._all(
            "SELECT render_seconds, duration_ms FROM streams WHERE status = 'completed' "
            "AND render_seconds IS NOT NULL AND duration_ms > 0 ORDER BY seq DESC LIMIT ?",
            (n,),
        )
        return [r["render_seconds"] / (r["duration_ms"] / 1000.0) for r in rows]

    # ------------------------------------------------------------------ reconciling

    def streams_in_flight(self) -> list[Row]:
        """Streams the store thinks a worker holds (dispatched, processing), of active jobs."""
        return self._all(
            "SELECT s.stream_id, s.job_id FROM streams s JOIN jobs j USING (job_id) "
            "WHERE s.status IN ('dispatched','processing') "
            f"AND j.status IN {_ACTIVE_SQL} ORDER BY s.seq"
        )

    def settled_active_jobs(self) -> list[str]:
        """Active jobs all of whose streams have ended: their own end was never written."""
        rows = self._all(
            f"SELECT job_id FROM jobs j WHERE status IN {_ACTIVE_SQL} "
            "AND NOT EXISTS (SELECT 1 FROM streams s WHERE s.job_id = j.job_id "
            f"AND s.status IN {_ACTIVE_SQL}) ORDER BY seq"
        )
        return [r["job_id"] for r in rows]

    def requeue_orphan(
        self, job_id: str, stream_id: str, *, job_in_flight: bool, max_tries: int
    ) -> bool:
        """Put a stream no worker owns back in the queue (``retry_count`` + 1); True if it failed.

        A stream lost ``max_tries`` times fails with the reason instead, so a job whose
        state keeps failing to be written ends rather than circling. ``job_in_flight``
        says whether a worker still renders another stream of the job; if none does,
        the job itself goes back to ``pending``.
        """
        with self._tx() as db:
            row = db.execute(
                f"SELECT retry_count FROM jobs WHERE job_id = ? AND status IN {_ACTIVE_SQL}",
                (job_id,),
            ).fetchone()
            if row is None:
                return False
            retries = int(row["retry_count"]) + 1
            db.execute("UPDATE jobs SET retry_count = ? WHERE job_id = ?", (retries, job_id))
            if retries >= max_tries:
                db.execute(
                    "UPDATE streams SET status = 'failed', error_message = ?, ended_at = ? "
                    "WHERE stream_id = ?",
                    (
                        f"the engine lost track of this stream {retries} times (its state "
                        "could not be written to the database); giving up",
                        utc_now(),
                        stream_id,
                    ),
                )
                return True
            db.execute(
                "UPDATE streams SET status = 'pending', started_at = NULL WHERE stream_id = ?",
                (stream_id,),
            )
            if not job_in_flight:
                db.execute(
                    "UPDATE jobs SET status = 'pending', dispatched_at = NULL, started_at = NULL "
                    "WHERE job_id = ?",
                    (job_id,),
                )
            return False

    # ------------------------------------------------------------------ restarts

    def requeue_unfinished(self, *, count_retry: bool, max_tries: int) -> list[str]:
        """Put dispatched/processing jobs back in the queue; returns the ids that failed instead.

        After a crash (``count_retry``) each job that was rendering has its
        ``retry_count`` grown by one, and a job interrupted ``max_tries`` times fails for
        good, so nothing stays stuck. A job still in its session start-up (``dispatched``)
        had not begun to render: it goes back to the queue uncounted.
        """
        failed: list[str] = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT job_id, status, retry_count FROM jobs "
                "WHERE status IN ('dispatched','processing')"
            ).fetchall()
            for row in rows:
                job_id, retries = row["job_id"], int(row["retry_count"])
                counted = count_retry and row["status"] == "processing"
                if counted:
                    retries += 1
                db.execute(
                    "UPDATE streams SET status = 'pending', started_at = NULL "
                    "WHERE job_id = ? AND status IN ('dispatched','processing')",
                    (job_id,),
                )
                if counted and retries >= max_tries:
                    message = (
                        f"the engine stopped while rendering this job {retries} times; "
                        "giving up (submit it again to retry)"
                    )
                    db.execute(
                        "UPDATE jobs SET status = 'failed', retry_count = ?, error_message = ?, "
                        "completed_at = ? WHERE job_id = ?",
                        (retries, message, utc_now(), job_id),
                    )
                    db.execute(
                        "UPDATE streams SET status = 'failed', error_message = ? "
                        "WHERE job_id = ? AND status = 'pending'",
                        ("rendering was interrupted too many times", job_id),
                    )
                    failed.append(job_id)
                else:
                    db.execute(
                        "UPDATE jobs SET status = 'pending', retry_count = ?, "
                        "dispatched_at = NULL, started_at = NULL WHERE job_id = ?",
                        (retries, job_id),
                    )
        return failed
