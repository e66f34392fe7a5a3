"""``engine.json``: where a running engine answers, written by the engine, read by launchers.

The engine writes it once it listens and removes it as it stops; kernels find
the engine serving a data directory through it. Its name and shape live here
only. Standard library only: the launcher imports it inside kernels.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.keys import write_private

RECORD_NAME = "engine.json"


def record_path(data_dir: Path) -> Path:
    """The record's file in ``data_dir``."""
    return data_dir / RECORD_NAME


def write_record(data_dir: Path, url: str, pid: int, api_key: str | None) -> None:
    """Say where the engine ``pid`` answers; the key only when the engine generated it."""
    info: dict[str, Any] = {"url": url, "pid": pid, "api_key": api_key}
    write_private(record_path(data_dir), json.dumps(info).encode())


def read_record(data_dir: Path) -> dict[str, Any] | None:
    """The record as written, or ``None`` when it is missing, unreadable or not an object."""
    try:
        record = json.loads(record_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def recorded_pid(data_dir: Path) -> int | None:
    """The pid the record names, if it names one."""
    record = read_record(data_dir)
    pid = None if record is None else record.get("pid")
    return pid if isinstance(pid, int) else None


def forget_record(data_dir: Path, pid: int) -> None:
    """Remove the record if it is still the one ``pid`` wrote (a successor's stays)."""
    if recorded_pid(data_dir) != pid:
        return
    with contextlib.suppress(OSError):
        record_path(data_dir).unlink()
