"""What the command line writes to a terminal, with the one rule for text from outside.

Every line goes out through :class:`Terminal`, which passes it through
:func:`~odyssey_jupyter.text.markup.printable` (terminal escapes, other control
characters and bidi overrides become visible escapes). Job errors, ``detail``s,
params, file names and sweep names are data: none of them can clear the screen,
retitle the window, restyle the text or reorder what a reader sees, whichever
command prints them. The progress line's own ``\\r`` and erase-line are the only
control sequences written, and only to a terminal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from odyssey_jupyter.text.markup import printable

ELLIPSIS = "…"
GAP = "  "
MIN_CELL = 4
"""A truncated cell keeps at least this many characters (its ellipsis included)."""


def one_line(value: Any) -> str:
    """``value`` as one printable line: escapes shown, runs of whitespace made one space."""
    return " ".join(printable("" if value is None else value).split())


def _cells(char: str) -> int:
    """Columns a character takes on a terminal: 2 for wide East Asian ones, 0 for combining."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width_of(text: str) -> int:
    """Columns ``text`` takes on a terminal."""
    return sum(_cells(char) for char in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, an ellipsis marking the cut."""
    if width_of(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += _cells(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS if width > 0 else ""


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` filled with spaces to ``width`` columns (on the left when ``right``)."""
    fill = " " * max(0, width - width_of(text))
    return fill + text if right else text + fill


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table: its heading, and whether its numbers align right."""

    heading: str
    numeric: bool = False
    shrinks: bool = True
    """Whether this column gives up width when the table is wider than the terminal."""


def _widths(columns: Sequence[Column], cells: list[list[str]], room: int) -> list[int]:
    """Each column's width: its widest cell, the shrinkable ones narrowed to fit ``room``."""
    widths = [
        max([width_of(col.heading)] + [width_of(row[i]) for row in cells])
        for i, col in enumerate(columns)
    ]
    over = sum(widths) + len(GAP) * (len(columns) - 1) - room
    while over > 0:
        flexible = [i for i, col in enumerate(columns) if col.shrinks and widths[i] > MIN_CELL]
        if not flexible:
            break
        widest = max(flexible, key=lambda i: widths[i])
        cut = min(over, widths[widest] - MIN_CELL)
        others = [widths[i] for i in flexible if i != widest]
        if others:  # never below the next widest: share the cut out
            cut = min(cut, max(1, widths[widest] - max(others)))
        widths[widest] -= cut
        over -= cut
    return widths


def table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], width: int) -> list[str]:
    """Aligned lines (a heading, then one per row) that fit ``width`` characters.

    Every cell is made one printable line first; long cells end with an ellipsis.
    """
    cells = [[one_line(value) for value in row] for row in rows]
    widths = _widths(columns, cells, width)
    lines = []
    for row in [[col.heading for col in columns], *cells]:
        parts = []
        for col, text, size in zip(columns, row, widths, strict=True):
            parts.append(pad(clip(text, size), size, right=col.numeric))
        lines.append(GAP.join(parts).rstrip())
    return lines


UNLIMITED = 1 << 20


def _width(stream: TextIO) -> int:
    """The terminal's columns (``COLUMNS`` first); no limit when writing to a pipe or file."""
    if os.environ.get("COLUMNS", "").isdigit() or _is_terminal(stream):
        return max(20, shutil.get_terminal_size().columns)
    return UNLIMITED


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except ValueError:  # closed
        return False


def write_printable(stream: TextIO, text: str) -> None:
    """``text`` made printable, then written: every write of the command line ends here."""
    stream.write(printable(text))
    stream.flush()


class Terminal:
    """The command's two streams: results on ``out``, progress and errors on ``err``."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.width = _width(out)

    def line(self, text: str = "", *, err: bool = False) -> None:
        """One line of text, made printable (the only way text reaches a stream)."""
        write_printable(self.err if err else self.out, text + "\n")

    def note(self, text: str) -> None:
        """A line for the person watching (stderr: stdout stays the command's result)."""
        self.line(text, err=True)

    def error(self, text: str) -> None:
        self.line(f"error: {text}", err=True)

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> None:
        for text in table(columns, rows, self.width):
            self.line(text)

    def json(self, value: Any) -> None:
        """``value`` as one JSON document: its strings are escaped by JSON itself."""
        write_printable(self.out, json.dumps(value, ensure_ascii=True, indent=2) + "\n")

    @property
    def live(self) -> bool:
        """Whether progress can be redrawn in place (stderr is a terminal)."""
        return _is_terminal(self.err)

    def progress(self, text: str) -> None:
        """The progress line: redrawn in place on a terminal, one line per change elsewhere."""
        shown = clip(one_line(text), _width(self.err) - 1)
        if self.live:  # the one control sequence written: back to the line's start, erase
            self.err.write("\r" + shown + "\033[K")
            self.err.flush()
        else:
            write_printable(self.err, shown + "\n")

    def end_progress(self) -> None:
        if self.live:
            write_printable(self.err, "\n")


class _LogLines(logging.Handler):
    """The package's warnings as one printable line each on stderr (no traceback: the
    exception's own line says what happened, and its text may come from a server)."""

    def __init__(self, term: Terminal) -> None:
        super().__init__(logging.WARNING)
        self.term = term

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {exc})"
        self.term.note(text)


@contextlib.contextmanager
def logging_to(term: Terminal) -> Iterator[None]:
    """Route the package's log records through ``term`` while the command runs."""
    logger = logging.getLogger("odyssey_jupyter")
    handler = _LogLines(term)
    previous = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


__all__ = ["Column", "Terminal", "clip", "logging_to", "one_line", "table"]
