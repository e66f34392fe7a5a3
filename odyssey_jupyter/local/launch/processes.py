"""Process checks and signals that mean the same on Linux, macOS and Windows.

``os.kill(pid, 0)`` and ``SIGKILL`` do not exist on Windows (``os.kill`` there ends
the process whatever the signal), and ``/proc`` is Linux's: every question about
another process goes through ``psutil`` here, the ``local`` extra's: it is imported
when first needed, so the launcher still imports in a kernel without the extra
(and then says what to install).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 0.05


def _psutil() -> Any:
    import psutil

    return psutil


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (an exited process its parent has not reaped yet does not)."""
    psutil = _psutil()
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


def started_at(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch), or ``None`` if that cannot be told."""
    psutil = _psutil()
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def terminate(pid: int) -> bool:
    """Ask ``pid`` to stop (SIGTERM on POSIX; on Windows this ends it at once).

    ``False`` when it was already gone; ``PermissionError`` when it is not ours to stop.
    """
    psutil = _psutil()
    try:
        psutil.Process(pid).terminate()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        raise PermissionError(f"process {pid} belongs to another user") from None
    return True


def kill(pid: int) -> None:
    """End ``pid`` without letting it clean up (SIGKILL on POSIX), if it still runs."""
    psutil = _psutil()
    try:
        psutil.Process(pid).kill()
    except psutil.NoSuchProcess:
        return
    except psutil.AccessDenied:
        raise PermissionError(f"process {pid} belongs to another user") from None


def wait_gone(pid: int, timeout: float, *, reap: Callable[[], None] | None = None) -> bool:
    """Whether ``pid`` exits within ``timeout``; ``reap`` collects this process's children."""
    deadline = time.monotonic() + timeout
    while True:
        if reap is not None:
            reap()
        if not alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
