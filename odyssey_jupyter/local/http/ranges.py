"""The ``Range`` header of a download, checked before Starlette's file answer serves it.

Starlette's ``FileResponse`` serves byte ranges itself, but refuses a bad header
in plain text; checking here first keeps every refusal JSON. The grammar is RFC
9110's (``bytes=`` then ``first-last``, ``first-`` or ``-suffix``, separated by
commas), which Starlette reads the same way, so what passes here it serves.
"""

from __future__ import annotations

import re

from starlette.responses import FileResponse

_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")


class MalformedRange(ValueError):
    """The header does not say which bytes; the message says what is wrong."""


class UnsatisfiableRange(ValueError):
    """A range starts at or beyond the end of the file of ``size`` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a range starts beyond the file's {size} bytes")
        self.size = size


def _one_range(spec: str, size: int) -> tuple[int, int]:
    """``spec`` (one comma-separated part) as a half-open ``(start, end)`` of the file."""
    match = _RANGE_SPEC.fullmatch(spec)
    if match is None:
        raise MalformedRange(f"{spec!r} is not first-last, first- or -suffix")
    first, last, suffix = match.groups()
    try:
        if suffix is not None:
            return max(size - int(suffix), 0), size
        return int(first), min(int(last) + 1, size) if last else size
    except ValueError:  # more digits than Python turns into a number
        raise MalformedRange(f"{spec[:20]!r}... has a number too long to read") from None


def byte_ranges(header: str, size: int) -> list[tuple[int, int]]:
    """The ranges ``header`` asks of a file of ``size`` bytes; [] when it is to be ignored.

    A header of more parts than Starlette reads is ignored (the whole file is the
    answer), as Starlette does.
    """
    units, equals, specs = header.partition("=")
    if not equals:
        raise MalformedRange("it has no '='")
    if units.strip().lower() != "bytes":
        raise MalformedRange("only bytes ranges are served")
    parts = specs.split(",")
    if len(parts) > FileResponse.max_ranges:
        return []
    ranges = [_one_range(part.strip(), size) for part in parts if part.strip()]
    if not ranges:
        raise MalformedRange("it names no range")
    if any(start >= size for start, _ in ranges):
        raise UnsatisfiableRange(size)
    if any(start >= end for start, end in ranges):
        raise MalformedRange("a range ends before it starts")
    return ranges
