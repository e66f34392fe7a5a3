"""Command line of the engine: ``serve`` and its options, checked before anything starts."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from odyssey_jupyter.files.user_dirs import user_cache_dir
from odyssey_jupyter.protocol.types import ACTIVE_STATUSES, JobStatus
from odyssey_jupyter.text.recorded_parser import RecordedParser

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
API_KEY_ENV = "ODYSSEY_LOCAL_API_KEY"
"""The engine's key from the environment: unlike ``--api-key``, not in the process list."""
ARGV_KEY_WARNING = (
    "warning: --api-key is readable by every local user in the process list; "
    f"use --api-key-file PATH or {API_KEY_ENV} instead\n"
)
MAX_KEY_FILE_BYTES = 4096
PACES = ("fast", "realtime")
"""``--pace``: as fast as the CPU allows, or at video speed like a hosted session."""
DEFAULT_PACE = "fast"
STOP_TIMEOUT = 20.0
"""``stop --timeout``: seconds a stopping engine has to requeue its jobs and exit before it
is ended."""


def default_data_dir() -> Path:
    """``$ODYSSEY_LOCAL_DATA_DIR`` or ``engine`` in the user cache folder (platformdirs)."""
    override = os.environ.get("ODYSSEY_LOCAL_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return user_cache_dir() / "engine"


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Everything ``serve`` was told; the API key is kept out of the repr."""

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = Path(".")
    api_key: str | None = None
    workers: int = 1
    pace: str = DEFAULT_PACE
    fps: int = 24
    cancellable: str = "active"
    url_ttl: int = 3600
    rate_limit: float | None = None
    max_active: int | None = None
    allow_remote: bool = False
    max_active_streams: int | None = None
    max_job_seconds: float = 3600.0
    max_job_streams: int = 100
    allowed_hosts: tuple[str, ...] = ()
    forwarded_allow_ips: str | None = None
    max_connections: int = 128
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive: float = 5.0

    def __repr__(self) -> str:
        key = "set" if self.api_key else "generated"
        return (
            f"EngineOptions(host={self.host!r}, port={self.port}, data_dir={str(self.data_dir)!r}, "
            f"api_key={key}, workers={self.workers}, pace={self.pace!r}, fps={self.fps}, "
            f"cancellable={self.cancellable!r}, "
            f"url_ttl={self.url_ttl}, rate_limit={self.rate_limit}, "
            f"max_active={self.max_active}, max_active_streams={self.max_active_streams}, "
            f"max_job_seconds={self.max_job_seconds:g}, max_job_streams={self.max_job_streams})"
        )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (0 < value < math.inf):  # NaN fails both comparisons
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return value


CANCELLABLE: dict[str, frozenset[str]] = {
    "active": ACTIVE_STATUSES,
    "queued": ACTIVE_STATUSES - {JobStatus.PROCESSING.value},
}
"""``--cancellable``: which job statuses a cancel may stop. ``active`` is what the Simulate
API guide says ("pending or running"); ``queued`` is what the SDK reference says."""


def _add_network_options(serve: argparse.ArgumentParser) -> None:
    """Where the engine listens and who may reach it."""
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    serve.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host header to accept besides the loopback names (repeatable)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="trust X-Forwarded-* from these proxy addresses (comma-separated; default none)",
    )


def _add_identity_options(serve: argparse.ArgumentParser) -> None:
    """The data directory and the key clients must present."""
    serve.add_argument("--data-dir", type=Path, default=None, help="jobs database + recordings")
    serve.add_argument(
        "--api-key",
        default=None,
        help=f"the key clients must present (visible in the process list: prefer "
        f"--api-key-file or ${API_KEY_ENV})",
    )
    serve.add_argument(
        "--api-key-file", type=Path, default=None, help="read the key from this file"
    )


def _add_render_options(serve: argparse.ArgumentParser) -> None:
    """How jobs are rendered and cancelled."""
    serve.add_argument("--workers", type=_positive_int, default=None, help="render processes")
    serve.add_argument("--pace", choices=PACES, default=DEFAULT_PACE)
    serve.add_argument("--fps", type=_positive_int, default=24)
    serve.add_argument(
        "--cancellable",
        choices=tuple(CANCELLABLE),
        default="active",
        help="which jobs a cancel stops: 'active' (also those rendering, as the Simulate "
        "API guide says; the default) or 'queued' (pending or dispatched only, as the SDK "
        "reference says: a rendering job answers 400)",
    )
    serve.add_argument(
        "--url-ttl", type=_positive_int, default=3600, help="artifact URL lifetime (s)"
    )


def _add_limit_options(serve: argparse.ArgumentParser) -> None:
    """The hosted service's usage limits, emulated per key."""
    serve.add_argument(
        "--rate-limit", type=_positive_float, default=None, help="requests/s per key"
    )
    serve.add_argument(
        "--max-active",
        "--max-queued",
        dest="max_active",
        type=_positive_int,
        default=None,
        help="jobs queued or running per key at most (429 CONCURRENT_LIMIT_REACHED beyond)",
    )
    serve.add_argument(
        "--max-active-streams",
        type=_positive_int,
        default=None,
        help="streams of active jobs at most, per key",
    )
    serve.add_argument(
        "--max-job-seconds",
        type=_positive_float,
        default=3600.0,
        help="seconds of video one job may ask for (default 3600)",
    )
    serve.add_argument(
        "--max-job-streams",
        type=_positive_int,
        default=100,
        help="streams one job may hold (default 100)",
    )


def _add_connection_options(serve: argparse.ArgumentParser) -> None:
    """Bounds on each connection, so a slow or greedy client cannot hold the engine."""
    serve.add_argument(
        "--max-connections",
        type=_positive_int,
        default=128,
        help="open connections at most; beyond it, 503 (default 128)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive_float,
        default=10.0,
        help="seconds a client may take to send a request's headers (default 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=_positive_float,
        default=60.0,
        help="seconds a client may take to send a request's body (default 60)",
    )
    serve.add_argument(
        "--keep-alive",
        type=_positive_float,
        default=5.0,
        help="seconds an idle connection stays open between requests (default 5)",
    )


def build_parser() -> RecordedParser:
    parser = RecordedParser(
        prog="python -m odyssey_jupyter.local",
        description="The local Odyssey engine: the Simulate API, rendered on this machine.",
    )
    commands = parser.add_subcommands(dest="command", required=True)
    serve = commands.add("serve", help="serve the Simulate API over HTTP")
    _add_network_options(serve)
    _add_identity_options(serve)
    _add_render_options(serve)
    _add_limit_options(serve)
    _add_connection_options(serve)
    status = commands.add(
        "status",
        help="is an engine running: its URL, data dir, pace, workers, version, pid, uptime, jobs",
        description="Exit status: 0 running, 1 not running but engine.json left behind, "
        "3 not running, 4 a live process that does not prove it is the engine.",
    )
    stop = commands.add(
        "stop",
        help="stop the engine: asked first, ended after --timeout; unfinished jobs stay queued",
        description="Exit status: 0 stopped (or nothing to stop), 1 it could not be stopped.",
    )
    _add_manage_options(status, stop)
    return parser


def _add_manage_options(status: argparse.ArgumentParser, stop: argparse.ArgumentParser) -> None:
    """``status`` and ``stop``: the engine serving a data directory, as its user manages it."""
    for command in (status, stop):
        command.add_argument("--data-dir", type=Path, default=None, help="as for serve")
        command.add_argument("--json", action="store_true", help="print JSON, not text")
    stop.add_argument(
        "--timeout",
        type=_positive_float,
        default=STOP_TIMEOUT,
        help=f"seconds the engine has to stop before it is ended (default {STOP_TIMEOUT:g})",
    )


def _key_from_file(parser: argparse.ArgumentParser, path: Path) -> str:
    try:
        with open(path.expanduser(), "rb") as handle:
            raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        parser.error(f"--api-key-file {path}: cannot read it ({exc.strerror or exc})")
    if len(raw) > MAX_KEY_FILE_BYTES:
        parser.error(f"--api-key-file {path}: larger than {MAX_KEY_FILE_BYTES} bytes")
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        parser.error(f"--api-key-file {path}: not UTF-8 text")
    if not key:
        parser.error(f"--api-key-file {path}: the file is empty")
    return key


def _api_key(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The key from exactly one of ``--api-key-file``, ``--api-key`` or the environment."""
    given = [flag for flag, value in (("--api-key", args.api_key), ("--api-key-file",
             args.api_key_file)) if value is not None]  # fmt: skip
    if len(given) > 1:
        parser.error("give either --api-key or --api-key-file, not both")
    if args.api_key_file is not None:
        return _key_from_file(parser, args.api_key_file)
    if args.api_key is not None:
        sys.stderr.write(ARGV_KEY_WARNING)
        return str(args.api_key)
    return os.environ.get(API_KEY_ENV, "").strip() or None


def parse_options(argv: Sequence[str] | None = None) -> EngineOptions:
    """Parse and check the command line; exits with a usage message when it makes no sense."""
    parser = build_parser()
    return serve_options(parser, parser.parse_args(argv))


def serve_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> EngineOptions:
    """``serve``'s parsed ``args`` checked together; ``parser`` exits with the usage if wrong."""
    api_key = _api_key(parser, args)
    if args.host not in LOOPBACK_HOSTS:
        if not args.allow_remote:
            parser.error(f"--host {args.host} is reachable from other machines: add --allow-remote")
        if not api_key:
            parser.error(
                "serving beyond this machine requires an explicit key "
                f"(--api-key-file, ${API_KEY_ENV} or --api-key)"
            )
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, not {args.port}")
    if args.fps > 120:
        parser.error("--fps must be at most 120")
    return EngineOptions(
        host=args.host,
        port=args.port,
        data_dir=(args.data_dir or default_data_dir()).expanduser().resolve(),
        api_key=api_key,
        workers=args.workers or max(1, os.cpu_count() or 1),
        pace=args.pace,
        fps=args.fps,
        cancellable=args.cancellable,
        url_ttl=args.url_ttl,
        rate_limit=args.rate_limit,
        max_active=args.max_active,
        allow_remote=args.allow_remote,
        max_active_streams=args.max_active_streams,
        max_job_seconds=args.max_job_seconds,
        max_job_streams=args.max_job_streams,
        allowed_hosts=tuple(h.strip().lower() for h in args.allow_host if h.strip()),
        forwarded_allow_ips=args.forwarded_allow_ips,
        max_connections=args.max_connections,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        keep_alive=args.keep_alive,
    )
