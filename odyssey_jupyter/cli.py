"""The command line: ``python -m odyssey_jupyter sweep run|status|resume|list``.

``run SPEC.json`` reads ``{"template": ..., "params": ..., "name"?, "portrait"?,
"max_in_flight"?, "pack"?, "download"?}``, checks every item (nothing is sent
when one is bad), runs the sweep with a progress line on stderr, and exits 1
when items failed or are unknown (0 when all completed, 2 for bad input, 130
on Ctrl-C). The ledger keeps everything, so ``resume NAME`` continues a run that
was stopped, and ``status NAME`` reads it without touching the network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.flag_hints import unexpected_words, unknown_flags
from odyssey_jupyter.suggest import did_you_mean

SPEC_KEYS = {"template", "params", "name", "portrait", "max_in_flight", "pack", "download"}
SPEC_KEYS |= {"output", "storage_options", "max_video_seconds", "keep_local"}
MAX_SPEC_BYTES = 64 * 1024 * 1024


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command's parser, and each ``sweep`` action's own (whose flags a typo is
    compared with)."""
    parser = argparse.ArgumentParser(prog="python -m odyssey_jupyter")
    commands = parser.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="batch generation from a template and params")
    actions = sweep.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="start a sweep from a JSON spec and follow it")
    run.add_argument("spec", type=Path)
    run.add_argument("--name")
    run.add_argument("--max-in-flight", type=int)
    run.add_argument("--pack", type=int)
    run.add_argument("--output", metavar="URL", help="a folder or fsspec URL for the dataset")
    run.add_argument("--max-video-seconds", type=float, metavar="S", help="budget of video")
    run.add_argument("--shard", metavar="I/N", help="run the items whose index modulo N is I")
    status = actions.add_parser("status", help="counts and failures of a sweep (from its ledger)")
    status.add_argument("name")
    resume = actions.add_parser("resume", help="continue a sweep and follow it")
    resume.add_argument("name")
    resume.add_argument("--max-video-seconds", type=float, metavar="S", help="a new budget")
    export = actions.add_parser("export", help="a sweep's recordings as WebDataset shards")
    export.add_argument("name")
    export.add_argument("--to", required=True, metavar="URL", help="a folder or fsspec URL")
    export.add_argument("--format", choices=("webdataset", "parquet"), default="webdataset")
    export.add_argument("--shard-size", type=int, default=1000, metavar="N")
    listing = actions.add_parser("list", help="the sweeps in ./odyssey_recordings/sweeps")
    named = {"run": run, "status": status, "resume": resume, "list": listing, "export": export}
    return parser, named


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; a word no parser took exits 2 with the action's usage, naming the
    word and the flag it most likely meant (the magics' wording)."""
    parser, actions = _parsers()
    args, rest = parser.parse_known_args(argv)
    if rest:
        action = actions[args.action]
        stray = unexpected_words(rest)
        action.error(unknown_flags(rest, action) or f"unexpected argument(s): {' '.join(stray)}")
    return args


def read_spec(path: Path) -> dict[str, Any]:
    """The spec file, checked: a JSON object with known keys, a template and params."""
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise OdysseyError(f"{path} is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB")
        spec = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OdysseyError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise OdysseyError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise OdysseyError(f"{path} must hold a JSON object with 'template' and 'params'")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        named = ", ".join(_with_hint(key) for key in unknown)
        raise OdysseyError(f"{path}: unknown key(s) {named}; known: {sorted(SPEC_KEYS)}")
    missing = [key for key in ("template", "params") if key not in spec]
    if missing:
        raise OdysseyError(f"{path}: missing {', '.join(missing)}")
    return spec


def _with_hint(key: str) -> str:
    hint = did_you_mean(key, SPEC_KEYS, limit=1)
    return f"{key} ({hint})" if hint else key


def follow(sweep: Any, out: TextIO, every: float | None = None) -> int:
    """Print the progress line until the sweep settles; the exit code it earns."""
    from odyssey_jupyter.display.sweep_view import status_line

    tty = out.isatty()
    every = every if every is not None else (1.0 if tty else 5.0)
    last = ""
    while True:
        sweep.wait(every)
        line = status_line(sweep)
        if line != last:
            out.write(("\r" + line + "\033[K") if tty else line + "\n")
            out.flush()
            last = line
        if sweep.finished or (sweep.state == "paused" and sweep.in_flight() == 0):
            break
    if tty:
        out.write("\n")
    return report(sweep, out)


def report(sweep: Any, out: TextIO) -> int:
    counts = sweep.counts
    for item in sweep.items:
        if item.status in ("failed", "unknown"):
            out.write(f"item {item.index} {item.status}: {item.error}\n")
    if sweep.message:
        out.write(sweep.message + "\n")
    if sweep.budget_text() is not None:
        out.write(f"budget: {sweep.budget_text()}\n")
    out.write(
        f"{sweep.name}: {counts['completed']} completed, {counts['failed']} failed, "
        f"{counts['unknown']} unknown, {counts['cancelled']} cancelled, "
        f"{counts['pending']} pending of {counts['total']}\n"
    )
    bad = counts["failed"] + counts["unknown"] + counts["pending"] + counts["cancelled"]
    return 1 if bad else 0


def dataset_options(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    """``output``, ``storage_options``, ``max_video_seconds``, ``keep_local`` and ``shard``
    from the flags, else the spec."""
    from odyssey_jupyter.sweeps.shard import parse_shard

    seconds = args.max_video_seconds
    return {
        "output": args.output or spec.get("output"),
        "storage_options": spec.get("storage_options"),
        "max_video_seconds": seconds if seconds is not None else spec.get("max_video_seconds"),
        "keep_local": bool(spec.get("keep_local", True)),
        "shard": parse_shard(args.shard) if args.shard else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = sys.stderr
    from odyssey_jupyter.sweeps import Sweep, sweep
    from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path, list_names

    try:
        if args.action == "list":
            for name in list_names():
                print(name)
            return 0
        if args.action == "status":
            path = ledger_path(args.name)
            if not path.exists():
                raise OdysseyError(f"no sweep named {args.name!r} in {path.parent}")
            ledger = Ledger(path)
            counts = ledger.counts()
            for row in ledger.items():
                if row.state in ("failed", "unknown"):
                    out.write(f"item {row.index} {row.state}: {row.error}\n")
            print(json.dumps({"name": args.name, **counts, "total": sum(counts.values())}))
            return 1 if counts["failed"] or counts["unknown"] else 0
        if args.action == "export":
            from odyssey_jupyter.sweeps.export import export_named

            for uri in export_named(
                args.name, args.to, format=args.format, shard_size=args.shard_size
            ):
                print(uri)
            return 0
        if args.action == "resume":
            running = Sweep.open(args.name)
            if args.max_video_seconds is not None:
                running.set_budget(args.max_video_seconds)
                running.resume()
        else:
            spec = read_spec(args.spec)
            running = sweep(
                spec["template"],
                spec["params"],
                name=args.name or spec.get("name"),
                portrait=bool(spec.get("portrait", True)),
                max_in_flight=args.max_in_flight or spec.get("max_in_flight"),
                pack=args.pack or int(spec.get("pack", 1)),
                download=bool(spec.get("download", True)),
                **dataset_options(args, spec),
            )
            out.write(f"sweep {running.name}: {len(running.items)} items\n")
        return follow(running, out)
    except KeyboardInterrupt:
        out.write("\nstopped; the ledger keeps the sweep: `sweep resume NAME` continues it\n")
        return 130
    except (OdysseyError, FileNotFoundError, ValueError) as exc:
        out.write(f"error: {exc}\n")
        return 2
