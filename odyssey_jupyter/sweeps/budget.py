"""A sweep's budget in seconds of video: stop submitting before the total would pass it.

Seconds are counted from each item's script (what its streams ask for), so the
budget is known before a job is sent. Every unit that was sent counts (queued,
running, completed, failed after it reached the server, or unknown); pending and
cancelled ones do not. A unit that would pass the budget is not sent: the sweep
pauses and says so, and raising the budget then ``resume()`` continues.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.rules import Script, plan_streams
from odyssey_jupyter.sweeps.states import ItemState

SPENT_STATES = frozenset(
    {
        ItemState.SUBMITTING,
        ItemState.QUEUED,
        ItemState.RUNNING,
        ItemState.COMPLETED,
        ItemState.UNKNOWN,
    }
)
"""States of units that were sent (a failed one counts too when it reached the server)."""


def check_budget(value: Any) -> float | None:
    """``max_video_seconds`` as a positive number of seconds, or ``None`` for no budget."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScriptError(f"max_video_seconds must be a number of seconds, not {value!r}")
    if value <= 0:
        raise ScriptError(f"max_video_seconds must be more than 0, not {value!r}")
    return float(value)


def script_seconds(script: Sequence[Mapping[str, Any]]) -> float:
    """Seconds of video one item's script asks for (all of its streams)."""
    streams = plan_streams(cast(Script, list(script)))
    return sum(stream.duration_ms for stream in streams) / 1000.0


def spent(units: Iterable[tuple[str, str | None, float]]) -> float:
    """Seconds used by units given as (state, job id, seconds)."""
    total = 0.0
    for state, job_id, seconds in units:
        if state in SPENT_STATES or (state == ItemState.FAILED and job_id is not None):
            total += seconds
    return total


def over_budget(used: float, needed: float, limit: float) -> str:
    """The pause message when the next unit would pass the budget."""
    return (
        f"budget reached: {used:g} s of video used of max_video_seconds={limit:g}; the next "
        f"item needs {needed:g} s more. Raise the budget (set_budget(...)) and resume() to "
        "continue; nothing is lost"
    )


def usage_text(used: float, limit: float | None) -> str:
    """``42 s of video`` or ``42/60 s of video`` for the live view and the CLI."""
    if limit is None:
        return f"{used:g} s of video"
    return f"{used:g}/{limit:g} s of video"


def cost_text(seconds: float, price: float | None) -> str | None:
    """The estimated cost of ``seconds`` of video at ``price`` per second (None: no price)."""
    if not price:
        return None
    return f"about {seconds * price:,.2f} at {price:g} per second of video"
