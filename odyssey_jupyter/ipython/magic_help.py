"""How a magic's flags read: its usage lines and the flag table ``%magic?`` shows.

Both are made from the parser's own record of its options, so a flag is written once,
in :mod:`odyssey_jupyter.ipython.magic_args`, and the usage, the help and the
completer follow it.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from odyssey_jupyter.text.recorded_parser import Option, RecordedParser

_F = TypeVar("_F", bound=Callable[..., Any])

EITHER = ("--portrait", "--landscape")
"""Two switches the usage shows as alternatives: one of them, or neither."""

SWEEP_GROUP = "sweep"
"""The argument group of the flags that make (and only go with) a sweep."""

_FLAG_COLUMN = 26
"""Where a flag's help starts in the table."""


def _word(option: Option) -> str:
    """How one flag reads in a usage line: ``-o NAME`` or ``--wait``."""
    name = option.flags[0]
    action = option.action
    return f"{name} {action.metavar or action.dest.upper()}" if option.takes_value else name


def _words(options: Sequence[Option]) -> list[str]:
    words = [f"[{_word(option)}]" for option in options if option.flags]
    either = [f"[{name}]" for name in EITHER]
    if all(word in words for word in either):
        words[words.index(either[0])] = f"[{' | '.join(EITHER)}]"
        words.remove(either[1])
    return words


def _groups(parser: RecordedParser) -> dict[str | None, list[Option]]:
    """The parser's flags by argument group (``None``: the flags of every form)."""
    grouped: dict[str | None, list[Option]] = {}
    for option in parser.options:
        if option.flags:
            grouped.setdefault(option.group, []).append(option)
    return grouped


def simulate_usage(parser: RecordedParser) -> str:
    """The three forms: cell, line (``VARIABLE``), sweep (``--sweep PARAMS``)."""
    groups = _groups(parser)
    prog = parser.prog
    common = _words(groups[None])
    sweep_first, *sweep_rest = groups[SWEEP_GROUP]
    sweep = [_word(sweep_first), *_words(sweep_rest), "[same flags but --image]"]
    return "\n".join(
        (
            " ".join((prog, *common)),
            f"{prog[1:]} [same flags] VARIABLE",
            " ".join((prog, *sweep)),
        )
    )


def usage_line(parser: RecordedParser) -> str:
    """One usage line: the magic's name, then every flag in brackets."""
    return " ".join((parser.prog, *_words(parser.options)))


def _wrapped(line: str, width: int) -> list[str]:
    """A usage line wrapped between its bracketed words, continued under the first flag."""
    head, _, rest = line.partition(" ")
    words = re.findall(r"\[[^\]]*\]|\S+", rest)
    rows = [head]
    for word in words:
        if len(rows[-1]) + 1 + len(word) > width and rows[-1].strip() != head:
            rows.append(" " * len(head))
        rows[-1] = f"{rows[-1]} {word}"
    return rows


def help_text(parser: RecordedParser, *, width: int = 88) -> str:
    """The usage and a flag table, as a magic's help shows them (from the parser)."""
    usage = [
        row
        for line in (parser.usage or usage_line(parser)).splitlines()
        for row in _wrapped(line, width)
    ]
    rows: list[str] = []
    for option in parser.options:
        action = option.action
        if not option.flags or not action.help:
            continue
        names = _word(option)
        lines = textwrap.wrap(action.help, width - _FLAG_COLUMN, break_on_hyphens=False) or [""]
        first = names.ljust(_FLAG_COLUMN - 1)
        if len(first) >= _FLAG_COLUMN:
            rows.append(first)
            first = ""
        rows.append(f"{first.ljust(_FLAG_COLUMN)}{lines[0]}")
        rows.extend(" " * _FLAG_COLUMN + more for more in lines[1:])
    return "\n".join(usage) + "\n\n" + "\n".join(rows)


def documented(parser: Callable[[], RecordedParser]) -> Callable[[_F], _F]:
    """Put the parser's usage and flag table after the first paragraph of a magic's
    docstring (IPython shows it for ``%magic?``), so the flags are written only once."""

    def decorate(function: _F) -> _F:
        head, _, tail = inspect.cleandoc(function.__doc__ or "").partition("\n\n")
        parts = [head, help_text(parser())]
        function.__doc__ = "\n\n".join([*parts, tail] if tail else parts)
        return function

    return decorate
