"""Shared fixtures: a real local engine over real HTTP on 127.0.0.1.

``engine`` is one fast engine for the whole session; ``start_engine`` starts
extra engines with other options (``--pace realtime``, limits) for one test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from odyssey_jupyter.local.ready import wait_for_ready

ENGINE_COMMAND = "odyssey_jupyter.local"


def _user_cache_dir() -> Path:
    """Where an engine auto-started outside the suite would keep its data."""
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "odyssey_jupyter"


def _tree_state(root: Path) -> dict[str, float]:
    """Every path below ``root`` with its modification time (empty when absent)."""
    if not root.exists():
        return {}
    return {str(path): path.stat().st_mtime for path in [root, *root.rglob("*")]}


def _engines_under(root: Path) -> list[int]:
    """Pids of engine processes whose command line names a directory below ``root``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [word.decode("utf-8", "replace") for word in argv]
        if ENGINE_COMMAND in words and any(word.startswith(str(root)) for word in words):
            pids.append(int(entry.name))
    return pids


def _stop_pids(pids: list[int], timeout: float = 10.0) -> list[int]:
    """SIGTERM then SIGKILL; the pids still alive afterwards."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def _zombie(pid: int) -> bool:
    try:
        return ") Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


@pytest.fixture(scope="session", autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the suite off the user's own engine and cache, and leave nothing running.

    Kernels and engines inherit the environment, so an auto-started engine lands
    in a temporary directory. At the end, an engine the suite left serving, or
    any write to the user's cache, fails the run.
    """
    user_cache = _user_cache_dir()
    before = _tree_state(user_cache)
    root = tmp_path_factory.getbasetemp()
    isolated = tmp_path_factory.mktemp("user-cache")
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "ODYSSEY_LOCAL_DATA_DIR")}
    os.environ["XDG_CACHE_HOME"] = str(isolated)
    os.environ["ODYSSEY_LOCAL_DATA_DIR"] = str(isolated / "odyssey_jupyter" / "engine")
    yield isolated
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    left_running = _engines_under(root)
    _stop_pids(left_running)
    problems = []
    if left_running:
        problems.append(f"engines still serving after the suite: pids {left_running}")
    if _tree_state(user_cache) != before:
        problems.append(f"the suite wrote to the user's cache {user_cache}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@dataclass
class RunningEngine:
    """A local engine process started by a test."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]
    args: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def launch_engine(
    data_dir: Path,
    *extra: str,
    api_key: str | None = None,
    port: int = 0,
    timeout: float = 60.0,
    preexec_fn: Callable[[], None] | None = None,
) -> RunningEngine:
    """Start ``python -m odyssey_jupyter.local serve`` and wait for its ready line."""
    key = api_key or f"ody_test_{secrets.token_hex(12)}"
    args = [
        sys.executable,
        "-m",
        "odyssey_jupyter.local",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    # the key goes by the environment: on the command line every local user could read it
    env = dict(os.environ, PYTHONUNBUFFERED="1", ODYSSEY_LOCAL_API_KEY=key)
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=preexec_fn,  # e.g. resource limits for one engine
    )
    url = wait_for_ready(process, timeout)
    if url is not None:
        return RunningEngine(url, key, data_dir, process, args)
    process.kill()
    raise RuntimeError(f"the local engine did not start: {' '.join(args[1:])}")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """One fast local engine shared by the whole test session."""
    running = launch_engine(tmp_path_factory.mktemp("engine"), "--workers", "2")
    yield running
    running.stop()


@pytest.fixture
def start_engine(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningEngine]]:
    """Start extra engines (``start_engine("--pace", "realtime")``); all stopped afterwards."""
    started: list[RunningEngine] = []

    def start(*extra: str, data_dir: Path | None = None, **kwargs: object) -> RunningEngine:
        directory = data_dir or tmp_path_factory.mktemp("engine")
        running = launch_engine(directory, *extra, **kwargs)  # type: ignore[arg-type]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def engine_env(engine: RunningEngine, monkeypatch: pytest.MonkeyPatch) -> RunningEngine:
    """Point ``ODYSSEY_API_URL``/``ODYSSEY_API_KEY`` at the session engine for one test."""
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    return engine


@pytest.fixture
def sandbox_settings() -> dict[str, Any]:
    """Settings the ``sandbox`` adds; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_settings: dict[str, Any]
) -> Iterator[Path]:
    """A fresh runtime, with recordings and history under tmp_path; restored afterwards."""
    from odyssey_jupyter.config import OdysseyJupyter, get_config, set_config
    from odyssey_jupyter.runtime import shutdown_runtime

    shutdown_runtime()
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(tmp_path / "history.jsonl"))
    previous = get_config()
    set_config(OdysseyJupyter(recordings_dir=str(tmp_path / "recs"), **sandbox_settings))
    yield tmp_path
    shutdown_runtime()
    set_config(previous)
