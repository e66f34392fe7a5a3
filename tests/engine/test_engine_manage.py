"""The engine as its user manages it, and the proof of identity before anything is sent to it.

``odyssey-local status|stop`` run as real processes; ``engine_status``/``stop_engine``
against real engines started by the launcher on temporary data directories; and a
real impostor HTTP server on a dead engine's port, answering ``/health`` as the
engine did. Every engine started here is stopped (by pid) afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.engine_http import client_at, short_script, wait_terminal
from support.engines import engines_under, stop_pids
from support.waiting import wait_until

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.local.launch import processes
from odyssey_jupyter.local.launch.launcher import EngineInfo, ensure_engine
from odyssey_jupyter.local.launch.manage import engine_status, stop_engine
from odyssey_jupyter.local.launch.record import read_record, record_path
from odyssey_jupyter.local.store.keys import identity_proof, read_secret


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A launcher's data directory; every engine that served it is stopped after."""
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    monkeypatch.delenv("ODYSSEY_LOCAL_PACE", raising=False)
    yield (tmp_path / "engine").resolve()
    assert stop_pids(engines_under(tmp_path)) == []


def odyssey_local(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``odyssey-local`` command, as a process."""
    command = [sys.executable, "-m", "odyssey_jupyter.local", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def kill_engine(info: EngineInfo) -> None:
    """End the engine at once, as a crash would: its engine.json stays behind."""
    engine = processes.find(info.pid)
    assert engine is not None
    engine.kill()
    assert engine.wait_gone(20)


def test_status_without_an_engine_says_so(data_dir: Path) -> None:
    shown = odyssey_local("status", "--data-dir", str(data_dir))
    assert shown.returncode == 3, shown.stderr
    assert "No local engine is running" in shown.stdout and str(data_dir) in shown.stdout
    as_json = odyssey_local("status", "--data-dir", str(data_dir), "--json")
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout)["state"] == "not running"


def test_status_of_a_live_engine_names_where_and_what_it_holds(data_dir: Path) -> None:
    info = ensure_engine(data_dir, pace="realtime")
    with closing(client_at(info.url, info.api_key)) as api:
        job = api.post("/simulation-jobs", json={"script": short_script("a quiet harbour", 500)})
        wait_terminal(api, job.json()["job_id"])
    shown = odyssey_local("status", "--data-dir", str(data_dir), "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "running" and status["url"] == info.url
    assert status["pid"] == info.pid and status["pace"] == "realtime"
    assert status["data_dir"] == str(data_dir)
    assert isinstance(status["workers"], int) and status["workers"] >= 1
    assert status["version"] and status["uptime_seconds"] >= 0
    assert status["jobs"] == {"completed": 1}
    assert info.api_key not in shown.stdout
    text = odyssey_local("status", "--data-dir", str(data_dir))
    assert text.returncode == 0 and "is running" in text.stdout
    for shown_value in (info.url, str(info.pid), "realtime", "1 completed"):
        assert shown_value in text.stdout


def test_a_dead_engine_is_stale_and_stop_clears_its_record(data_dir: Path) -> None:
    kill_engine(ensure_engine(data_dir))
    stale = odyssey_local("status", "--data-dir", str(data_dir))
    assert stale.returncode == 1 and "not running" in stale.stdout
    stopped = odyssey_local("stop", "--data-dir", str(data_dir))
    assert stopped.returncode == 0 and "stale engine.json" in stopped.stdout
    assert not record_path(data_dir).exists()
    assert odyssey_local("status", "--data-dir", str(data_dir)).returncode == 3


@pytest.mark.parametrize("timeout", [20.0, 0.001], ids=["graceful", "forced"])
def test_stop_loses_no_job_in_flight(data_dir: Path, timeout: float) -> None:
    info = ensure_engine(data_dir, pace="realtime")
    with closing(client_at(info.url, info.api_key)) as api:
        job_id = api.post("/simulation-jobs", json={"script": short_script("dusk", 3000)}).json()[
            "job_id"
        ]
        while api.get(f"/simulation-jobs/{job_id}").json()["status"] != "processing":
            time.sleep(0.05)
    outcome = stop_engine(data_dir, timeout=timeout)
    assert outcome.stopped and outcome.forced == (timeout < 1), outcome.message
    assert f"pid {info.pid}" in outcome.message
    assert not processes.alive(info.pid) and not record_path(data_dir).exists()
    status = engine_status(data_dir)
    assert status.exit_code == 3 and status.jobs is not None
    assert sum(status.jobs.values()) == 1 and "completed" not in status.jobs
    again = ensure_engine(data_dir)  # the next engine renders it
    with closing(client_at(again.url, again.api_key)) as api:
        assert wait_terminal(api, job_id)["status"] == "completed"


# ------------------------------------------------------------------------ identity


def test_health_discloses_no_pid_and_answers_a_challenge(data_dir: Path) -> None:
    info = ensure_engine(data_dir)
    plain = httpx.get(f"{info.url}/health", timeout=10).json()
    assert plain == {"status": "ok", "engine": "odyssey-local"}
    nonce = secrets.token_urlsafe(32)
    proved = httpx.get(f"{info.url}/health", params={"challenge": nonce}, timeout=10).json()
    secret = read_secret(data_dir)
    assert secret is not None and proved["proof"] == identity_proof(secret, nonce, info.pid)
    assert "pid" not in proved
    for bad in ("short", "x" * 129, "spaces are not allowed here", "é" * 20):
        refused = httpx.get(f"{info.url}/health", params={"challenge": bad}, timeout=10)
        assert refused.status_code == 422 and "challenge" in refused.json()["detail"]


class Impostor(ThreadingHTTPServer):
    """Answers ``/health`` as the engine did before proofs, and keeps whatever it is sent."""

    def __init__(self, port: int, pid: int) -> None:
        self.pid = pid
        self.received: list[str] = []
        super().__init__(("127.0.0.1", port), _ImpostorHandler)


class _ImpostorHandler(BaseHTTPRequestHandler):
    server: Impostor

    def _answer(self, body: dict[str, Any]) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode("utf-8", "replace")
        self.server.received.append(f"{self.command} {self.path} {self.headers} {sent}")
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer({"status": "ok", "engine": "odyssey-local", "pid": self.server.pid})

    def do_POST(self) -> None:
        self._answer({"access_token": "olt_stolen", "token_type": "bearer", "expires_in": 3600})

    def log_message(self, *args: Any) -> None:
        return


def _take_port(port: int) -> Impostor:
    """The impostor on ``port``, as soon as the dead engine's socket has let go of it
    (the kernel may hold a killed listener's port for a moment)."""
    taken: list[Impostor] = []

    def bound() -> bool:
        try:
            taken.append(Impostor(port, os.getpid()))
        except OSError:
            return False
        return True

    wait_until(bound, 30, f"port {port} free after the engine was killed")
    return taken[0]


@contextmanager
def squatting(info: EngineInfo, data_dir: Path) -> Iterator[Impostor]:
    """The engine dies (engine.json stays, naming a live pid) and an impostor takes its port."""
    kill_engine(info)
    record = read_record(data_dir)
    assert record is not None
    record["pid"] = os.getpid()  # a live pid the impostor answers with (ours: never signal it)
    record_path(data_dir).write_text(json.dumps(record))
    impostor = _take_port(urlsplit(info.url).port or 0)
    serving = threading.Thread(target=impostor.serve_forever, daemon=True)
    serving.start()
    try:
        yield impostor
    finally:
        impostor.shutdown()
        impostor.server_close()
    seen = "\n".join(impostor.received)
    assert info.api_key not in seen and "/auth/token" not in seen
    assert all(line.startswith("GET /health?challenge=") for line in impostor.received)


def test_a_process_on_a_dead_engines_port_never_receives_the_key(data_dir: Path) -> None:
    info = ensure_engine(data_dir)
    with squatting(info, data_dir):
        status = engine_status(data_dir)
        assert status.state == "unproven" and status.exit_code == 4
        refused = stop_engine(data_dir)
        assert not refused.stopped and "does not prove" in refused.message
        assert odyssey_local("stop", "--data-dir", str(data_dir)).returncode == 1

        async def first_call() -> str:
            async with Odyssey(local_data_dir=data_dir) as client:
                return await client.check_credentials()

        used = asyncio.run(first_call())
    assert used != info.url  # a real engine was started instead
    assert read_record(data_dir)["url"] == used  # type: ignore[index]


def test_a_client_proves_its_engine_again_before_it_sends_the_key_again(data_dir: Path) -> None:
    async def session() -> tuple[str, str]:
        async with Odyssey(local_data_dir=data_dir) as client:
            first = await client.check_credentials()
            found = ensure_engine(data_dir)
            assert found.url == first
            await asyncio.sleep(1.1)  # past the reuse of the last proof
            with squatting(found, data_dir):
                second = await client.check_credentials()  # a fresh key exchange
            return first, second

    first, second = asyncio.run(session())
    assert second != first and read_record(data_dir)["url"] == second  # type: ignore[index]
