"""Human times: "3 min ago" while a view is live, absolute UTC times in what lasts.

A saved output is read later: there "just now" would be false, so it says
"2026-12-07 14:03 UTC" (:func:`absolute_time`); tooltips give the second.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from odyssey_jupyter.protocol.types import parse_time

_STEPS = ((60, "s", 1), (3600, "min", 60), (86400, "h", 3600), (86400 * 30, "days", 86400))


def relative_time(when: str | datetime | None, now: datetime | None = None) -> str:
    """``when`` relative to ``now`` ("just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago").

    Older than a month, or unparsable, it falls back to the calendar date (or a dash),
    because "213 days ago" is harder to read than a date.
    """
    moment = parse_time(when)
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    seconds = (current - moment).total_seconds()
    if seconds < 0:
        return "in the future" if seconds < -5 else "just now"
    if seconds < 5:
        return "just now"
    for limit, unit, size in _STEPS:
        if seconds < limit:
            amount = int(seconds // size)
            if unit == "days" and amount == 1:
                return "1 day ago"
            return f"{amount} {unit} ago"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d")


def _utc(when: str | datetime | None, pattern: str, missing: str) -> str:
    moment = parse_time(when)
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(pattern)


def full_time(when: str | datetime | None) -> str:
    """The exact time in UTC, for a tooltip or a snapshot ("2026-11-21 14:39:35 UTC")."""
    return _utc(when, "%Y-%m-%d %H:%M:%S UTC", "")


def absolute_time(when: str | datetime | None) -> str:
    """A time in a saved table, to the minute ("2026-11-21 14:39 UTC"); a dash if unknown."""
    return _utc(when, "%Y-%m-%d %H:%M UTC", "—")


def format_duration(seconds: float | None) -> str:
    """Every duration shown: "4.2 s" under a minute, then "3 min 05 s", then "1 h 02 min".

    One format for elapsed times, video lengths, time left and ETAs; a dash when
    unknown (``None``, negative, NaN or infinite from a server is unknown, not a crash).
    A chapter's place inside a video is a position, :func:`format_timestamp`.
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_timestamp(seconds: float) -> str:
    """A chapter time inside a video: "0:01.5", "1:05.0"; "?" when it is not a number."""
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{secs:04.1f}"
