"""``sweep items NAME [--state S]``: every item with its params, state, job and video."""

from __future__ import annotations

import argparse

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command, json_flag, name_argument
from odyssey_jupyter.cli.records import (
    ITEM_COLUMNS,
    SHOWN_STATES,
    item_cells,
    item_json,
    read_record,
)
from odyssey_jupyter.cli.terminal import Terminal


def _arguments(parser: argparse.ArgumentParser) -> None:
    name_argument(parser)
    parser.add_argument(
        "--state",
        metavar="STATE",
        choices=SHOWN_STATES,
        help=f"only items in this state: {', '.join(SHOWN_STATES)}",
    )
    json_flag(parser)


def _items(args: argparse.Namespace, term: Terminal) -> int:
    record = read_record(args.name)
    rows = [row for row in record.rows if args.state in (None, record.state(row))]
    if args.json:
        term.json([item_json(record, row) for row in rows])
    else:
        term.table(ITEM_COLUMNS, [item_cells(record, row) for row in rows])
    return codes.OK


ITEMS = Command(
    name="items",
    help="the items of a sweep: params, state, job id, video and error",
    description=(
        "One row per item, from the sweep's ledger (no network). The video column "
        "names the item's first downloaded recording."
    ),
    arguments=_arguments,
    run=_items,
)
