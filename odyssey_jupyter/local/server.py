"""Glue: open the data directory, recover, start workers, serve HTTP, stop cleanly.

The ready line goes to stdout only once the socket accepts connections; logs go
to stderr. SIGTERM and SIGINT stop the server, stop the workers and put in-flight
jobs back in the queue for the next start.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from odyssey_jupyter.files.private import PRIVATE_DIR_MODE, ExclusiveLock, LockBusyError
from odyssey_jupyter.local import READY_PREFIX
from odyssey_jupyter.local.http.app import create_app
from odyssey_jupyter.local.http.door import accepted_hosts
from odyssey_jupyter.local.http.limits import AuthThrottle, RateLimiter
from odyssey_jupyter.local.http.protocol import protocol_with_header_timeout
from odyssey_jupyter.local.http.state import EngineState
from odyssey_jupyter.local.jobs.dispatcher import Dispatcher
from odyssey_jupyter.local.launch.options import CANCELLABLE, EngineOptions
from odyssey_jupyter.local.launch.record import forget_record, write_record
from odyssey_jupyter.local.store.database import CorruptDatabase, StorageError
from odyssey_jupyter.local.store.datadir import (
    PRIVATE_UMASK,
    UNUSABLE_EXIT_STATUS,
    DataDirUnusable,
    create_private_dir,
    tighten_tree,
    unusable,
)
from odyssey_jupyter.local.store.keys import (
    TokenSigner,
    UrlSigner,
    load_generated_api_key,
    load_secret,
    owner_of,
)
from odyssey_jupyter.local.store.store import Store

log = logging.getLogger("odyssey_jupyter.local")


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising the signal after shutdown (we still have cleanup to do)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP, or asyncio skips TCP_NODELAY on accepted connections (40 ms stalls)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class DataDirBusy(RuntimeError):
    """Another engine already serves this data directory."""


def _hold_data_dir(data_dir: Path) -> ExclusiveLock:
    """Lock the data directory for this engine's lifetime (the system frees it on any exit)."""
    try:
        return ExclusiveLock(data_dir / "serving.lock").acquire()
    except LockBusyError:
        raise DataDirBusy(f"another engine is already serving {data_dir}") from None


def _quiet_stdout() -> None:
    """After the ready line nothing else may reach stdout (a launcher may stop reading it)."""
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


_QUIET_SECONDS = 10.0
_last_out_of_descriptors = [-_QUIET_SECONDS]


def _on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A line every 10 s at most, not a traceback per pending connection, when accept()
    runs out of descriptors (asyncio stops accepting for a second and tries again)."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_DESCRIPTORS:
        now = loop.time()
        if now - _last_out_of_descriptors[0] >= _QUIET_SECONDS:
            _last_out_of_descriptors[0] = now
            log.warning("cannot accept connections for now (%s); retrying", exc.strerror)
        return
    loop.default_exception_handler(context)


def _prepare_data_dir(data_dir: Path) -> tuple[Path, ExclusiveLock]:
    """The private, writable data directory, tightened, and its lock (or ``DataDirUnusable``)."""
    create_private_dir(data_dir)
    try:
        tightened = tighten_tree(data_dir)
        recordings = data_dir / "recordings"
        recordings.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        lock = _hold_data_dir(data_dir)
    except OSError as exc:
        raise unusable(data_dir, exc) from None
    if tightened:
        log.warning("made %d entries under %s private to their user", tightened, data_dir)
    return recordings, lock


def _engine_state(
    options: EngineOptions, store: Store, recordings: Path, api_key: str, secret: bytes
) -> EngineState:
    """What the routes share: the store, the dispatcher, the signers and every limit."""
    dispatcher = Dispatcher(
        store=store,
        recordings=recordings,
        workers=options.workers,
        fps=options.fps,
        realtime=options.pace == "realtime",
    )
    owner = owner_of(api_key)
    return EngineState(
        store=store,
        dispatcher=dispatcher,
        tokens=TokenSigner(secret, owner),
        urls=UrlSigner(secret, options.url_ttl),
        api_key=api_key,
        owner=owner,
        secret=secret,
        recordings=recordings,
        fps=options.fps,
        limiter=RateLimiter(options.rate_limit) if options.rate_limit else None,
        max_active=options.max_active,
        max_active_streams=options.max_active_streams,
        max_job_seconds=options.max_job_seconds,
        max_job_streams=options.max_job_streams,
        body_timeout=options.body_timeout,
        hosts=accepted_hosts(options.host, options.allowed_hosts),
        auth_throttle=AuthThrottle(),
        cancellable=CANCELLABLE[options.cancellable],
    )


def _uvicorn_config(options: EngineOptions, state: EngineState) -> uvicorn.Config:
    """uvicorn with the engine's own deadlines and caps (and no access log or banner)."""
    return uvicorn.Config(
        create_app(state),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,
        http=protocol_with_header_timeout(options.header_timeout),
        h11_max_incomplete_event_size=64 * 1024,
        timeout_keep_alive=max(1, round(options.keep_alive)),
        limit_concurrency=options.max_connections,
        proxy_headers=options.forwarded_allow_ips is not None,
        forwarded_allow_ips=options.forwarded_allow_ips or "",
        server_header=False,
    )


async def _serve(options: EngineOptions) -> None:
    asyncio.get_running_loop().set_exception_handler(_on_loop_error)
    data_dir = options.data_dir
    recordings, lock = _prepare_data_dir(data_dir)
    generated = options.api_key is None
    try:
        api_key = options.api_key or load_generated_api_key(data_dir)
        secret = load_secret(data_dir)
    except OSError as exc:
        lock.release()
        raise unusable(data_dir, exc) from None
    store = Store(data_dir / "engine.db")
    state = _engine_state(options, store, recordings, api_key, secret)
    dispatcher = state.dispatcher
    dispatcher.recover()
    sock = _bind(options.host, options.port)
    url = _url(options.host, sock.getsockname()[1])
    server = _Server(_uvicorn_config(options, state))
    await dispatcher.start()
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    if serving.done():
        await serving  # raises why it could not start
        return
    try:
        try:
            write_record(
                data_dir,
                url,
                os.getpid(),
                api_key if generated else None,
                pace=options.pace,
                workers=options.workers,
            )
        except OSError as exc:
            server.should_exit = True
            await serving
            raise unusable(data_dir, exc) from None
        sys.stdout.write(f"{READY_PREFIX}{url}\n")
        _quiet_stdout()
        log.info(
            "serving %s from %s with %d render workers (pace %s)",
            url,
            data_dir,
            options.workers,
            options.pace,
        )
        await serving
    finally:
        forget_record(data_dir, os.getpid())
        await dispatcher.stop()
        store.close()
        lock.release()
        log.info("stopped; unfinished jobs stay queued")


def serve(options: EngineOptions) -> int:
    os.umask(PRIVATE_UMASK)  # SQLite's WAL files, the log, the workers' recordings: 0600
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s odyssey-local %(levelname)s %(message)s",
    )
    try:
        asyncio.run(_serve(options))
    except DataDirBusy as exc:
        log.error("%s", exc)
        return 3
    except DataDirUnusable as exc:
        log.error("%s", exc)
        return UNUSABLE_EXIT_STATUS
    except CorruptDatabase as exc:  # never deleted here: it may hold the only copy of a job
        log.error("%s", exc)
        return UNUSABLE_EXIT_STATUS
    except StorageError as exc:
        log.error("cannot use the engine's database %s", exc)
        return UNUSABLE_EXIT_STATUS
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", options.host, options.port, exc)
        return 1
    return 0
