"""One ``sweep`` subcommand: its name, its help, its flags and what it does.

Every subcommand is a module with one :class:`Command`; the parser and the help
are built from the table of them in :mod:`odyssey_jupyter.cli`, so a new one is a
new module and one more entry there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from odyssey_jupyter.cli.terminal import Terminal


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    """One line for the list of subcommands."""
    description: str
    """What ``sweep NAME --help`` says above the flags."""
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Terminal], int]
    """The exit code (see :mod:`odyssey_jupyter.cli.codes`)."""


def json_flag(parser: argparse.ArgumentParser) -> None:
    """``--json``: the same facts as one JSON document on stdout, for scripts."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON (stable keys, see the README) instead of a table",
    )


def name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the sweep's name (see `sweep list`)")


def whole_number(text: str) -> int:
    """A whole number of 1 or more (argparse names the flag when this refuses)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


whole_number.__name__ = "whole number of 1 or more"  # argparse's wording: "invalid ... value"
