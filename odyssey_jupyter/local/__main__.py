"""``python -m odyssey_jupyter.local serve|status|stop ...``: run or manage the local engine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def manage(args: argparse.Namespace) -> int:
    """``status`` or ``stop``: plain lines (or ``--json``) on stdout, the documented exit code."""
    from odyssey_jupyter.local.launch.manage import engine_status, stop_engine

    if args.command == "status":
        status = engine_status(args.data_dir)
        sys.stdout.write((json.dumps(status.as_json()) if args.json else status.text()) + "\n")
        return status.exit_code
    outcome = stop_engine(args.data_dir, timeout=args.timeout)
    sys.stdout.write((json.dumps(outcome.as_json()) if args.json else outcome.message) + "\n")
    return outcome.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    from odyssey_jupyter.local.launch.options import build_parser, serve_options

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("status", "stop"):
            return manage(args)
        options = serve_options(parser, args)
        from odyssey_jupyter.local.server import serve
    except ImportError as exc:
        from odyssey_jupyter.local.launch.launcher import INSTALL_HINT

        sys.stderr.write(
            f"the local engine needs its extra dependencies ({exc.name} is missing): "
            f"{INSTALL_HINT}\n"
        )
        return 2
    return serve(options)


if __name__ == "__main__":
    sys.exit(main())
