"""The engine's memory across restarts: jobs, their scripts and streams, in SQLite.

The queries the routes and the dispatcher ask, each one statement or one
transaction of ``database.Database`` (which makes every SQLite failure a
``StorageError``). A stored script that cannot be read is a ``CorruptRow``: the
job fails, the queue moves on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.store.database import Database, Row
from odyssey_jupyter.local.store.idempotency import IdempotencyKey, claim_key, job_for_key
from odyssey_jupyter.local.store.schema import ACTIVE_SQL
from odyssey_jupyter.local.store.timestamps import utc_now


class CorruptRow(ValueError):
    """A stored row cannot be decoded; the message names the job and what is wrong."""


class Store:
    """Jobs, scripts and streams in ``<data_dir>/engine.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database(path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        with self._db.transaction() as db:
            if idempotency is not None:
                earlier = claim_key(db, owner, idempotency, job_id)
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
        with self._db.reading() as db:
            return job_for_key(db, owner, idempotency)

    def job(self, job_id: str) -> Row | None:
        return self._db.row("SELECT * FROM jobs WHERE job_id = ?", (job_id,))

    def streams_of(self, job_id: str) -> list[Row]:
        return self._db.rows("SELECT * FROM streams WHERE job_id = ? ORDER BY seq", (job_id,))

    def script(self, job_id: str, script_index: int) -> list[dict[str, Any]]:
        """A stored script, decoded strictly (a damaged prompt must not render as U+FFFD)."""
        row = self._db.row(
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
        with self._db.snapshot():
            total = self._db.count(f"SELECT COUNT(*) FROM jobs WHERE {where}", params)
            rows = self._db.rows(
                f"SELECT * FROM jobs WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        return rows, total

    def count_active(self, owner: str | None = None) -> int:
        sql = f"SELECT COUNT(*) FROM jobs WHERE status IN {ACTIVE_SQL}"
        params: list[Any] = []
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        return self._db.count(sql, params)

    def count_active_streams(self, owner: str) -> int:
        """Streams of this owner's active jobs (for ``--max-active-streams``)."""
        sql = (
            "SELECT COUNT(*) FROM streams s JOIN jobs j ON j.job_id = s.job_id "
            f"WHERE j.status IN {ACTIVE_SQL} AND j.owner = ?"
        )
        return self._db.count(sql, [owner])

    def active_job_ids(self) -> list[str]:
        rows = self._db.rows(f"SELECT job_id FROM jobs WHERE status IN {ACTIVE_SQL} ORDER BY seq")
        return [r["job_id"] for r in rows]

    def update_job(self, job_id: str, **fields: Any) -> None:
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._db.transaction() as db:
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ?", [*fields.values(), job_id]
            )

    def set_job_status_if(self, job_id: str, expected: Collection[str], **fields: Any) -> bool:
        """Update a job only while its status is one of ``expected``; True when it did."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        marks = ",".join("?" * len(expected))
        with self._db.transaction() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {assignments} WHERE job_id = ? AND status IN ({marks})",
                [*fields.values(), job_id, *expected],
            )
            return cursor.rowcount > 0

    def mark_dispatched(self, job_id: str, stream_id: str) -> None:
        """A stream handed to a worker, and its job ``dispatched`` if it was pending: one write."""
        with self._db.transaction() as db:
            db.execute("UPDATE streams SET status = 'dispatched' WHERE stream_id = ?", (stream_id,))
            db.execute(
                "UPDATE jobs SET status = 'dispatched', dispatched_at = ? "
                "WHERE job_id = ? AND status = 'pending'",
                (utc_now(), job_id),
            )

    def cancel_job(self, job_id: str) -> bool:
        """Cancel an active job and its unfinished streams in one write; False if it had ended."""
        now = utc_now()
        with self._db.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'cancelled', completed_at = ? "
                f"WHERE job_id = ? AND status IN {ACTIVE_SQL}",
                (now, job_id),
            )
            if cursor.rowcount == 0:
                return False
            db.execute(
                "UPDATE streams SET status = 'cancelled', ended_at = ? "
                f"WHERE job_id = ? AND status IN {ACTIVE_SQL}",
                (now, job_id),
            )
            return True

    def fail_job(self, job_id: str, message: str) -> None:
        """End an active job as failed, with its unfinished streams, for ``message``."""
        now = utc_now()
        with self._db.transaction() as db:
            db.execute(
                "UPDATE jobs SET status = 'failed', error_message = ?, completed_at = ? "
                f"WHERE job_id = ? AND status IN {ACTIVE_SQL}",
                (message, now, job_id),
            )
            db.execute(
                "UPDATE streams SET status = 'failed', error_message = ?, ended_at = ? "
                f"WHERE job_id = ? AND status IN {ACTIVE_SQL}",
                (message, now, job_id),
            )

    # ------------------------------------------------------------------ streams

    def stream(self, stream_id: str) -> Row | None:
        return self._db.row(
            "SELECT s.*, j.owner AS owner, j.status AS job_status FROM streams s "
            "JOIN jobs j USING (job_id) WHERE s.stream_id = ?",
            (stream_id,),
        )

    def update_stream(self, stream_id: str, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._db.transaction() as db:
            db.execute(
                f"UPDATE streams SET {assignments} WHERE stream_id = ?",
                [*fields.values(), stream_id],
            )

    def queued_streams(self) -> list[Row]:
        """Pending streams of active jobs, oldest job first, in script order."""
        return self._db.rows(
            "SELECT s.* FROM streams s JOIN jobs j USING (job_id) "
            f"WHERE s.status = 'pending' AND j.status IN {ACTIVE_SQL} "
            "ORDER BY j.seq, s.seq"
        )

    def completed_recordings(self, *, owner: str, limit: int, offset: int) -> tuple[list[Row], int]:
        base = (
            "FROM streams s JOIN jobs j USING (job_id) WHERE s.status = 'completed' AND j.owner = ?"
        )
        with self._db.snapshot():
            total = self._db.count(f"SELECT COUNT(*) {base}", (owner,))
            rows = self._db.rows(
                f"SELECT s.* {base} ORDER BY s.ended_at DESC, s.seq DESC LIMIT ? OFFSET ?",
                (owner, limit, offset),
            )
        return rows, total

    def recent_render_rates(self, n: int = 20) -> list[float]:
        """Seconds of rendering per second of video, for the latest completed streams."""
        rows = self._db.rows(
            "SELECT render_seconds, duration_ms FROM streams WHERE status = 'completed' "
            "AND render_seconds IS NOT NULL AND duration_ms > 0 ORDER BY seq DESC LIMIT ?",
            (n,),
        )
        return [r["render_seconds"] / (r["duration_ms"] / 1000.0) for r in rows]

    # ------------------------------------------------------------------ reconciling

    def streams_in_flight(self) -> list[Row]:
        """Streams the store thinks a worker holds (dispatched, processing), of active jobs."""
        return self._db.rows(
            "SELECT s.stream_id, s.job_id FROM streams s JOIN jobs j USING (job_id) "
            "WHERE s.status IN ('dispatched','processing') "
            f"AND j.status IN {ACTIVE_SQL} ORDER BY s.seq"
        )

    def settled_active_jobs(self) -> list[str]:
        """Active jobs all of whose streams have ended: their own end was never written."""
        rows = self._db.rows(
            f"SELECT job_id FROM jobs j WHERE status IN {ACTIVE_SQL} "
            "AND NOT EXISTS (SELECT 1 FROM streams s WHERE s.job_id = j.job_id "
            f"AND s.status IN {ACTIVE_SQL}) ORDER BY seq"
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
        with self._db.transaction() as db:
            row = db.execute(
                f"SELECT retry_count FROM jobs WHERE job_id = ? AND status IN {ACTIVE_SQL}",
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
        with self._db.transaction() as db:
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
