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
    found = find(pid)
    return found is not None and found.running()


def started_at(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch), or ``None`` if that cannot be told."""
    found = find(pid)
    return None if found is None else found.started_at()


class Handle:
    """One process as it was found: its checks and signals go to it or nowhere.

    Looked up once, by ``find``: psutil remembers the process's start time and
    refuses to signal a later process that was given the same pid, which a fresh
    lookup for each signal would not notice.
    """

    def __init__(self, process: Any) -> None:
        self._process = process
        self.pid = int(process.pid)

    def started_at(self) -> float | None:
        """When it started (seconds since the epoch), or ``None`` if that cannot be told."""
        psutil = _psutil()
        try:
            return float(self._process.create_time())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def running(self) -> bool:
        """Whether it runs still (an exited one its parent has not reaped does not)."""
        psutil = _psutil()
        try:
            return bool(
                self._process.is_running() and self._process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:  # another user's process: it exists
            return True

    def terminate(self) -> bool:
        """Ask it to stop (SIGTERM on POSIX; on Windows this ends it at once).

        ``False`` when it was already gone; ``PermissionError`` when it is not ours to stop.
        """
        psutil = _psutil()
        try:
            self._process.terminate()
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            raise PermissionError(f"process {self.pid} belongs to another user") from None
        return True

    def kill(self) -> None:
        """End it without letting it clean up (SIGKILL on POSIX), if it still runs."""
        psutil = _psutil()
        try:
            self._process.kill()
        except psutil.NoSuchProcess:
            return
        except psutil.AccessDenied:
            raise PermissionError(f"process {self.pid} belongs to another user") from None

    def wait_gone(self, timeout: float, *, reap: Callable[[], None] | None = None) -> bool:
        """Whether it exits within ``timeout``; ``reap`` collects this process's children."""
        deadline = time.monotonic() + timeout
        while True:
            if reap is not None:
                reap()
            if not self.running():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)


def find(pid: int) -> Handle | None:
    """The process ``pid`` now, to check and signal from here on; ``None`` if there is none.

    A pid below 1 (a damaged ``engine.json`` may name one) is no process.
    """
    if pid < 1:
        return None
    psutil = _psutil()
    try:
        return Handle(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return None
