"""Plain HTTP to a running engine, bypassing the client under test.

The engine tier speaks the protocol through these; the client and kernel tiers use
them to see what the engine really holds (jobs made, active jobs).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .engines import RunningEngine
from .scripts import script

TERMINAL = ("completed", "failed", "cancelled")


def short_script(prompt: str = "a lighthouse at dusk", ms: int = 1000) -> list[dict[str, Any]]:
    """A one-stream script ``ms`` long with no interaction, as a raw request body holds it."""
    return script(ms / 1000, prompt, interact=None)


def client_for(engine: RunningEngine) -> httpx.Client:
    """An httpx client holding a bearer token for ``engine``."""
    return client_at(engine.url, engine.api_key)


def client_at(url: str, api_key: str) -> httpx.Client:
    """An httpx client holding a bearer token for the engine at ``url`` taking ``api_key``."""
    client = httpx.Client(base_url=url, timeout=httpx.Timeout(30.0))
    grant = client.post("/auth/token", json={"api_key": api_key})
    assert grant.status_code == 200, grant.text
    client.headers["Authorization"] = f"Bearer {grant.json()['access_token']}"
    return client


def use_api(monkeypatch: pytest.MonkeyPatch, url: str, key: str) -> None:
    """Point the package's environment (``ODYSSEY_API_URL``/``_KEY``) at ``url`` for one test."""
    monkeypatch.setenv("ODYSSEY_API_URL", url)
    monkeypatch.setenv("ODYSSEY_API_KEY", key)


def wait_terminal(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The job's detail once it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/simulation-jobs/{job_id}").json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def run_job(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Submit ``body`` and wait for the job to end; returns its last detail."""
    answer = client.post("/simulation-jobs", json=body)
    assert answer.status_code == 200, answer.text
    return wait_terminal(client, answer.json()["job_id"])


def poll_until(
    client: httpx.Client,
    job_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 30,
) -> tuple[dict[str, Any], list[str]]:
    """Poll a job until ``predicate``; returns the last detail and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail: dict[str, Any] = client.get(f"/simulation-jobs/{job_id}").json()
        if not seen or seen[-1] != detail["status"]:
            seen.append(detail["status"])
        if predicate(detail):
            return detail, seen
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} never matched; statuses seen: {seen}")


def server_jobs(engine: RunningEngine) -> list[dict[str, Any]]:
    """Every job the engine holds for this key (all pages)."""
    api = client_for(engine)
    try:
        jobs: list[dict[str, Any]] = []
        while True:
            page = api.get("/simulation-jobs", params={"limit": 100, "offset": len(jobs)}).json()
            jobs.extend(page["jobs"])
            if not page["jobs"] or len(jobs) >= page["total"]:
                return jobs
    finally:
        api.close()


class ActiveSampler:
    """Counts the engine's active jobs every 50 ms from its own connection."""

    def __init__(self, engine: RunningEngine) -> None:
        self.api = client_for(engine)
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            page = self.api.get("/simulation-jobs", params={"active": "true", "limit": 100})
            self.peak = max(self.peak, int(page.json()["total"]))
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> ActiveSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()


def stop_launched(pid: int) -> None:
    """Stop an engine the launcher started from this process (and reap it)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:  # the launcher started it from this process: reap it, or it lingers as a zombie
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def engine_total(engine: RunningEngine) -> int:
    """How many jobs the engine holds (read over its real HTTP API)."""
    with httpx.Client(base_url=engine.url, timeout=10) as http:
        token = http.post("/auth/token", json={"api_key": engine.api_key}).json()["access_token"]
        listing = http.get(
            "/simulation-jobs", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        return int(listing.json()["total"])
