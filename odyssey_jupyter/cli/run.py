"""``sweep run SPEC.json`` and ``sweep resume NAME``: start or continue a sweep, and follow it."""

from __future__ import annotations

import argparse
from pathlib import Path

from odyssey_jupyter.cli.command import Command, name_argument
from odyssey_jupyter.cli.follow import follow
from odyssey_jupyter.cli.spec import read_spec
from odyssey_jupyter.cli.terminal import Terminal


def _whole(text: str) -> int:
    """A whole number of 1 or more (argparse names the flag when this refuses)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_whole.__name__ = "whole number of 1 or more"  # argparse's wording: "invalid ... value"


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        metavar="SPEC.json",
        type=Path,
        help='a JSON object: {"template": ..., "params": ..., "name"?, "portrait"?, '
        '"max_in_flight"?, "pack"?, "download"?}',
    )
    parser.add_argument("--name", help="the sweep's name (overrides the spec's; default: dated)")
    parser.add_argument(
        "--max-in-flight",
        metavar="N",
        type=_whole,
        help="at most N jobs queued or running at once (default: the server's cap, else 10)",
    )
    parser.add_argument(
        "--pack", metavar="K", type=_whole, help="K items per job (default: the spec's, else 1)"
    )
    parser.add_argument(
        "--allow-large",
        action="store_true",
        help="allow more than 10,000 items (refused otherwise: a grid grows fast)",
    )


def _run(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps import sweep

    spec = read_spec(args.spec)
    running = sweep(
        spec["template"],
        spec["params"],
        name=args.name or spec.get("name"),
        portrait=bool(spec.get("portrait", True)),
        max_in_flight=args.max_in_flight or spec.get("max_in_flight"),
        pack=args.pack or spec.get("pack", 1),
        download=bool(spec.get("download", True)),
        allow_large=args.allow_large,
    )
    term.note(f"sweep {running.name}: {len(running.items)} items")
    return follow(running, term)


def _resume(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps import Sweep

    return follow(Sweep.open(args.name), term)


RUN = Command(
    name="run",
    help="start a sweep from a JSON spec and follow it",
    description=(
        "Check every item of the spec (nothing is sent when one is bad), write the "
        "sweep's ledger, send its jobs under the account's limits and follow them with "
        "a progress line on stderr. The recordings are downloaded beside the ledger."
    ),
    arguments=_run_arguments,
    run=_run,
)

RESUME = Command(
    name="resume",
    help="continue a stopped sweep and follow it",
    description=(
        "Follow the jobs the ledger knows again, send what was never sent (an item whose "
        "answer was lost is resent with the same idempotency key), and download what "
        "finished. A sweep with nothing left to do sends nothing."
    ),
    arguments=name_argument,
    run=_resume,
)
