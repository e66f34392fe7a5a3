"""With neither a key nor a URL the client starts (or re-uses) the embedded engine by itself."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.local.launch.record import record_path, recorded_pid

SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "A lantern in the fog"}},
    {"timestamp_ms": 500, "end": {}},
]


def engine_pid(data_dir: Path) -> int:
    pid = recorded_pid(data_dir)
    assert pid is not None, f"no engine recorded in {data_dir}"
    return pid


def wait_dead(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # the launcher's child of this process: reap it, or it lingers as a zombie
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"engine {pid} did not stop")


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    data_dir = tmp_path / "engine"
    monkeypatch.setenv("ODYSSEY_LOCAL_DATA_DIR", str(data_dir))
    yield data_dir
    if record_path(data_dir).exists():
        pid = engine_pid(data_dir)
        try:
            os.kill(pid, signal.SIGTERM)
            wait_dead(pid)
        except ProcessLookupError:
            pass


def test_no_key_no_url_uses_the_local_engine_and_says_so_once(
    local_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def main() -> tuple[str, str]:
        async with Odyssey() as client:
            assert client.is_local and client.api_url is None
            job = await client.simulate(SCRIPT)
            done = await client.wait(job.job_id, timeout=60, poll_interval=0.1)
            assert client.api_url is not None and client.api_url.startswith("http://127.0.0.1:")
            return str(done.status), client.api_url

    status, url = asyncio.run(main())
    assert status == "completed"
    # a second client re-uses the running engine and stays quiet
    again = asyncio.run(_list_total())
    assert again >= 1
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if "Using the local Odyssey engine" in line]
    assert notices == [
        f"Using the local Odyssey engine at {url} (set ODYSSEY_API_KEY to use the hosted API)"
    ]


async def _list_total() -> int:
    async with Odyssey() as client:
        return (await client.list_simulations(limit=1)).total


def test_a_dead_local_engine_is_restarted_on_the_next_call(local_dir: Path) -> None:
    client = Odyssey()

    async def total() -> int:
        return (await client.list_simulations(limit=1)).total

    asyncio.run(total())
    first = engine_pid(local_dir)
    os.kill(first, signal.SIGKILL)
    wait_dead(first)
    assert asyncio.run(total()) >= 0  # refused, so the launcher started a new engine
    assert engine_pid(local_dir) != first
