"""Waiting for a job to end: polls that slow down while nothing changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from odyssey_jupyter.client.downloads import maybe_await
from odyssey_jupyter.errors import JobTimeoutError
from odyssey_jupyter.protocol.outcome import outcome_error
from odyssey_jupyter.protocol.types import SimulationJobDetail

UpdateCallback = Callable[[SimulationJobDetail], Any]
"""Sees every change of a waited-for job; sync or async."""
SLOWDOWN = 1.5
"""Each unchanged poll waits this much longer than the one before (up to the longest)."""
SHORTEST_POLL = 0.05
"""Seconds: no poll interval is shorter, whatever is asked."""


async def wait_for_job(
    status: Callable[[str], Awaitable[SimulationJobDetail]],
    job_id: str,
    timeout: float | None = None,
    on_update: UpdateCallback | None = None,
    *,
    raise_on_failure: bool = False,
    poll_interval: float = 1.0,
    max_poll_interval: float = 5.0,
) -> SimulationJobDetail:
    """Poll ``status(job_id)`` until the job ends (or ``timeout`` passes); the last detail.

    ``on_update`` sees every change. With ``raise_on_failure`` a failed, cancelled or
    timed-out wait raises JobFailedError, JobCancelledError or JobTimeoutError.
    """
    started = time.monotonic()
    interval = max(SHORTEST_POLL, poll_interval)
    last: SimulationJobDetail | None = None
    while True:
        detail = await status(job_id)
        if detail != last:
            interval = max(SHORTEST_POLL, poll_interval)
            if on_update is not None:
                await maybe_await(on_update(detail))
        else:
            interval = min(max_poll_interval, interval * SLOWDOWN)
        last = detail
        if detail.is_terminal:
            break
        remaining = None if timeout is None else timeout - (time.monotonic() - started)
        if remaining is not None and remaining <= 0:
            if raise_on_failure:
                raise JobTimeoutError(
                    f"job {job_id} is still {detail.status} after {timeout:g} s "
                    "(it goes on running)",
                    detail,
                )
            return detail
        await asyncio.sleep(interval if remaining is None else min(interval, remaining))
    failure = outcome_error(detail) if raise_on_failure else None
    if failure is not None:
        raise failure
    return detail
