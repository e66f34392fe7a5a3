"""What a server says about its own limits, so that clients can size their work.

The hosted API documents a queue cap (10 simulation jobs queued or running at
once) and answers ``429 CONCURRENT_LIMIT_REACHED`` beyond it. The embedded engine
goes further and states its cap on every answer with ``Odyssey-Max-Active: N``
(only when one is set, ``--max-queued``), beside its render slots in
``Odyssey-Render-Slots: N``. A sweep reads them to choose how many jobs to keep
in flight. A server that says nothing is assumed to have the hosted cap.
"""

from __future__ import annotations

MAX_ACTIVE_HEADER = "Odyssey-Max-Active"
"""Response header: jobs an account may have queued or running at once."""

RENDER_SLOTS_HEADER = "Odyssey-Render-Slots"
"""Response header: jobs the server renders at the same time."""

HOSTED_MAX_ACTIVE = 10
"""The hosted API's documented cap on queued + running simulation jobs."""


def parse_count(raw: str | None) -> int | None:
    """A declared count (1..100000), or None when absent or malformed (never trusted blindly)."""
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        return None
    value = int(text)
    return value if 1 <= value <= 100_000 else None
