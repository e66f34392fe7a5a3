"""Find the local engine serving a data directory, or start one, for a kernel without a key.

Imported by the client inside kernels, so it uses only the standard library and
httpx. The engine runs detached (its own session), survives the kernel, and is
shared by every kernel using the same data directory; a lock file keeps two
kernels starting at once from starting two engines.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from odyssey_jupyter.errors import EngineStartError
from odyssey_jupyter.local.datadir import (
    PRIVATE_FILE_MODE,
    UNUSABLE_EXIT_STATUS,
    DataDirUnusable,
    create_private_dir,
    open_private_append,
    unusable,
)
from odyssey_jupyter.local.options import API_KEY_ENV, default_data_dir
from odyssey_jupyter.local.ready import wait_for_ready
from odyssey_jupyter.local.record import read_record, recorded_pid

REQUIRED_MODULES = ("starlette", "uvicorn", "av", "numpy", "PIL")

_children: list[subprocess.Popen[bytes]] = []
"""Engines started from this process: polled now and then so an exited one is reaped."""
INSTALL_HINT = "pip install 'odyssey_jupyter[local]'"


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """Where the engine answers and the key it accepts (hidden from the repr)."""

    url: str
    api_key: str = field(repr=False)
    pid: int
    started: bool
    data_dir: Path


def missing_modules() -> list[str]:
    """The engine's dependencies (the ``local`` extra) that are not installed."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recorded_engine_alive(data_dir: Path) -> bool:
    """Whether ``engine.json`` in ``data_dir`` names a live process (no HTTP: a cheap check)."""
    pid = recorded_pid(data_dir)
    return pid is not None and _pid_alive(pid)


def _answers(url: str, pid: int) -> bool:
    try:
        response = httpx.get(f"{url}/health", timeout=httpx.Timeout(3.0))
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return (
        response.status_code == 200
        and body.get("engine") == "odyssey-local"
        and body.get("pid") == pid
    )


def find_engine(data_dir: Path) -> EngineInfo | None:
    """The engine already serving ``data_dir``, if one is alive and answering."""
    record = read_record(data_dir)
    if record is None:
        return None
    pid, url, key = record.get("pid"), record.get("url"), record.get("api_key")
    if not isinstance(pid, int) or not isinstance(url, str) or not _pid_alive(pid):
        return None
    if not _answers(url, pid):
        return None
    if not isinstance(key, str):
        raise EngineStartError(
            f"the engine serving {data_dir} (pid {pid}, {url}) was started with its own "
            "--api-key: set ODYSSEY_API_URL and ODYSSEY_API_KEY to use it, or stop it"
        )
    return EngineInfo(url=url, api_key=key, pid=pid, started=False, data_dir=data_dir)


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``path`` (advisory, released if this process dies)."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: go without
        yield
        return
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE), "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineStartError(
                        f"timed out waiting for another process starting the engine ({path})"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _start(data_dir: Path, timeout: float) -> EngineInfo:
    missing = missing_modules()
    if missing:
        raise EngineStartError(
            f"the local engine needs {', '.join(missing)}, which is not installed: {INSTALL_HINT}"
        )
    # The engine generates its key in the data directory: no key on its command line
    # (which every local user can read), and none inherited from this environment.
    command = [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    log_path = data_dir / "engine.log"
    try:
        log = open_private_append(log_path)
    except OSError as exc:
        raise EngineStartError(str(unusable(data_dir, exc))) from None
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # detached: survives the kernel and its Ctrl-C
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
            record = read_record(data_dir) or {}
            key = record.get("api_key")
            if not isinstance(key, str):
                raise EngineStartError(f"the engine did not record its key in {data_dir}")
            return EngineInfo(
                url=url, api_key=key, pid=process.pid, started=True, data_dir=data_dir
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
    if process.returncode == UNUSABLE_EXIT_STATUS:
        last = _tail(log_path, 1).strip()
        reason = last.partition(" ERROR ")[2] or last
        raise EngineStartError(reason or f"the engine's data directory {data_dir} is not usable")
    tail = _tail(log_path)
    raise EngineStartError(
        f"the local engine exited with status {process.returncode} (log: {log_path}){tail}"
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n" + "\n".join(text)) if text else ""


def ensure_engine(data_dir: Path | None = None, *, timeout: float = 60.0) -> EngineInfo:
    """The engine serving ``data_dir`` (default: the user's cache), started if needed."""
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
        found = find_engine(directory)  # someone else may have started it meanwhile
        if found is not None:
            return found
        return _start(directory, timeout)
