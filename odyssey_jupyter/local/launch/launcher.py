"""Find the local engine serving a data directory, or start one, for a kernel without a key.

Imported by the client inside kernels, so it uses only the standard library and
httpx. The engine runs detached (its own session), survives the kernel, and is
shared by every kernel using the same data directory; a lock file keeps two
kernels starting at once from starting two engines.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from odyssey_jupyter.errors import EngineStartError
from odyssey_jupyter.files.private import ExclusiveLock, LockBusyError, create_private_file
from odyssey_jupyter.local.launch import processes
from odyssey_jupyter.local.launch.identity import proves_identity
from odyssey_jupyter.local.launch.options import API_KEY_ENV, DEFAULT_PACE, PACES, default_data_dir
from odyssey_jupyter.local.launch.ready import wait_for_ready
from odyssey_jupyter.local.launch.record import EngineRecord, load_record
from odyssey_jupyter.local.store.datadir import (
    UNUSABLE_EXIT_STATUS,
    DataDirUnusable,
    create_private_dir,
    unusable,
)

log = logging.getLogger("odyssey_jupyter.local.launch.launcher")

REQUIRED_MODULES = ("starlette", "uvicorn", "av", "numpy", "PIL", "psutil")

_children: list[subprocess.Popen[bytes]] = []
TAIL_BYTES = 16 * 1024
"""The most of the log read to explain a failed start (the log grows across starts)."""
"""Engines started from this process: polled now and then so an exited one is reaped."""
INSTALL_HINT = (
    "pip install 'odyssey_jupyter[local]' "
    "(from a checkout: pip install '.[local]'; from a wheel or sdist: pip install 'FILE[local]')"
)
DETACHED_FLAGS = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
    subprocess, "DETACHED_PROCESS", 0
)
"""Windows' own way to start the engine outside the kernel's console and its Ctrl-C
(``start_new_session`` is POSIX only); 0 elsewhere."""


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """Where the engine answers and the key it accepts (hidden from the repr)."""

    url: str
    api_key: str = field(repr=False)
    pid: int
    started: bool
    data_dir: Path
    pace: str = DEFAULT_PACE


def missing_modules() -> list[str]:
    """The engine's dependencies (the ``local`` extra) that are not installed."""
    return [name for name in REQUIRED_MODULES if not _installed(name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses it, or a broken installation
        return False


def recorded_engine_alive(data_dir: Path) -> bool:
    """Whether ``engine.json`` in ``data_dir`` names a live engine a kernel may reuse.

    No HTTP: a cheap check, so an engine that is about to be replaced (another
    version, a deleted installation) counts as not alive, and the caller can show
    that an engine is being started.
    """
    if missing_modules():  # no engine can be used without the extra: say so when starting
        return False
    record = load_record(data_dir)
    return record is not None and processes.alive(record.pid) and record.stale_reason() is None


def live_record(data_dir: Path) -> EngineRecord | None:
    """The record of the engine serving ``data_dir``, if its process is alive and proves it.

    Nothing is sent to the recorded URL but a fresh nonce until the engine has
    answered it with the HMAC only the data directory's own engine can compute.
    """
    record = load_record(data_dir)
    if record is None or not processes.alive(record.pid):
        return None
    return record if proves_identity(record, data_dir) else None


def find_engine(data_dir: Path) -> EngineInfo | None:
    """The engine already serving ``data_dir``, if one is alive, proven and reusable.

    Not reusable (``None``): one left by another version or a deleted installation;
    ``ensure_engine`` replaces it. Its pace does not matter here: the engine serves
    every client of the data directory, so none replaces it because of its pace.
    """
    record = live_record(data_dir)
    if record is None:
        return None
    if record.api_key is None:
        raise EngineStartError(
            f"the engine serving {data_dir} (pid {record.pid}, {record.url}) was started "
            "with its own --api-key: set ODYSSEY_API_URL and ODYSSEY_API_KEY to use it, "
            "or stop it"
        )
    if record.stale_reason() is not None:
        return None
    return EngineInfo(
        url=record.url,
        api_key=record.api_key,
        pid=record.pid,
        started=False,
        data_dir=data_dir,
        pace=record.pace,
    )


def _active_jobs(url: str, api_key: str) -> int | None:
    """How many jobs the engine at ``url`` has not finished, or ``None`` if it will not say."""
    timeout = httpx.Timeout(3.0)
    try:
        grant = httpx.post(f"{url}/auth/token", json={"api_key": api_key}, timeout=timeout)
        token = grant.json()["access_token"]
        listed = httpx.get(
            f"{url}/simulation-jobs",
            params={"active": "true", "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
        total = listed.json()["total"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return total if isinstance(total, int) else None


def _reap_children() -> None:
    """Collect the exit status of engines this process started and that have exited."""
    for child in _children:
        child.poll()


def stop_process(pid: int, timeout: float) -> bool:
    """Ask engine ``pid`` to stop, end it if it has not within ``timeout``; whether it had to be.

    A stopping engine puts the jobs it was rendering back in the queue; one that is
    ended leaves them for the next engine to requeue: nothing is lost either way.
    ``PermissionError`` when it is another user's.
    """
    engine = processes.find(pid)
    if engine is None or not engine.terminate():
        return False
    if engine.wait_gone(timeout, reap=_reap_children):
        return False
    engine.kill()
    engine.wait_gone(5.0, reap=_reap_children)
    return True


def _replace_stale(data_dir: Path, timeout: float) -> None:
    """Stop the engine serving ``data_dir`` if a kernel must not reuse it, saying so once.

    A stopping engine puts the jobs it was rendering back in the queue, so the engine
    started next on the same data directory renders them: nothing is lost. One that
    does not stop within ``timeout`` is ended; the next engine requeues its jobs then.
    """
    record = live_record(data_dir)
    if record is None or record.api_key is None:  # one started by hand is not ours to stop
        return
    reason = record.stale_reason()
    if reason is None:
        return
    pid = record.pid
    active = _active_jobs(record.url, record.api_key)
    try:
        stop_process(pid, timeout)
    except PermissionError:
        raise EngineStartError(
            f"the engine serving {data_dir} (pid {pid}) cannot be reused ({reason}) and "
            "cannot be stopped from here: stop it, or choose another ODYSSEY_LOCAL_DATA_DIR"
        ) from None
    if active is None:
        jobs = "any jobs it had not finished are queued again"
    elif active == 0:
        jobs = "it had no active jobs"
    else:
        jobs = f"its {active} active jobs are queued again"
        if active == 1:
            jobs = "its active job is queued again"
    log.warning(
        "replaced the local engine (pid %d) serving %s: %s; %s for the new engine",
        pid,
        data_dir,
        reason,
        jobs,
    )


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``path`` (released if this process dies), on every platform."""
    lock = ExclusiveLock(path)
    try:
        lock.acquire(timeout=timeout)
    except LockBusyError:
        raise EngineStartError(
            f"timed out waiting for another process starting the engine ({path})"
        ) from None
    except OSError as exc:
        raise EngineStartError(f"cannot lock {path}: {exc}") from None
    try:
        yield
    finally:
        lock.release()


def _require_extra() -> None:
    """``EngineStartError`` with what to install when the ``local`` extra is missing."""
    missing = missing_modules()
    if missing:
        raise EngineStartError(
            f"the local engine needs {', '.join(missing)}, which is not installed: {INSTALL_HINT}"
        )


def _start(data_dir: Path, timeout: float, pace: str | None) -> EngineInfo:
    # The engine generates its key in the data directory: no key on its command line
    # (which every local user can read), and none inherited from this environment.
    command = [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--data-dir", str(data_dir)]
    if pace is not None:
        command += ["--pace", pace]
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    log_path = data_dir / "engine.log"
    try:
        log = create_private_file(log_path, append=True)
    except OSError as exc:
        raise EngineStartError(str(unusable(data_dir, exc))) from None
    this_start = os.lseek(log, 0, os.SEEK_END)  # what earlier starts wrote explains nothing now
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # detached: survives the kernel and its Ctrl-C (POSIX)
            creationflags=DETACHED_FLAGS,  # the same on Windows
            env=dict(env, PYTHONUNBUFFERED="1"),
        )
    finally:
        os.close(log)
    assert process.stdout is not None
    _children.append(process)
    deadline = time.monotonic() + timeout
    try:
        url = wait_for_ready(process, timeout)
        if url is not None:
            record = load_record(data_dir)
            key = None if record is None else record.api_key
            if key is None:
                raise EngineStartError(f"the engine did not record its key in {data_dir}")
            return EngineInfo(
                url=url,
                api_key=key,
                pid=process.pid,
                started=True,
                data_dir=data_dir,
                pace=pace or DEFAULT_PACE,
            )
    finally:
        process.stdout.close()
    with contextlib.suppress(subprocess.TimeoutExpired):  # its stdout closes just before it exits
        process.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
    if process.poll() is None:
        process.kill()
        raise EngineStartError(
            f"the local engine did not start within {timeout:g} s (log: {log_path})"
        )
    raise _exit_error(process.returncode, data_dir, log_path, this_start)


def _exit_error(status: int, data_dir: Path, log_path: Path, since: int) -> EngineStartError:
    """Why the engine exited with ``status``, from what it logged after byte ``since``."""
    if status == UNUSABLE_EXIT_STATUS:
        last = _tail(log_path, since, 1).strip()
        reason = last.partition(" ERROR ")[2] or last
        return EngineStartError(reason or f"the engine's data directory {data_dir} is not usable")
    tail = _tail(log_path, since)
    return EngineStartError(f"the local engine exited with status {status} (log: {log_path}){tail}")


def _tail(path: Path, since: int, lines: int = 5) -> str:
    """The last ``lines`` lines of the log written after byte ``since`` (this start's)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(since, handle.seek(0, os.SEEK_END) - TAIL_BYTES))
            text = handle.read().decode(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n" + "\n".join(text)) if text else ""


def ensure_engine(
    data_dir: Path | None = None, *, timeout: float = 60.0, pace: str | None = None
) -> EngineInfo:
    """The engine serving ``data_dir`` (default: the user's cache), started if needed.

    ``pace`` (``fast`` or ``realtime``) is the pace of an engine started here. An
    engine already serving at another pace is kept (it serves every client of the
    data directory; ``EngineInfo.pace`` says which it is, so the caller can tell
    its user). An engine left by another version of the package, or by an
    installation that no longer exists, is replaced.
    """
    if pace is not None and pace not in PACES:
        raise EngineStartError(f"the engine's pace must be one of {', '.join(PACES)}, not {pace!r}")
    _require_extra()
    directory = (data_dir or default_data_dir()).expanduser().resolve()
    _children[:] = [child for child in _children if child.poll() is None]
    try:
        create_private_dir(directory)
    except DataDirUnusable as exc:
        raise EngineStartError(str(exc)) from None
    found = find_engine(directory)
    if found is not None:
        return found
    with _locked(directory / "launcher.lock", timeout):
        _replace_stale(directory, timeout)
        found = find_engine(directory)  # someone else may have started it meanwhile
        if found is not None:
            return found
        return _start(directory, timeout, pace)
