"""The magics' flags are written once, in their parsers: usage lines, the help that
``%magic?`` shows and the completer all come from there and cannot drift apart."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from odyssey_jupyter.ipython import completion
from odyssey_jupyter.ipython.magic_args import (
    JOBS_USAGE,
    LOCAL_USAGE,
    LOGIN_USAGE,
    SIMULATE_USAGE,
    jobs_parser,
    local_parser,
    login_parser,
    simulate_parser,
)
from odyssey_jupyter.ipython.magic_help import help_text
from odyssey_jupyter.ipython.magics import OdysseyMagics
from odyssey_jupyter.text.recorded_parser import RecordedParser

MAGICS: list[tuple[str, Callable[[], RecordedParser], str]] = [
    ("odyssey_simulate", simulate_parser, SIMULATE_USAGE),
    ("odyssey_jobs", jobs_parser, JOBS_USAGE),
    ("odyssey_login", login_parser, LOGIN_USAGE),
    ("odyssey_local", local_parser, LOCAL_USAGE),
]


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if action.option_strings]


@pytest.mark.parametrize(("magic", "parser", "usage"), MAGICS)
def test_every_flag_is_in_the_usage_and_the_help(
    magic: str, parser: Callable[[], RecordedParser], usage: str
) -> None:
    doc = getattr(OdysseyMagics, magic).__doc__ or ""
    assert help_text(parser()) in doc
    flat_doc = " ".join(doc.split())
    for action in _options(parser()):
        name = action.option_strings[0]
        assert name in usage, (magic, name)
        assert action.help, f"{magic} {name} has no help"
        assert f"{name} " in doc or f"{name}\n" in doc
        assert " ".join(action.help.split()) in flat_doc, (magic, name)


@pytest.mark.parametrize(("magic", "parser", "usage"), MAGICS)
def test_the_completer_offers_exactly_the_parsers_flags(
    magic: str, parser: Callable[[], RecordedParser], usage: str
) -> None:
    offered = {name for flag in completion.magic_flags(magic).flags for name in flag.names}
    declared = {name for action in _options(parser()) for name in action.option_strings}
    assert offered == declared


def test_usage_keeps_its_forms() -> None:
    cell, line, sweep = SIMULATE_USAGE.splitlines()
    assert cell.startswith("%%odyssey_simulate [--portrait | --landscape] [-o NAME] [--wait]")
    assert "[--timeout SECONDS]" in cell and "[--image PATH_OR_{var}]" in cell
    assert "--sweep" not in cell
    assert line == "%odyssey_simulate [same flags] VARIABLE"
    assert sweep.startswith("%%odyssey_simulate --sweep PARAMS [--name NAME]")
    assert "[--max-in-flight N] [--pack K]" in sweep
    assert JOBS_USAGE == "%odyssey_jobs [--active] [--status STATUS] [--limit N] [--offset N]"
    assert LOGIN_USAGE == "%odyssey_login [--url API_URL]"


def test_a_new_flag_reaches_the_usage_and_the_help() -> None:
    """Derived, not copied: a flag added to a parser shows up without another edit."""
    parser = jobs_parser()
    parser.add_argument("--since", metavar="WHEN", help="only jobs created after WHEN")
    parser.usage = None
    text = help_text(parser)
    assert "[--since WHEN]" in text.splitlines()[0]
    assert "only jobs created after WHEN" in text
