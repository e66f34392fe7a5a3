"""JSON read from files the project does not control, without NaN or infinities.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e999`` (read as ``inf``),
which no display, compare timeline or JSON writer downstream can use. Ledgers and
the history, already written, read them as ``None``; a spec, which its author can
fix, refuses them naming the value.
"""

from __future__ import annotations

import json
import math
from typing import Any


class NonFiniteError(ValueError):
    """A JSON text holds NaN or an infinity; ``value`` is the text as written."""

    def __init__(self, value: str) -> None:
        super().__init__(f"{value} is not a finite number (JSON has no NaN or infinity)")
        self.value = value


def _none(_text: str) -> None:
    return None


def _float_or_none(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _refuse(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteError(text)
    return value


def _refuse_constant(text: str) -> float:
    raise NonFiniteError(text)


def loads_neutral(text: str | bytes) -> Any:
    """``json.loads``, with every non-finite number read as ``None``."""
    return json.loads(text, parse_constant=_none, parse_float=_float_or_none)


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that raises :class:`NonFiniteError` (a ``ValueError``) on NaN or infinity."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_refuse)
