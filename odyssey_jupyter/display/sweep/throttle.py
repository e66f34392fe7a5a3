"""Redrawing at most every so often, without losing the last change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Calls ``fn`` at most every ``every`` seconds; a call it holds back comes later.

    The last change before a quiet spell is never lost: a held-back call is made
    when the interval is over (on a timer thread), so what is shown catches up.
    """

    def __init__(self, every: float, fn: Callable[[], None]) -> None:
        self.every = every
        self.fn = fn
        self._last = 0.0
        self._lock = threading.Lock()
        self._running = threading.Lock()
        self._timer: threading.Timer | None = None

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            wait = self.every - (now - self._last)
            if not force and wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._later)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._last = now
        self._call()

    def _later(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._call()

    def _call(self) -> None:
        with self._running:  # one drawing at a time
            self.fn()
