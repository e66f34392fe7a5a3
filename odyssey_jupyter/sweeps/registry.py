"""The sweeps this process runs, by name: one handle per ledger.

``Sweep.open`` returns the running handle of a sweep rather than a second one
(two would schedule one ledger twice). A handle whose runtime has stopped runs
nothing: it is retired (it lets go of its ledger and its lock) and forgotten,
so a new handle can take the sweep over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Live(Protocol):
    """What the registry asks of a handle."""

    @property
    def alive(self) -> bool:
        """Whether its runtime still runs (so its scheduler can)."""
        ...


Handle = TypeVar("Handle", bound=Live)


class Registry(Generic[Handle]):
    """Handles by sweep name; safe to use from any thread."""

    def __init__(self) -> None:
        self._handles: dict[str, Handle] = {}
        self._lock = threading.Lock()

    def add(self, name: str, handle: Handle) -> None:
        with self._lock:
            self._handles[name] = handle

    def running(self, name: str, retire: Callable[[Handle], None]) -> Handle | None:
        """The handle running ``name``; one whose runtime stopped is dropped and handed to
        ``retire`` (which lets go of its ledger), under the same lock."""
        with self._lock:
            handle = self._handles.get(name)
            if handle is None or handle.alive:
                return handle
            del self._handles[name]
            retire(handle)
            return None
