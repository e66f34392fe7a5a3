"""``sweep list``: the sweeps in the recordings directory, with their counts."""

from __future__ import annotations

import argparse
from typing import Any

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command, json_flag
from odyssey_jupyter.cli.records import STOPPED, read_record
from odyssey_jupyter.cli.terminal import Column, Terminal
from odyssey_jupyter.errors import OdysseyError

COLUMNS = (
    Column("NAME"),
    Column("ITEMS", numeric=True, shrinks=False),
    Column("COMPLETED", numeric=True, shrinks=False),
    Column("FAILED", numeric=True, shrinks=False),
    Column("PENDING", numeric=True, shrinks=False),
    Column("IN FLIGHT", numeric=True, shrinks=False),
    Column("NOTE"),
)


def _summary(name: str) -> dict[str, Any]:
    """``{"name", "running", "counts", "error"}`` for one sweep (an unreadable one says why)."""
    try:
        record = read_record(name)
    except OdysseyError as exc:
        return {"name": name, "running": False, "counts": None, "error": str(exc)}
    return {"name": name, "running": record.running, "counts": record.counts(), "error": None}


def _row(summary: dict[str, Any]) -> list[Any]:
    counts = summary["counts"]
    if counts is None:
        return [summary["name"], "", "", "", "", "", summary["error"]]
    in_flight = counts["submitting"] + counts["queued"] + counts["running"]
    note = "running now" if summary["running"] else ""
    if counts[STOPPED]:
        note = f"{counts[STOPPED]} stopped in flight"
    failed = counts["failed"] + counts["unknown"]
    return [
        summary["name"],
        counts["total"],
        counts["completed"],
        failed,
        counts["pending"],
        in_flight,
        note,
    ]


def _list(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps.ledger import list_names, sweeps_dir

    summaries = [_summary(name) for name in list_names()]
    if args.json:
        term.json(summaries)
    elif not summaries:
        term.note(f"no sweeps in {sweeps_dir()}")
    else:
        term.table(COLUMNS, [_row(summary) for summary in summaries])
    return codes.OK


LIST = Command(
    name="list",
    help="the sweeps in ./odyssey_recordings/sweeps, with their counts",
    description="One row per sweep ledger in the recordings directory (no network).",
    arguments=json_flag,
    run=_list,
)
