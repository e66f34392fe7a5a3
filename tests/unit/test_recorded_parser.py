"""The parsers' own record of their options holds every argument argparse holds, in
argparse's order, with its group, and every subcommand: hints, completion, the magics'
help and the reference read nothing else."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from odyssey_jupyter.cli import build_parsers
from odyssey_jupyter.ipython import magic_args
from odyssey_jupyter.local.launch.options import build_parser as engine_parser
from odyssey_jupyter.text.recorded_parser import RecordedParser


def _every_parser(parser: RecordedParser) -> Iterator[RecordedParser]:
    yield parser
    for subcommands in parser.subcommands:
        for child in subcommands.parsers.values():
            yield from _every_parser(child)


PARSERS = {
    "simulate": magic_args.simulate_parser,
    "jobs": magic_args.jobs_parser,
    "login": magic_args.login_parser,
    "local": magic_args.local_parser,
    "command line": lambda: build_parsers()[0],
    "engine": engine_parser,
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_the_record_holds_what_argparse_holds(name: str) -> None:
    for parser in _every_parser(PARSERS[name]()):
        held = [
            action
            for action in parser._actions
            if not isinstance(action, argparse._SubParsersAction)
        ]
        assert [option.action for option in parser.options] == held, parser.prog
        helps = [option.flags for option in parser.options if option.shows_help]
        assert helps == ([("-h", "--help")] if parser.add_help else []), parser.prog


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_subcommand_is_recorded(name: str) -> None:
    for parser in _every_parser(PARSERS[name]()):
        held = {
            child_name: child
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for child_name, child in action.choices.items()
        }
        recorded = {n: p for s in parser.subcommands for n, p in s.parsers.items()}
        assert recorded == held, parser.prog


def test_an_option_knows_its_group_and_whether_it_takes_a_value() -> None:
    parser = RecordedParser(prog="try", add_help=False)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("-o", "--output", metavar="NAME")
    parser.add_argument("target")
    parser.add_group("more")("--pack", metavar="K")
    shown = [(o.flags, o.takes_value, o.group) for o in parser.options]
    assert shown == [
        (("--wait",), False, None),
        (("-o", "--output"), True, None),
        ((), True, None),
        (("--pack",), True, "more"),
    ]
    assert parser.parse_args(["x", "--pack", "3"]).pack == "3"


def test_the_simulate_sweep_flags_are_its_group() -> None:
    grouped = [o.flags[0] for o in magic_args.simulate_parser().options if o.group == "sweep"]
    assert grouped == [
        "--sweep",
        "--name",
        "--max-in-flight",
        "--pack",
        "--store",
        "--max-video-seconds",
    ]
