"""``sweep status NAME``: counts per state and the failed items, from the ledger alone."""

from __future__ import annotations

import argparse

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command, json_flag, name_argument
from odyssey_jupyter.cli.records import STOPPED, SweepRecord, item_json, params_text, read_record
from odyssey_jupyter.cli.terminal import Column, Terminal
from odyssey_jupyter.text.advice import PROGRAM

PROBLEMS = ("failed", "unknown")
PROBLEM_COLUMNS = (
    Column("INDEX", numeric=True, shrinks=False),
    Column("STATE", shrinks=False),
    Column("PARAMS"),
    Column("ERROR"),
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    name_argument(parser)
    json_flag(parser)


def status_json(record: SweepRecord) -> dict[str, object]:
    """``{"name", "ledger", "running", "counts", "problems"}`` (see the README)."""
    return {
        "name": record.name,
        "ledger": str(record.path),
        "running": record.running,
        "counts": record.counts(),
        "problems": [
            item_json(record, row) for row in record.rows if record.state(row) in PROBLEMS
        ],
    }


def _show(record: SweepRecord, term: Terminal) -> None:
    counts = record.counts()
    total = counts.pop("total")
    who = "a process is running it now" if record.running else "no process is running it"
    term.line(f"sweep {record.name}: {total} items; {who}")
    rows = [(state, count) for state, count in counts.items() if count]
    term.table((Column("STATE", shrinks=False), Column("ITEMS", numeric=True)), rows)
    if counts[STOPPED]:
        term.line(
            f"{counts[STOPPED]} item(s) were in flight when the last run stopped; their jobs "
            f"may have finished since: `{PROGRAM} sweep resume {record.name}` follows them"
        )
    problems = [row for row in record.rows if record.state(row) in PROBLEMS]
    if problems:
        term.line()
        cells = [[r.index, record.state(r), params_text(r), r.error] for r in problems]
        term.table(PROBLEM_COLUMNS, cells)


def _status(args: argparse.Namespace, term: Terminal) -> int:
    record = read_record(args.name)
    if args.json:
        term.json(status_json(record))
    else:
        _show(record, term)
    bad = any(record.state(row) in PROBLEMS for row in record.rows)
    return codes.ITEMS_BAD if bad else codes.OK


STATUS = Command(
    name="status",
    help="counts per state and the failed items of a sweep (from its ledger)",
    description=(
        "Read the sweep's ledger (no network): items per state, whether a process is "
        "running it now, and each failed or unknown item with its params and error. "
        "Items that were in flight when the last run stopped count as 'stopped'."
    ),
    arguments=_arguments,
    run=_status,
)
