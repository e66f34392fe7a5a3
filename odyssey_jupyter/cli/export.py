"""``sweep export NAME --to URL``: a sweep's recordings as WebDataset shards, or its manifest."""

from __future__ import annotations

import argparse
from typing import Any

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.command import Command, name_argument, whole_number
from odyssey_jupyter.cli.records import read_record
from odyssey_jupyter.cli.storage_options import read_storage_options, storage_options_argument
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
    storage_options_argument(parser, store="the sweep's output (its recordings)")
    storage_options_argument(parser, "--to-storage-options", store="the --to destination")


def _export(args: argparse.Namespace, term: Terminal) -> int:
    written = export_from_ledger(
        args.name,
        args.to,
        args.format,
        args.shard_size,
        source_options=read_storage_options(args.storage_options),
        dest_options=read_storage_options(args.to_storage_options),
    )
    for uri in written:
        term.line(uri)
    return codes.OK


def export_from_ledger(
    name: str,
    dest: str,
    format: str,
    shard_size: int,
    *,
    source_options: dict[str, Any] | None = None,
    dest_options: dict[str, Any] | None = None,
) -> list[str]:
    """Export a sweep by name from its ledger alone: nothing is sent, the sweep may run.

    ``source_options`` open the sweep's output, ``dest_options`` the destination.
    """
    from odyssey_jupyter.sweeps.export import export_items
    from odyssey_jupyter.sweeps.settings import settings_of
    from odyssey_jupyter.sweeps.storage import Store

    record = read_record(name)  # checked name, read-only ledger, only the files it may name
    settings = settings_of(record.meta, record.path)
    source = Store.open(settings.output, source_options) if settings.output else None
    return export_items(
        record.rows,
        settings.dataset or name,
        dest,
        source=source,
        format=format,
        shard_size=shard_size,
        storage_options=dest_options,
    )


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
