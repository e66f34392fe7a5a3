"""``engine.json``: where a running engine answers, written by the engine, read by launchers.

The engine writes it once it listens and removes it as it stops; kernels find
the engine serving a data directory through it. It also says which version of the
package the engine runs, from which installation, and at which pace, so that a
kernel can tell an engine it must not reuse (``EngineRecord.stale_reason``). Its name and shape
live here only. Standard library only: the launcher imports it inside kernels.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.launch.options import DEFAULT_PACE
from odyssey_jupyter.local.store.keys import write_private
from odyssey_jupyter.version import package_version

RECORD_NAME = "engine.json"


def record_path(data_dir: Path) -> Path:
    """The record's file in ``data_dir``."""
    return data_dir / RECORD_NAME


def this_installation() -> dict[str, str]:
    """The package's version, its directory and the environment (``sys.prefix``) it runs from."""
    return {
        "version": package_version(),
        "package": str(Path(__file__).resolve().parents[2]),
        "installation": sys.prefix,
    }


def write_record(
    data_dir: Path,
    url: str,
    pid: int,
    api_key: str | None,
    *,
    pace: str = DEFAULT_PACE,
    workers: int | None = None,
) -> None:
    """Say where the engine ``pid`` answers; the key only when the engine generated it."""
    info: dict[str, Any] = {
        "url": url,
        "pid": pid,
        "api_key": api_key,
        "pace": pace,
        "workers": workers,
        "started": time.time(),
    }
    info.update(this_installation())
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


@dataclass(frozen=True, slots=True)
class EngineRecord:
    """A record as launchers use it; the key, when the engine generated it, not in the repr."""

    url: str
    pid: int
    api_key: str | None = field(repr=False)
    pace: str
    version: str | None
    installation: str | None
    package: str | None
    workers: int | None = None
    started: float | None = None
    """When the engine began serving (seconds since the epoch), as it recorded it."""

    def stale_reason(self) -> str | None:
        """Why a kernel must not reuse this engine, or ``None`` if it may.

        It may when it runs this kernel's version of the package from an installation
        that still exists, whatever its pace (it serves every client). An engine
        left behind by another version, or by a deleted virtual environment, would
        otherwise keep serving every new kernel: its workers import code that is gone
        or different.
        """
        mine = this_installation()["version"]
        if self.version != mine:
            shown = "an older version" if self.version is None else f"version {self.version}"
            return f"it runs {shown} of odyssey_jupyter and this kernel runs {mine}"
        for where in (self.installation, self.package):
            if where is None or not Path(where).is_dir():
                return f"its installation {where} no longer exists"
        return None


def _text(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    return value if isinstance(value, str) else None


def _count(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _moment(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return None
    return float(value)


def load_record(data_dir: Path) -> EngineRecord | None:
    """The record in ``data_dir``, or ``None`` when it is missing or names no url and pid."""
    record = read_record(data_dir)
    if record is None:
        return None
    url, pid = record.get("url"), record.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return EngineRecord(
        url=url,
        pid=pid,
        api_key=_text(record, "api_key"),
        pace=_text(record, "pace") or DEFAULT_PACE,
        version=_text(record, "version"),
        installation=_text(record, "installation"),
        package=_text(record, "package"),
        workers=_count(record, "workers"),
        started=_moment(record, "started"),
    )


def forget_record(data_dir: Path, pid: int) -> None:
    """Remove the record if it is still the one ``pid`` wrote (a successor's stays)."""
    if recorded_pid(data_dir) != pid:
        return
    with contextlib.suppress(OSError):
        record_path(data_dir).unlink()
