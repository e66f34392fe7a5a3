"""What scripts and streams are called on screen: counted from 1, as people count.

A batch's first script is "script 1" in every heading, lane and tooltip; ids
and ``script_index`` stay what the API says. One rule, so the players, the
dry-run timeline and the status view cannot drift apart. A sweep item is
"#3 animal=cat · weather=rain" in the gallery and in a comparison alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_VALUE = 80
"""A parameter value longer than this is cut (with an ellipsis) in labels and filters."""


def script_name(script_index: int) -> str:
    """``script_index`` 0 is "script 1"."""
    return f"script {script_index + 1}"


def stream_name(script_index: int, stream_number: int, *, batch: bool, several: bool) -> str:
    """A stream's name: "script 2 · stream 1" in a batch, "stream 3" in one script.

    ``stream_number`` counts the script's streams from 0; ``several`` says whether
    that script has more than one (a batch's script with one stream is just "script 2").
    """
    parts = [script_name(script_index)] if batch else []
    if several or not batch:
        parts.append(f"stream {stream_number + 1}")
    return " · ".join(parts)


def stream_numbers(script_indexes: Sequence[int]) -> list[tuple[int, int]]:
    """For each stream, in order: (its number within its script, how many its script has)."""
    counts: dict[int, int] = {}
    numbers = []
    for index in script_indexes:
        numbers.append(counts.get(index, 0))
        counts[index] = numbers[-1] + 1
    return [(number, counts[index]) for number, index in zip(numbers, script_indexes, strict=True)]


def from_a_batch(script_indexes: Sequence[int]) -> bool:
    """Streams from a batch: more than one script, or a script after the first."""
    return any(script_indexes) or len(set(script_indexes)) > 1


def param_text(value: Any) -> str:
    """A parameter value as a label shows it: a string as is, anything else as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def item_label(index: int, params: Mapping[str, Any]) -> str:
    """A sweep item's label: "#3 animal=cat · weather=rain" (not escaped: the caller's job)."""
    return f"#{index} " + " · ".join(f"{key}={param_text(value)}" for key, value in params.items())


__all__ = [
    "MAX_VALUE",
    "from_a_batch",
    "item_label",
    "param_text",
    "script_name",
    "stream_name",
    "stream_numbers",
]
