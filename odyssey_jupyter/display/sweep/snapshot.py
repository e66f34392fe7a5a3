"""One look at a sweep, from which every part of its view is drawn.

The header, counts, bar, tiles and buttons all read the same :class:`SweepSnapshot`,
so they never contradict each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.handle import Sweep

LEFT_STATES = ("pending", "submitting", "queued", "running", "unknown")
"""Item states with work still to come."""


@dataclass(frozen=True)
class SweepSnapshot:
    """One look at a sweep: header, counts, bar, tiles and buttons are all drawn from it.

    The counts are made from the very items the tiles show, so the two cannot
    disagree; the ETA is there only while items are left and it can be estimated.
    """

    name: str
    state: str
    finished: bool
    items: tuple[Any, ...]
    counts: dict[str, int]
    in_flight: int
    target: int
    limit: int
    rate: float | None
    eta: float | None
    message: str | None
    limit_reason: str | None
    budget: str | None
    """Video seconds used against the budget (``42/60 s of video``), when there is one."""
    dataset: str | None
    """Where the dataset goes and what the players play (``output=``), when it has one."""

    @classmethod
    def of(cls, sweep: Sweep | SweepSnapshot) -> SweepSnapshot:
        if isinstance(sweep, SweepSnapshot):
            return sweep
        items = tuple(sweep.items)
        counts = dict.fromkeys(sweep.counts, 0)
        for item in items:
            counts[item.status] = counts.get(item.status, 0) + 1
        counts["total"] = len(items)
        left = sum(counts.get(state, 0) for state in LEFT_STATES)
        eta = sweep.eta_seconds() if sweep.state == "running" and left else None
        over = sweep.state in ("done", "cancelled")
        return cls(
            name=sweep.name,
            state=sweep.state,
            finished=sweep.finished,
            items=items,
            counts=counts,
            in_flight=sweep.in_flight(),
            target=int(sweep.target),
            limit=int(sweep.limit),
            rate=sweep.videos_per_minute(),
            eta=eta if eta is not None and eta >= 1.0 else None,
            message=None if over else sweep.message,
            limit_reason=sweep.last_limit_reason if sweep.target < sweep.limit else None,
            budget=sweep.budget_text(),
            dataset=sweep.output_text(),
        )

    @property
    def completed(self) -> int:
        return self.counts.get("completed", 0)

    @property
    def total(self) -> int:
        return self.counts["total"]

    def can(self, action: str) -> bool:
        """Whether a button would act now (disabled otherwise)."""
        if action == "pause":
            return self.state == "running" and not self.finished
        if action == "resume":
            return self.state == "paused"
        if action == "cancel":
            return self.state in ("running", "paused") and not self.finished
        if action == "retry":
            return self.state != "cancelled" and self.counts.get("failed", 0) > 0
        raise ValueError(f"no sweep action {action!r}")
