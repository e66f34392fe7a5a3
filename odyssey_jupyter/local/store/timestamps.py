"""The one form of a time the engine stores and answers: ISO 8601 in UTC with a ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_stamp(moment: datetime) -> str:
    """``moment`` (aware) in UTC, millisecond precision, ending in ``Z``."""
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def utc_now() -> str:
    """Now, as ``utc_stamp`` writes it (stored stamps compare as text in this form)."""
    return utc_stamp(datetime.now(timezone.utc))
