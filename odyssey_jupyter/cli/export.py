"""``sweep export NAME --to URL``: a sweep's recordings as WebDataset shards, or its manifest."""

from __future__ import annotations

import argparse

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command, name_argument, whole_number
from odyssey_jupyter.cli.terminal import Terminal


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    name_argument(parser)
    parser.add_argument(
        "--to", required=True, metavar="URL", help="a folder or fsspec URL to write into"
    )
    parser.add_argument(
        "--format",
        choices=("webdataset", "parquet"),
        default="webdataset",
        help="tar shards of KEY.mp4 + KEY.json (default), or the Parquet manifest alone",
    )
    parser.add_argument(
        "--shard-size", type=whole_number, default=1000, metavar="N", help="samples per tar shard"
    )


def _export(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps.export import export_named

    for uri in export_named(args.name, args.to, format=args.format, shard_size=args.shard_size):
        term.line(uri)
    return codes.OK


EXPORT = Command(
    name="export",
    help="write a sweep's recordings as WebDataset shards (or its manifest) to a folder or URL",
    description=(
        "Read the sweep's ledger (nothing is sent; the sweep may still run) and write "
        "NAME-000000.tar, ... (each sample KEY.mp4 and KEY.json with params, prompts and "
        "chapters) or manifest.parquet under the destination; prints each file written."
    ),
    arguments=_export_arguments,
    run=_export,
)
