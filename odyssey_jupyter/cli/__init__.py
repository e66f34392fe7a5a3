"""The command line: ``python -m odyssey_jupyter sweep run|resume|status|items|list``.

Each subcommand is one module holding a :class:`~odyssey_jupyter.cli.command.Command`;
``COMMANDS`` is their table, from which the parser and the help are built. Results
go to stdout (a table for a person, ``--json`` for a script), progress and errors
to stderr, and everything through :class:`~odyssey_jupyter.cli.terminal.Terminal`,
which makes text from outside printable. Advice in errors raised deep inside speaks
in command-line terms (:mod:`odyssey_jupyter.text.advice`). Exit codes are in
:mod:`odyssey_jupyter.cli.codes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command
from odyssey_jupyter.cli.export import EXPORT
from odyssey_jupyter.cli.items import ITEMS
from odyssey_jupyter.cli.listing import LIST
from odyssey_jupyter.cli.run import RESUME, RUN
from odyssey_jupyter.cli.spec import SPEC_KEYS, read_spec
from odyssey_jupyter.cli.status import STATUS
from odyssey_jupyter.cli.terminal import Terminal, logging_to, write_printable
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.sweeps.errors import SweepBusyError
from odyssey_jupyter.sweeps.spec import MAX_SPEC_BYTES
from odyssey_jupyter.text import advice
from odyssey_jupyter.text.flag_hints import unexpected_words, unknown_flags
from odyssey_jupyter.text.recorded_parser import RecordedParser

COMMANDS: tuple[Command, ...] = (RUN, RESUME, STATUS, ITEMS, LIST, EXPORT)
"""The ``sweep`` subcommands, in the order ``--help`` lists them."""


class Parser(RecordedParser):
    """argparse, whose messages (which repeat the words typed) are made printable too."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            write_printable(file or sys.stderr, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        sys.exit(status)


class _Formatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal; text of several lines (the exit codes) kept."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def build_parsers() -> tuple[RecordedParser, dict[str, RecordedParser]]:
    """The command's parser, and each subcommand's own (whose flags a typo is compared with)."""
    parser = Parser(
        prog=advice.PROGRAM,
        description="Odyssey from a terminal: sweeps that outgrow a notebook.",
        epilog=codes.described(),
        formatter_class=_Formatter,
    )
    commands = parser.add_subcommands(dest="command", required=True, metavar="COMMAND")
    sweep = commands.add(
        "sweep",
        help="batch generation from a template and params",
        description="One template, many params: run, follow and read sweeps.",
        epilog=codes.described(),
        formatter_class=_Formatter,
    )
    actions = sweep.add_subcommands(dest="action", required=True, metavar="ACTION")
    for command in COMMANDS:
        sub = actions.add(
            command.name,
            help=command.help,
            description=command.description,
            epilog=codes.described(),
            formatter_class=_Formatter,
        )
        command.arguments(sub)
    return parser, actions.parsers


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; a word no parser took exits 2 with the action's usage, naming the
    word and the flag it most likely meant (the magics' wording)."""
    parser, actions = build_parsers()
    args, rest = parser.parse_known_args(argv)
    if rest:
        action = actions[args.action]
        stray = unexpected_words(rest)
        action.error(unknown_flags(rest, action) or f"unexpected argument(s): {' '.join(stray)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand in command-line words; its exit code (see ``codes``)."""
    args = parse_args(argv)
    term = Terminal(sys.stdout, sys.stderr)
    command = next(c for c in COMMANDS if c.name == args.action)
    with advice.speaking(advice.COMMAND_LINE), logging_to(term):
        try:
            return command.run(args, term)
        except KeyboardInterrupt:
            term.note("\nstopped")
            return codes.INTERRUPTED
        except SweepBusyError as exc:
            term.error(str(exc))
            return codes.BUSY
        except (OdysseyError, FileNotFoundError, ValueError) as exc:
            term.error(str(exc))
            return codes.BAD_INPUT


__all__ = [
    "COMMANDS",
    "MAX_SPEC_BYTES",
    "SPEC_KEYS",
    "build_parsers",
    "main",
    "parse_args",
    "read_spec",
]
