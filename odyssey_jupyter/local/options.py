"""Command line of the engine: ``serve`` and its options, checked before anything starts."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def default_data_dir() -> Path:
    """``$ODYSSEY_LOCAL_DATA_DIR`` or ``<user cache>/odyssey_jupyter/engine``."""
    override = os.environ.get("ODYSSEY_LOCAL_DATA_DIR")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "odyssey_jupyter" / "engine"


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Everything ``serve`` was told; the API key is kept out of the repr."""

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = Path(".")
    api_key: str | None = None
    workers: int = 1
    pace: str = "fast"
    fps: int = 24
    url_ttl: int = 3600
    rate_limit: float | None = None
    max_active: int | None = None
    allow_remote: bool = False

    def __repr__(self) -> str:
        key = "set" if self.api_key else "generated"
        return (
            f"EngineOptions(host={self.host!r}, port={self.port}, data_dir={str(self.data_dir)!r}, "
            f"api_key={key}, workers={self.workers}, pace={self.pace!r}, fps={self.fps}, "
            f"url_ttl={self.url_ttl}, rate_limit={self.rate_limit}, "
            f"max_active={self.max_active})"
        )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m odyssey_jupyter.local",
        description="The local Odyssey engine: the Simulate API, rendered on this machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Simulate API over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, default=None, help="jobs database + recordings")
    serve.add_argument("--api-key", default=None, help="the key clients must present")
    serve.add_argument("--workers", type=_positive_int, default=None, help="render processes")
    serve.add_argument("--pace", choices=("fast", "realtime"), default="fast")
    serve.add_argument("--fps", type=_positive_int, default=24)
    serve.add_argument(
        "--url-ttl", type=_positive_int, default=3600, help="artifact URL lifetime (s)"
    )
    serve.add_argument(
        "--rate-limit", type=_positive_float, default=None, help="requests/s per token"
    )
    serve.add_argument(
        "--max-active",
        "--max-queued",
        dest="max_active",
        type=_positive_int,
        default=None,
        help="jobs queued or running per key at most (429 CONCURRENT_LIMIT_REACHED beyond)",
    )
    serve.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    return parser


def parse_options(argv: Sequence[str] | None = None) -> EngineOptions:
    """Parse and check the command line; exits with a usage message when it makes no sense."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        if not args.allow_remote:
            parser.error(f"--host {args.host} is reachable from other machines: add --allow-remote")
        if not args.api_key:
            parser.error("serving beyond this machine requires an explicit --api-key")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, not {args.port}")
    if args.fps > 120:
        parser.error("--fps must be at most 120")
    return EngineOptions(
        host=args.host,
        port=args.port,
        data_dir=(args.data_dir or default_data_dir()).expanduser().resolve(),
        api_key=args.api_key,
        workers=args.workers or max(1, os.cpu_count() or 1),
        pace=args.pace,
        fps=args.fps,
        url_ttl=args.url_ttl,
        rate_limit=args.rate_limit,
        max_active=args.max_active,
        allow_remote=args.allow_remote,
    )
