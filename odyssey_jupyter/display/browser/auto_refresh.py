"""Re-fetching a browser's page while a job on it is active, and no longer.

The timer runs on the ``odyssey-loop`` thread. It starts when something listed
is active (or the list call failed: it keeps retrying, backing off up to
``MAX_BACKOFF`` seconds) and stops as soon as nothing is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

MAX_BACKOFF = 30.0
"""Longest wait between two attempts while the API cannot be reached (seconds)."""


class AutoRefresh:
    """The browser's refresh timer: ``wanted`` says when it runs, ``refresh`` is one round."""

    def __init__(
        self,
        wanted: Callable[[], bool],
        refresh: Callable[[], Coroutine[Any, Any, None]],
        failing: Callable[[], bool],
        interval: float,
    ) -> None:
        self.wanted = wanted
        self.refresh = refresh
        self.failing = failing
        self.interval = interval
        self.task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def schedule(self) -> None:
        """Loop thread: start the timer when it is wanted; stop it as soon as it is not."""
        task = self.task
        if self.wanted():
            if task is None or task.done():
                self.task = asyncio.get_running_loop().create_task(self._run())
        elif task is not None and task is not asyncio.current_task():
            task.cancel()
            self.task = None

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Any thread: cancel the timer on its loop."""
        if self.task is not None:
            loop.call_soon_threadsafe(self.task.cancel)

    async def _run(self) -> None:
        delay = self.interval
        try:
            while self.wanted():
                await asyncio.sleep(delay)
                if not self.wanted():
                    return
                await self.refresh()
                delay = min(delay * 2, MAX_BACKOFF) if self.failing() else self.interval
        finally:
            if self.task is asyncio.current_task():
                self.task = None
