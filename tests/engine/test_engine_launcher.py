"""The engine's command line and the launcher kernels use when they have no key."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.engine_http import client_for, run_job, short_script, stop_launched
from support.engines import RunningEngine

from odyssey_jupyter.errors import EngineStartError
from odyssey_jupyter.local.launch import launcher
from odyssey_jupyter.local.launch.launcher import EngineInfo, ensure_engine


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_remote_binding_needs_a_key_and_consent() -> None:
    refused = serve("--host", "0.0.0.0")
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr
    assert refused.stdout == ""
    keyless = serve("--host", "0.0.0.0", "--allow-remote")
    assert keyless.returncode == 2 and "--api-key" in keyless.stderr


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_duration_that_is_no_finite_number_is_a_usage_error(tmp_path: Path, value: str) -> None:
    refused = serve("--data-dir", str(tmp_path / "engine"), "--keep-alive", value)
    assert refused.returncode == 2 and "--keep-alive" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_stdout_holds_only_the_ready_line(start_engine: Callable[..., RunningEngine]) -> None:
    engine = start_engine("--workers", "1")
    assert engine.url.startswith("http://127.0.0.1:") and not engine.url.endswith(":0")
    client = httpx.Client(base_url=engine.url, timeout=10)
    client.post("/auth/token", json={"api_key": "wrong"})
    engine.stop()
    assert engine.process.stdout is not None
    assert engine.process.stdout.read() == ""
    assert engine.process.returncode == 0
    client.close()


def test_one_engine_per_data_dir(
    start_engine: Callable[..., RunningEngine], tmp_path: Path
) -> None:
    start_engine("--workers", "1", data_dir=tmp_path)
    second = subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert second.returncode != 0 and "already serving" in second.stderr


def test_the_start_lock_holds_where_fcntl_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second launcher waits for the first on every platform (Windows has no fcntl)."""
    from odyssey_jupyter.files.private import ExclusiveLock

    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl now fails, as on Windows
    starting = ExclusiveLock(tmp_path / "launcher.lock")  # another kernel starts the engine
    with starting, pytest.raises(EngineStartError, match="waiting for another process starting"):
        ensure_engine(tmp_path, timeout=0.3)
    assert not (tmp_path / "engine.json").exists()


def test_launcher_imports_nothing_heavy() -> None:
    heavy = "('numpy', 'av', 'PIL', 'starlette', 'uvicorn')"
    code = (
        "import sys, odyssey_jupyter.local.launch.launcher; "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_server_process_loads_no_renderer() -> None:
    """Pillow, NumPy and PyAV are the render workers' own: the server starts without them."""
    code = (
        "import sys, odyssey_jupyter.local.server; "
        "print(sorted(m for m in ('numpy', 'av', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr


def test_missing_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launcher, "REQUIRED_MODULES", ("numpy", "odyssey_no_such_module"))
    with pytest.raises(EngineStartError, match=r"pip install 'odyssey_jupyter\[local\]'"):
        ensure_engine(tmp_path / "engine")


def test_an_engine_that_dies_silently_is_not_explained_by_an_older_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "engine"
    data_dir.mkdir()
    (data_dir / "engine.log").write_text("ERROR a reason from an earlier start\n")
    monkeypatch.setattr(sys, "executable", "/bin/false")  # exits 1, writes nothing
    with pytest.raises(EngineStartError) as raised:
        ensure_engine(data_dir)
    message = str(raised.value)
    assert "exited with status 1" in message
    assert "earlier start" not in message


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[list[EngineInfo]]:
    """Engines started through the launcher in this test, stopped (by pid) afterwards."""
    infos: list[EngineInfo] = []
    yield infos
    for info in infos:
        if info.started:
            stop_launched(info.pid)


def test_launcher_shares_one_engine_and_keeps_history(
    tmp_path: Path, launched: list[EngineInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "cache" / "engine"
    monkeypatch.setenv("ODYSSEY_LOCAL_DATA_DIR", str(data_dir))
    results: list[EngineInfo] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_engine())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    launched.extend(results)
    assert len(results) == 3 and len({r.pid for r in results}) == 1
    assert sum(r.started for r in results) == 1
    info = results[0]
    assert info.data_dir == data_dir.resolve() and info.api_key not in repr(info)
    assert (data_dir / "engine.json").stat().st_mode & 0o077 == 0

    engine = RunningEngine(info.url, info.api_key, data_dir, None)  # type: ignore[arg-type]
    client = client_for(engine)
    job = run_job(client, {"script": short_script("remembered", 500)})
    client.close()

    again = ensure_engine()
    assert (again.pid, again.started) == (info.pid, False)

    stop_launched(info.pid)  # the engine goes away (a reboot, a crash): the next kernel starts one
    restarted = ensure_engine()
    launched.append(restarted)
    assert restarted.started and restarted.pid != info.pid
    assert restarted.api_key == info.api_key
    engine = RunningEngine(restarted.url, restarted.api_key, data_dir, None)  # type: ignore[arg-type]
    client = client_for(engine)
    assert client.get(f"/simulation-jobs/{job['job_id']}").json()["status"] == "completed"
    client.close()
