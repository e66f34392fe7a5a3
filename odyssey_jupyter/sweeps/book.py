"""A running sweep's items in memory, changed only together with its ledger.

Items packed into one job form a :class:`Unit`: the scheduler's view of them,
which keeps beside the items only what the ledger does not (whether the job's
slot is free, when it was sent). A unit's state, key, job id, error, attempts
and job are its items'; every change writes the ledger in one transaction.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.states import IN_FLIGHT, ItemState

if TYPE_CHECKING:
    from odyssey_jupyter.session.jobs import Job
    from odyssey_jupyter.sweeps.ledger import Ledger

_LEDGER_COLUMNS = {"state": "state", "key": "idem_key", "job_id": "job_id", "error": "error"}
"""A unit's fields that the ledger keeps, and the ledger's column for each."""


class Unit:
    """Items sent as one job (one item unless ``pack`` > 1), in their order in its scripts."""

    def __init__(self, number: int, items: list[SweepItem]) -> None:
        self.number = number
        self.items = items
        self.slot_free = False
        """Its job has ended on the server (whether or not its recordings are in yet)."""
        self.sent_at: float | None = None

    @property
    def first(self) -> SweepItem:
        return self.items[0]

    @property
    def state(self) -> ItemState:
        return self.first.state

    @property
    def key(self) -> str | None:
        return self.first.key

    @property
    def job_id(self) -> str | None:
        return self.first.job_id

    @property
    def attempts(self) -> int:
        return self.first.attempts

    @property
    def job(self) -> Job | None:
        return self.first.job

    @job.setter
    def job(self, job: Job | None) -> None:
        for item in self.items:
            item.job = job

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT


class ItemBook:
    """Every item of one sweep by index, grouped in units; safe to read from any thread
    through :meth:`snapshot`, changed on the loop thread only."""

    def __init__(self, ledger: Ledger, items: list[SweepItem]) -> None:
        self.ledger = ledger
        self._items = {item.index: item for item in items}
        grouped: dict[int, list[SweepItem]] = {}
        for item in items:
            grouped.setdefault(item.unit, []).append(item)
        self.units = {number: Unit(number, members) for number, members in grouped.items()}
        self._seconds: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._items)

    def in_state(self, *states: ItemState) -> list[Unit]:
        return [unit for unit in self.units.values() if unit.state in states]

    def unit_of(self, index: int) -> Unit | None:
        item = self._items.get(index)
        return None if item is None else self.units[item.unit]

    def any_in_flight(self) -> bool:
        return any(unit.in_flight for unit in self.units.values())

    def in_flight(self) -> int:
        """Jobs queued or running on the server now (or being sent)."""
        return sum(1 for u in self.units.values() if u.in_flight and not u.slot_free)

    def jobs_left(self) -> int:
        """Jobs not yet ended: pending or in flight."""
        return sum(1 for u in self.units.values() if u.state == ItemState.PENDING or u.in_flight)

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> list[SweepItem]:
        """A copy of every item, by index (its files copied too)."""
        out = []
        for item in self:
            mine = copy.copy(item)
            mine.files = list(item.files)
            out.append(mine)
        return out

    def __iter__(self) -> Iterator[SweepItem]:
        return iter(self._items.values())  # the ledger reads them by index

    def counts(self) -> dict[str, int]:
        """Items per state (every state listed, zeros included), and ``total``."""
        counts = {state.value: 0 for state in ItemState}
        for item in self._items.values():
            counts[item.state] += 1
        counts["total"] = len(self._items)
        return counts

    def seconds_of(self, unit: Unit) -> float:
        """Seconds of video a unit's scripts ask for."""
        if unit.number not in self._seconds:
            self._seconds[unit.number] = sum(budget.script_seconds(i.script) for i in unit.items)
        return self._seconds[unit.number]

    def video_seconds_used(self) -> float:
        """Seconds of video of every unit sent so far (what the budget counts)."""
        units = list(self.units.values())
        return budget.spent((u.state, u.job_id, self.seconds_of(u)) for u in units)

    # ------------------------------------------------------------------ changes

    def change(self, unit: Unit, **changes: Any) -> None:
        """Change a unit's state, key, job id or error in memory and in the ledger (one
        transaction); a unit made pending or submitting again loses its error, and each
        submission is counted."""
        if "state" in changes:
            if "error" not in changes and changes["state"] in (
                ItemState.PENDING,
                ItemState.SUBMITTING,
            ):
                changes["error"] = None
            if changes["state"] == ItemState.SUBMITTING:
                changes["attempts"] = unit.attempts + 1
        for item in unit.items:
            for name, value in changes.items():
                setattr(item, name, value)
        columns = {_LEDGER_COLUMNS.get(name, name): value for name, value in changes.items()}
        self.ledger.set_unit(unit.number, **columns)

    def finish(
        self,
        unit: Unit,
        state: ItemState,
        error: str | None,
        files: dict[int, list[dict[str, Any]]],
    ) -> None:
        """A unit's final state and each item's files, in memory and in one transaction."""
        for item in unit.items:
            item.state, item.error, item.files = state, error, files[item.index]
        self.ledger.finish_unit(unit.number, state, error, files)

    def store_files(self, index: int, files: list[dict[str, Any]]) -> None:
        """One item's files (where the output store holds them too): ledger, then memory."""
        self.ledger.set_files(index, files)
        self._items[index].files = files
