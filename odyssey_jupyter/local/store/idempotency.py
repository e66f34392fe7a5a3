"""Submissions' ``Idempotency-Key``: a repeated key answers with the job it created.

A key lives ``IDEMPOTENCY_KEY_TTL`` and belongs to one owner; the same key with
another body is a conflict, not a second job.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from odyssey_jupyter.local.store.timestamps import utc_now, utc_stamp

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


def _key_cutoff() -> str:
    """Keys created before this time (same format as ``utc_now``) have expired."""
    return utc_stamp(datetime.now(timezone.utc) - IDEMPOTENCY_KEY_TTL)


def job_for_key(db: sqlite3.Connection, owner: str, idempotency: IdempotencyKey) -> str | None:
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


def claim_key(
    db: sqlite3.Connection, owner: str, idempotency: IdempotencyKey, job_id: str
) -> str | None:
    """Give the key to ``job_id`` inside the caller's transaction, or the job that holds it.

    Expired keys are swept on the way, so the table holds only a day of keys.
    """
    earlier = job_for_key(db, owner, idempotency)
    if earlier is not None:
        return earlier
    db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (_key_cutoff(),))
    db.execute(
        "INSERT INTO idempotency_keys (owner, key, fingerprint, job_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (owner, idempotency.key, idempotency.fingerprint, job_id, utc_now()),
    )
    return None
