"""``sweep run SPEC.json`` and ``sweep resume NAME``: start or continue a sweep, and follow it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from odyssey_jupyter.cli.command import Command, name_argument, whole_number
from odyssey_jupyter.cli.follow import follow
from odyssey_jupyter.cli.spec import read_spec
from odyssey_jupyter.cli.storage_options import read_storage_options, storage_options_argument
from odyssey_jupyter.cli.terminal import Terminal


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        metavar="SPEC.json",
        type=Path,
        help='a JSON object: {"template": ..., "params": ..., "name"?, "portrait"?, '
        '"max_in_flight"?, "pack"?, "download"?, "output"?, "storage_options"?, '
        '"max_video_seconds"?, "keep_local"?}',
    )
    parser.add_argument("--name", help="the sweep's name (overrides the spec's; default: dated)")
    parser.add_argument(
        "--max-in-flight",
        metavar="N",
        type=whole_number,
        help="at most N jobs queued or running at once (default: the server's cap, else 10)",
    )
    parser.add_argument(
        "--pack",
        metavar="K",
        type=whole_number,
        help="K items per job (default: the spec's, else 1)",
    )
    parser.add_argument(
        "--allow-large",
        action="store_true",
        help="allow more than 10,000 items (refused otherwise: a grid grows fast)",
    )
    parser.add_argument(
        "--output",
        metavar="URL",
        help="write the dataset (recordings and a Parquet manifest) to this folder or "
        "fsspec URL, such as s3://bucket/prefix (overrides the spec's)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="run only the items whose index modulo N is I, with a ledger and manifest "
        "shard of its own (needs a name)",
    )
    storage_options_argument(
        parser, store="--output", replaces=", in place of the spec's storage_options"
    )
    _budget_argument(parser, "stop sending before the total video would pass S seconds")


def _budget_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--max-video-seconds", type=float, metavar="S", help=help)


def _resume_arguments(parser: argparse.ArgumentParser) -> None:
    name_argument(parser)
    storage_options_argument(parser, store="the sweep's output")
    _budget_argument(parser, "a new budget of video seconds for a sweep its budget paused")


def dataset_options(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    """Output, storage options, budget, local copies and shard: the flags, else the spec."""
    from odyssey_jupyter.sweeps.shard import parse_shard

    seconds = args.max_video_seconds
    options = args.storage_options
    return {
        "output": args.output or spec.get("output"),
        "storage_options": read_storage_options(options)
        if options is not None
        else spec.get("storage_options"),
        "max_video_seconds": seconds if seconds is not None else spec.get("max_video_seconds"),
        "keep_local": spec.get("keep_local", True),
        "shard": parse_shard(args.shard) if args.shard else None,
    }


def _run(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps import sweep

    spec = read_spec(args.spec)
    running = sweep(
        spec["template"],
        spec["params"],
        name=args.name or spec.get("name"),
        portrait=spec.get("portrait", True),
        max_in_flight=args.max_in_flight or spec.get("max_in_flight"),
        pack=args.pack or spec.get("pack", 1),
        download=spec.get("download", True),
        allow_large=args.allow_large,
        **dataset_options(args, spec),
    )
    term.note(f"sweep {running.name}: {len(running.items)} items")
    return follow(running, term)


def _resume(args: argparse.Namespace, term: Terminal) -> int:
    from odyssey_jupyter.sweeps import Sweep

    running = Sweep.open(args.name, storage_options=read_storage_options(args.storage_options))
    if args.max_video_seconds is not None:
        running.set_budget(args.max_video_seconds)
        running.resume()
    return follow(running, term)


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
    arguments=_resume_arguments,
    run=_resume,
)
