"""Following a sweep from a terminal, with a stand-in for the sweep."""

from __future__ import annotations

import io
from typing import Any

import pytest

from odyssey_jupyter.cli import follow as following
from odyssey_jupyter.cli.terminal import Terminal


class PausedSweep:
    """Paused by its budget, no job on the server, its last recordings still coming in."""

    name = "budgeted"
    state = "paused"
    finished = False
    message = "paused: the next item would pass the budget"

    def __init__(self, busy_for: int) -> None:
        self.waits = 0
        self.busy_for = busy_for
        self.items: list[Any] = []
        self.counts = dict.fromkeys(("failed", "unknown", "cancelled"), 0)
        self.counts.update(completed=1, pending=3, total=4)

    def wait(self, timeout: float | None = None) -> dict[str, int]:
        self.waits += 1
        return self.counts

    def in_flight(self) -> int:
        return 0

    @property
    def settled(self) -> bool:
        return self.waits > self.busy_for

    def budget_text(self) -> str | None:
        return None


def test_following_a_paused_sweep_waits_for_its_downloads_and_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from odyssey_jupyter.display.sweep import summary

    monkeypatch.setattr(summary, "status_line", lambda sweep: f"{sweep.name}: {sweep.waits}")
    sweep = PausedSweep(busy_for=2)
    term = Terminal(io.StringIO(), io.StringIO())
    following.follow(sweep, term, every=0.0)
    assert sweep.waits == 3
