"""SQLite storage of jobs, their scripts and streams: the engine's memory across restarts.

One connection guarded by a lock: every statement is tiny (milliseconds), so the
HTTP side may call it directly from the event loop. WAL keeps readers and the
writer out of each other's way and survives a SIGKILL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ACTIVE_JOB_STATES = ("pending", "dispatched", "processing")
TERMINAL_STATES = ("completed", "failed", "cancelled")

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
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, params).fetchall()]

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
                "INSERT INTO scripts (job_id, script_index, body) VALUES (?, ?, ?)",
                [(job_id, i, json.dumps(s, separators=(",", ":"))) for i, s in enumerate(scripts)],
            )
            db.executemany(
                "INSERT INTO streams (stream_id, job_id, script_index, plan_index, duration_ms, "
                "width, height) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(str(uuid.uuid4()), job_id, si, pi, ms, width, height) for si, pi, ms in streams],
            )
        return job_id

    def job_for_key(self, owner: str, idempotency: IdempotencyKey) -> str | None:
        """The job an unexpired key already created, if any (raises on a body mismatch)."""
        with self._lock:
            return _job_for_key(self._db, owner, idempotency)

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
        row = self._one(
            "SELECT body FROM scripts WHERE job_id = ? AND script_index = ?", (job_id, script_index)
        )
        if row is None:
            raise KeyError(f"no script {script_index} for job {job_id}")
        body: list[dict[str, Any]] = json.loads(row["body"])
        return body

    def list_jobs(
        self, *, owner: str, statuses: Sequence[str] | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        where, params = "owner = ?", [owner]
        if statuses is not None:
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(statuses)
        with self._lock:
            total = int(
                self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}", params).fetchone()[0]
            )
            rows = self._all(
                f"SELECT * FROM jobs WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        return rows, total

    def count_active(self, owner: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM jobs WHERE status IN ('pending','dispatched','processing')"
        params: list[Any] = []
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        with self._lock:
            return int(self._db.execute(sql, params).fetchone()[0])

    def count_active_streams(self, owner: str) -> int:
        """Streams of this owner's active jobs (for ``--max-active-streams``)."""
        sql = (
            "SELECT COUNT(*) FROM streams s JOIN jobs j ON j.job_id = s.job_id "
            "WHERE j.status IN ('pending','dispatched','processing') AND j.owner = ?"
        )
        with self._lock:
            return int(self._db.execute(sql, [owner]).fetchone()[0])

    def active_job_ids(self) -> list[str]:
        rows = self._all(
            "SELECT job_id FROM jobs WHERE status IN ('pending','dispatched','processing') "
            "ORDER BY seq"
        )
        return [r["job_id"] for r in rows]

    def update_job(self, job_id: str, **fields: Any) -> None:
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as db:
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ?", [*fields.values(), job_id]
            )

    def set_job_status_if(self, job_id: str, expected: Sequence[str], **fields: Any) -> bool:
        """Update a job only while its status is one of ``expected``; True when it did."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        marks = ",".join("?" * len(expected))
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ? AND status IN ({marks})",
                [*fields.values(), job_id, *expected],
            )
            return cursor.rowcount > 0

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
            "WHERE s.status = 'pending' AND j.status IN ('pending','dispatched','processing') "
            "ORDER BY j.seq, s.seq"
        )

    def completed_recordings(self, *, owner: str, limit: int, offset: int) -> tuple[list[Row], int]:
        base = (
            "FROM streams s JOIN jobs j USING (job_id) WHERE s.status = 'completed' AND j.owner = ?"
        )
        with self._lock:
            total = int(self._db.execute(f"SELECT COUNT(*) {base}", (owner,)).fetchone()[0])
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

    # ------------------------------------------------------------------ restarts

    def requeue_unfinished(self, *, count_retry: bool, max_tries: int) -> list[str]:
        """Put dispatched/processing jobs back in the queue; returns the ids that failed instead.

        After a crash (``count_retry``) each job's ``retry_count`` grows by one and a job
        interrupted ``max_tries`` times fails for good, so nothing stays stuck.
        """
        failed: list[str] = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT job_id, retry_count FROM jobs WHERE status IN ('dispatched','processing')"
            ).fetchall()
            for row in rows:
                job_id, retries = row["job_id"], int(row["retry_count"])
                if count_retry:
                    retries += 1
                db.execute(
                    "UPDATE streams SET status = 'pending', started_at = NULL "
                    "WHERE job_id = ? AND status IN ('dispatched','processing')",
                    (job_id,),
                )
                if count_retry and retries >= max_tries:
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
