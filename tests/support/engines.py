"""Engine processes started by the tests and benchmarks, exactly as a user starts one.

``python -m odyssey_jupyter.local serve`` in its own session, the key passed by the
environment, and the shared ``wait_for_ready`` for its ready line. Free of pytest so
``python -m benchmarks`` uses the same launcher.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from odyssey_jupyter.local.launch.ready import wait_for_ready

ENGINE_MODULE = "odyssey_jupyter.local"
"""The word on an engine's command line that marks it as one (see ``engines_under``)."""


@dataclass
class RunningEngine:
    """A local engine process started by a test or a benchmark."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def close(self) -> None:
        """Stop it and close the pipe its ready line came through (a test may read the
        rest of its stdout after ``stop()``, so only whoever started it closes it)."""
        self.stop()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def launch_engine(
    data_dir: Path,
    *extra: str,
    api_key: str | None = None,
    port: int = 0,
    timeout: float = 60.0,
    preexec_fn: Callable[[], None] | None = None,
    quiet: bool = False,
) -> RunningEngine:
    """Start ``python -m odyssey_jupyter.local serve`` and wait for its ready line.

    ``quiet`` drops the engine's log (benchmarks print tables, not logs); tests keep it
    so that pytest shows it beside a failure.
    """
    key = api_key or f"ody_test_{secrets.token_hex(12)}"
    args = [
        sys.executable,
        "-m",
        ENGINE_MODULE,
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
        stderr=subprocess.DEVNULL if quiet else None,
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


def engines_under(root: Path) -> list[int]:
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
        if ENGINE_MODULE in words and any(word.startswith(str(root)) for word in words):
            pids.append(int(entry.name))
    return pids


def stop_pids(pids: list[int], timeout: float = 10.0) -> list[int]:
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
