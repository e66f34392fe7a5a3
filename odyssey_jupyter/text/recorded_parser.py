"""argparse that keeps its own record of the arguments, groups and subcommands it is given.

Flag hints, tab completion, a magic's help and the generated reference all need a
parser's flags; argparse keeps them only in private attributes. Every parser of the
package (the magics', the command line's, the engine's) is a :class:`RecordedParser`
built through its public methods, and the readers read :attr:`RecordedParser.options`
and :attr:`RecordedParser.subcommands` instead.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    """One argument as it was added: argparse's action, and the group it went into."""

    action: argparse.Action
    group: str | None = None
    """The title given to :meth:`RecordedParser.add_group`; ``None`` for the parser's own."""
    shows_help: bool = False
    """``-h``/``--help``, which prints the help and exits rather than taking a value."""

    @property
    def flags(self) -> tuple[str, ...]:
        """``("-o", "--output")``; empty for a positional argument."""
        return tuple(self.action.option_strings)

    @property
    def takes_value(self) -> bool:
        return self.action.nargs != 0


class Subcommands:
    """The subcommands of one parser, each a parser of the same class, by name."""

    def __init__(self, add_parser: Callable[..., RecordedParser]) -> None:
        self._add_parser = add_parser
        self.parsers: dict[str, RecordedParser] = {}

    def add(self, name: str, **kwargs: Any) -> RecordedParser:
        """A new subcommand ``name`` (the keywords are argparse's ``add_parser``'s)."""
        parser = self._add_parser(name, **kwargs)
        self.parsers[name] = parser
        return parser


class RecordedParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that records what :meth:`add_argument`, :meth:`add_group` and
    :meth:`add_subcommands` add. argparse's own ``add_argument_group``,
    ``add_subparsers`` and ``parents=`` bypass the record: use these instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before argparse's __init__, which adds -h/--help through add_argument.
        self.options: list[Option] = []  # every argument, in the order of the help
        self.subcommands: list[Subcommands] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(Option(action, shows_help=kwargs.get("action") == "help"))
        return action

    def add_group(self, title: str) -> Callable[..., argparse.Action]:
        """The ``add_argument`` of a new argument group titled ``title``, recording too."""
        group = self.add_argument_group(title)

        def add_argument(*args: Any, **kwargs: Any) -> argparse.Action:
            action = group.add_argument(*args, **kwargs)
            self.options.append(Option(action, group=title))
            return action

        return add_argument

    def add_subcommands(self, **kwargs: Any) -> Subcommands:
        """Subcommands, as argparse's ``add_subparsers`` (same keywords) makes them."""
        subcommands = Subcommands(self.add_subparsers(**kwargs).add_parser)
        self.subcommands.append(subcommands)
        return subcommands
