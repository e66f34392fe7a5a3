"""The one table format every benchmark prints, so ``make bench`` output reads as one report."""

from __future__ import annotations

import math
from collections.abc import Sequence


def fmt(value: object, digits: int = 3) -> str:
    """A cell as text: floats with ``digits`` significant digits, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf"
        if value == 0:
            return "0"
        magnitude = math.floor(math.log10(abs(value)))
        decimals = max(0, digits - 1 - magnitude)
        return f"{value:,.{decimals}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(figure: float | None, baseline: float | None) -> float | None:
    """``figure / baseline``, or None when either is missing or the baseline is 0."""
    if figure is None or baseline is None or baseline == 0:
        return None
    return figure / baseline


def render_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    note: str | None = None,
) -> str:
    """The table as text: a title line, aligned columns (numbers right-aligned), a note."""
    cells = [[fmt(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in rows if i < len(row))
        for i in range(len(columns))
    ]
    widths = [
        max([len(col), *(len(row[i]) for row in cells if i < len(row))])
        for i, col in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, width in enumerate(widths):
            text = values[i] if i < len(values) else ""
            parts.append(text.rjust(width) if numeric[i] and i > 0 else text.ljust(width))
        return "  ".join(parts).rstrip()

    out = [f"== {title}", line(list(columns)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    if note:
        out.extend(f"   {text}" for text in note.strip().splitlines())
    return "\n".join(out) + "\n"


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    note: str | None = None,
) -> None:
    """Print one benchmark's table (flushed, so progress shows while the next one runs)."""
    print(render_table(title, columns, rows, note), flush=True)
