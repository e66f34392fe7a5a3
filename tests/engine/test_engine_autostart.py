"""The engine a kernel starts by itself: its pace from a setting, its start line at INFO,
and its replacement when it was left by another version or a deleted installation.

Every engine here is a real one, started through the client or the launcher on a
temporary data directory, and stopped (by pid) at the end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, short_script, wait_terminal
from support.engines import RunningEngine

import odyssey_jupyter
from odyssey_jupyter.client import endpoint
from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import ConfigurationError, EngineStartError
from odyssey_jupyter.local.launch.launcher import ensure_engine
from odyssey_jupyter.local.launch.manage import stop_engine
from odyssey_jupyter.local.launch.record import read_record, record_path
from odyssey_jupyter.session.config import OdysseyJupyter, get_config, set_config

LAUNCHER_LOG = "odyssey_jupyter.local.launch.launcher"


def _gone(pid: int) -> bool:
    try:  # the launcher's child of this process: reap it, or it lingers as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return ") Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A keyless client's data directory; every engine that served it is stopped after."""
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    monkeypatch.delenv("ODYSSEY_LOCAL_PACE", raising=False)
    data_dir = (tmp_path / "engine").resolve()
    monkeypatch.setenv("ODYSSEY_LOCAL_DATA_DIR", str(data_dir))
    saved = get_config()
    set_config(OdysseyJupyter())  # re-reads the environment
    pids: list[int] = []
    yield data_dir
    set_config(saved)
    record = read_record(data_dir) or {}
    if isinstance(record.get("pid"), int):
        pids.append(record["pid"])
    for pid in pids:
        _stop(pid)


def _auto_start() -> str:
    """What a kernel without a key does on its first request: find or start the engine."""

    async def start() -> str:
        async with Odyssey() as client:
            return await client.start_engine()

    return asyncio.run(start())


def _api_of(data_dir: Path) -> httpx.Client:
    record = read_record(data_dir)
    assert record is not None
    return client_for(RunningEngine(record["url"], record["api_key"], data_dir, None))  # type: ignore[arg-type]


def _claim(data_dir: Path, **fields: Any) -> dict[str, Any]:
    """Rewrite the live engine's engine.json as an engine of another installation writes it."""
    record = read_record(data_dir)
    assert record is not None
    record.update(fields)
    record_path(data_dir).write_text(json.dumps(record))
    return record


def _wait_status(api: httpx.Client, job_id: str, wanted: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.get(f"/simulation-jobs/{job_id}").json()["status"] == wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {wanted}")


def _replacement_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LAUNCHER_LOG]


def test_the_pace_comes_from_the_environment_and_the_start_line_is_info(
    local_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_LOCAL_PACE", "realtime")
    set_config(OdysseyJupyter())
    url = _auto_start()
    record = read_record(local_dir)
    assert record is not None and record["url"] == url and record["pace"] == "realtime"
    assert record["version"] == odyssey_jupyter.__version__
    assert record["package"] == str(Path(odyssey_jupyter.__file__).resolve().parent)
    cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
    assert cmdline[cmdline.index(b"--pace") + 1] == b"realtime"

    api = _api_of(local_dir)  # realtime: a job is seen rendering, as on the hosted service
    job_id = api.post("/simulation-jobs", json={"script": short_script("live", 1500)}).json()
    _wait_status(api, job_id["job_id"], "processing")
    api.close()

    log = (local_dir / "engine.log").read_text()
    start = [line for line in log.splitlines() if f"serving {url}" in line]
    assert len(start) == 1 and " INFO " in start[0] and "pace realtime" in start[0]
    assert " WARNING " not in log


def test_a_bad_pace_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODYSSEY_LOCAL_PACE", "slow-motion")
    with pytest.raises(ConfigurationError, match=r"ODYSSEY_LOCAL_PACE.*'slow-motion'"):
        OdysseyJupyter().local_pace  # noqa: B018
    with pytest.raises(EngineStartError, match="pace must be one of fast, realtime"):
        ensure_engine(Path("/nonexistent/never-created"), pace="slow")


def test_an_engine_of_another_version_is_replaced_and_its_jobs_go_on(
    local_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    get_config().local_pace = "realtime"
    _auto_start()
    old = _claim(local_dir, version="0.0.1")
    api = _api_of(local_dir)
    rendering = api.post("/simulation-jobs", json={"script": short_script("first", 4000)})
    waiting = api.post("/simulation-jobs", json={"script": short_script("second", 4000)})
    _wait_status(api, rendering.json()["job_id"], "processing")
    api.close()

    caplog.set_level(logging.WARNING, logger=LAUNCHER_LOG)
    url = _auto_start()
    new = read_record(local_dir)
    assert new is not None and new["pid"] != old["pid"] and new["url"] == url
    assert new["version"] == odyssey_jupyter.__version__
    assert _gone(old["pid"])
    lines = _replacement_lines(caplog)
    assert len(lines) == 1
    assert f"pid {old['pid']}" in lines[0] and "version 0.0.1" in lines[0]
    assert "2 active jobs are queued again" in lines[0]

    api = _api_of(local_dir)  # nothing was lost: the new engine renders both jobs
    for answer in (rendering, waiting):
        done = wait_terminal(api, answer.json()["job_id"])
        assert done["status"] == "completed" and done["streams"][0]["video_url"]
    api.close()

    _auto_start()  # the replacement is of this version: it is reused, silently
    assert read_record(local_dir)["pid"] == new["pid"]  # type: ignore[index]
    assert len(_replacement_lines(caplog)) == 1


def test_an_engine_from_a_deleted_installation_is_replaced(
    local_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _auto_start()
    deleted = tmp_path / "deleted-venv"
    assert not Odyssey().needs_engine_start()
    old = _claim(local_dir, installation=str(deleted))
    assert Odyssey().needs_engine_start()  # the widget says an engine is being started
    caplog.set_level(logging.WARNING, logger=LAUNCHER_LOG)
    _auto_start()
    assert not Odyssey().needs_engine_start()
    new = read_record(local_dir)
    assert new is not None and new["pid"] != old["pid"] and _gone(old["pid"])
    assert Path(new["installation"]).is_dir()
    lines = _replacement_lines(caplog)
    assert len(lines) == 1
    assert f"its installation {deleted} no longer exists" in lines[0]
    assert "it had no active jobs" in lines[0]


def test_a_pace_change_never_replaces_the_shared_engine_silently(
    local_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    notices: list[str] = []
    monkeypatch.setattr(endpoint, "local_engine_notice", notices.append)
    caplog.set_level(logging.WARNING, logger=LAUNCHER_LOG)

    async def session() -> None:
        async with Odyssey() as client, Odyssey() as other:
            await client.start_engine()  # no preference: the engine's default pace
            await other.start_engine()
            first = read_record(local_dir)
            assert first is not None and first["pace"] == "fast"
            get_config().local_pace = "realtime"  # what %config does in the kernel
            await client.start_engine()
            assert read_record(local_dir)["pid"] == first["pid"]  # type: ignore[index]
            told = [n for n in notices if "renders at fast pace, not realtime" in n]
            assert len(told) == 1 and "odyssey_local stop" in told[0], notices
            await client.start_engine()  # told once per change, not on every call
            assert len([n for n in notices if "not realtime" in n]) == 1
            assert stop_engine(local_dir).stopped
            await client.check_credentials()  # the next call starts one at the asked pace
            second = read_record(local_dir)
            assert second is not None and second["pace"] == "realtime"
            assert "now renders at realtime pace (it was fast)" in notices[-1]
            get_config().local_pace = None
            await other.check_credentials()  # the other client is told, not switched silently
            assert "now renders at realtime pace (it was fast)" in notices[-1]
            assert read_record(local_dir)["pid"] == second["pid"]  # type: ignore[index]

    asyncio.run(session())
    assert _replacement_lines(caplog) == []  # information, never a warning


@pytest.mark.kernel
def test_a_kernel_replaces_an_engine_of_another_version_and_says_so(
    local_dir: Path, tmp_path: Path
) -> None:
    from support.kernel import KernelSession

    _auto_start()
    old = _claim(local_dir, version="0.0.1")
    env = {"ODYSSEY_WAIT": "1", "ODYSSEY_DISPLAY": "text", "ODYSSEY_LOCAL_PACE": "realtime"}
    kernel = KernelSession(env=env, cwd=tmp_path)
    try:
        kernel.check("%load_ext odyssey_jupyter")
        done = kernel.check(
            "%%odyssey_simulate\n0s start a lantern in the fog\n1s end", timeout=120
        )
        shown = "".join(m["content"]["text"] for m in kernel.messages if m["msg_type"] == "stream")
    finally:
        kernel.shutdown()
    assert shown.count("replaced the local engine") == 1, shown
    assert f"pid {old['pid']}" in shown and "version 0.0.1" in shown
    assert "completed" in "\n".join(done.text_plain()) + done.stdout()
    new = read_record(local_dir)
    assert new is not None and new["pid"] != old["pid"] and new["pace"] == "realtime"


@pytest.mark.kernel
def test_a_kernel_is_told_of_a_pace_change_as_information_and_switches_on_stop(
    local_dir: Path, tmp_path: Path
) -> None:
    from support.kernel import KernelSession

    cell = "%%odyssey_simulate --wait --no-download\n0s start a lantern in the fog\n1s end"
    env = {"ODYSSEY_WAIT": "1", "ODYSSEY_DISPLAY": "text"}
    with KernelSession(env=env, cwd=tmp_path) as kernel:
        kernel.check("%load_ext odyssey_jupyter")
        kernel.check(cell, timeout=120)
        first = read_record(local_dir)
        assert first is not None and first["pace"] == "fast"
        kernel.check('%config OdysseyJupyter.local_pace = "realtime"')
        told = kernel.check(cell, timeout=120)
        notices = [t for t in told.data("text/html") if "odyssey-notice" in t]
        assert len(notices) == 1 and "renders at fast pace, not realtime" in notices[0]
        assert "not realtime" not in told.stderr()  # information, not a red stderr box
        assert read_record(local_dir)["pid"] == first["pid"]  # type: ignore[index]
        stopped = kernel.check("%odyssey_local stop")
        assert f"Stopped the local engine (pid {first['pid']})" in stopped.stdout()
        switched = kernel.check(cell, timeout=120)
        assert any("now renders at realtime pace" in t for t in switched.text_plain())
        assert "realtime" not in switched.stderr()
    second = read_record(local_dir)
    assert second is not None and second["pace"] == "realtime"
