"""The states of a sweep and of its items, stored, printed and compared as their plain values.

The ledger stores an item's state as its value, and the command line's JSON and
tables print it, so each state is a ``str`` enum that reads as that value.
"""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    """States that are their values: stored, printed, formatted and compared as plain text.

    ``format()`` and f-strings follow ``__str__`` (``Enum.__format__`` uses it once it is
    overridden), so ``f"{state:>9}"`` pads the value too.
    """

    def __str__(self) -> str:
        return str(self.value)


class ItemState(State):
    """Where an item is: the values the ledger stores and the command line prints."""

    PENDING = "pending"
    """Not sent yet."""
    SUBMITTING = "submitting"
    """Written with its idempotency key, its job being sent (after a crash: maybe sent)."""
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    """Its submission's answer was lost and the server keys nothing: ``resolve()`` settles it."""


IN_FLIGHT = frozenset({ItemState.SUBMITTING, ItemState.QUEUED, ItemState.RUNNING})
"""Being sent, or its job queued or running: it holds one of the sweep's slots."""


class SweepState(State):
    """Where a sweep is as a whole (its items each have an ``ItemState``)."""

    RUNNING = "running"
    PAUSED = "paused"
    """Sends nothing more (by the user, a budget, a limit or a fault); ``resume()`` continues."""
    CANCELLED = "cancelled"
    DONE = "done"


OVER = frozenset({SweepState.DONE, SweepState.CANCELLED})
"""States a sweep ends in."""
