"""Jobs by status, read from outside the engine: ``status`` beside a running engine or none."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def job_counts(path: Path) -> dict[str, int] | None:
    """Jobs by status in the database at ``path``, read-only (``None`` if it cannot be read).

    It opens the file without creating, migrating or locking anything, and
    SQLite's WAL lets it read while the engine writes.
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
