"""The simulate script the tests and benchmarks submit when its content does not matter."""

from __future__ import annotations

from typing import Any

BOUNCE = "it bounces"


def script(
    seconds: float = 1.0, prompt: str = "a red ball rolls", *, interact: str | None = BOUNCE
) -> list[dict[str, Any]]:
    """One stream: ``prompt`` from 0 to ``seconds``, with ``interact`` halfway (None: none)."""
    end = round(seconds * 1000)
    events: list[dict[str, Any]] = [{"timestamp_ms": 0, "start": {"prompt": prompt}}]
    if interact is not None:
        events.append({"timestamp_ms": end // 2, "interact": {"prompt": interact}})
    events.append({"timestamp_ms": end, "end": {}})
    return events
