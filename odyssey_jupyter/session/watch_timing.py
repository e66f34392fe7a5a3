"""When a watched job may change next, which sets how soon the watcher polls it again.

A job that may end any moment is polled at the short interval; one that should go on
unchanged for a while (by its progress, or by its script's length, since the hosted
service renders no faster than real time) is left to the long one. ``Job`` has these
methods; the watcher reads them through its ``WatchedJob`` protocol.
"""

from __future__ import annotations

import time

from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.script.rules import Script, plan_streams
from odyssey_jupyter.session.watcher import ACTIVE_CAP, QUEUED_LONG_SECONDS


def _expected_seconds(scripts: list[Script] | None) -> float | None:
    """How long rendering should take at real time: the longest script's total stream time."""
    if not scripts:
        return None
    try:
        per_script = [
            sum(plan.duration_ms for plan in plan_streams(s, script_index=i)) / 1000.0
            for i, s in enumerate(scripts)
        ]
    except Exception:
        return None
    return max(per_script) if per_script else None


class WatchTiming:
    """How soon a job may change: when it was last read, started running, should end."""

    detail: SimulationJobDetail | None
    background: bool

    def __init__(self, scripts: list[Script] | None) -> None:
        self.last_detail_at = 0.0
        """When the job's detail was last read (``time.monotonic()``)."""
        self._watch_since = time.monotonic()
        self._running_since: float | None = None
        self._expected_seconds = _expected_seconds(scripts)

    def note_running(self, detail: SimulationJobDetail) -> None:
        """Start the clock of a job seen past ``pending`` for the first time."""
        if detail.status != JobStatus.PENDING and detail.is_active and self._running_since is None:
            self._running_since = time.monotonic()

    def may_change_soon(self, now: float, high: float) -> bool:
        detail = self.detail
        if self.background:
            return False  # followed in bulk: a few seconds late is fine
        if detail is None:
            return True
        if detail.status == JobStatus.PENDING:
            waits_long = (
                detail.estimated_wait_minutes is not None and detail.estimated_wait_minutes >= 1.0
            )
            return not (waits_long or now - self._watch_since > QUEUED_LONG_SECONDS)
        return self._quiet_seconds(now) < high + ACTIVE_CAP

    def _quiet_seconds(self, now: float) -> float:
        """How long this running job should go on unchanged; 0 when it may end any moment.

        From its progress when the server reports one: half the remaining time
        extrapolated at the moment that progress was read (so a stale reading never
        stretches the estimate). Otherwise from its script's length, since the hosted
        service renders no faster than real time.
        """
        detail = self.detail
        if self._running_since is None or detail is None or not detail.is_active:
            return 0.0
        progress = detail.progress
        read_at = self.last_detail_at
        elapsed = read_at - self._running_since
        if progress is not None and 0.0 < progress < 1.0 and elapsed > 0:
            return max(0.0, 0.5 * elapsed * (1.0 - progress) / progress - (now - read_at))
        end = self._expected_end()
        return 0.0 if end is None else max(0.0, end - now)

    def _expected_end(self) -> float | None:
        """When the running job should finish by its script's length (monotonic), if known."""
        if self._running_since is None or self._expected_seconds is None:
            return None
        return self._running_since + self._expected_seconds

    def near_expected_end(self, now: float) -> bool:
        """True around the time the running job should finish (poll at the short end)."""
        end = self._expected_end()
        return end is not None and end - 1.0 <= now <= end + 3.0
