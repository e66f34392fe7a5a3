"""Fault tolerance of the whole sync stack against a real engine.

* A fault-injecting proxy between the runtime and the engine answers 20% of the
  requests with 500/503, 429 + Retry-After, a reset, a stall past the read
  timeout or a truncated body: 50 jobs still end in their true state, the engine
  holds exactly 50 jobs (counted directly, not through the proxy), and the poller
  keeps running, showing outages in the handles instead of stopping.
* The engine is killed with SIGKILL while rendering and restarted on the same
  data directory and port: every job completes, and ``retry_count`` shows it.
* 200 jobs submitted at once all complete, and the engine's memory stays bounded.

Kept small for 2 shared cores: 1 s streams at a low frame rate, two workers,
recordings not downloaded (downloads go straight to the engine's artifact URLs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support.procfs import status_kb, tree_pids
from support.waiting import wait_until

from odyssey_jupyter.protocol.types import JobStatus

jobs = pytest.importorskip("odyssey_jupyter.session.jobs")
runtime_module = pytest.importorskip("odyssey_jupyter.session.runtime")
faultproxy = pytest.importorskip("support.faultproxy")

if TYPE_CHECKING:
    from support.engines import RunningEngine

pytestmark = pytest.mark.slow

TWENTY_PERCENT = {
    "500": 0.04,
    "503": 0.04,
    "429": 0.04,
    "reset": 0.03,
    "stall": 0.02,
    "truncate": 0.03,
}
READ_TIMEOUT = 3.0
"""The client's timeout in these tests; the proxy stalls longer than this."""
LOW_FPS = ("--fps", "6")


def one_second(prompt: str = "a paper boat drifts") -> list[dict[str, Any]]:
    return [
        {"timestamp_ms": 0, "start": {"prompt": prompt}},
        {"timestamp_ms": 1000, "end": {}},
    ]


class Engine:
    """Direct access to an engine, bypassing the proxy and the code under test."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url, self.api_key = url, api_key
        self._token: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            answer = httpx.post(
                f"{self.url}/auth/token", json={"api_key": self.api_key}, timeout=10
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def job_ids(self) -> list[str]:
        found: list[str] = []
        offset = 0
        while True:
            page = httpx.get(
                f"{self.url}/simulation-jobs",
                params={"limit": 100, "offset": offset},
                headers=self._headers(),
                timeout=30,
            ).json()
            found.extend(row["job_id"] for row in page["jobs"])
            offset += len(page["jobs"])
            if not page["jobs"] or offset >= page["total"]:
                return found

    def detail(self, job_id: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.url}/simulation-jobs/{job_id}", headers=self._headers(), timeout=30
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


def point_runtime_at(url: str, api_key: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The runtime, talking to ``url`` with a short read timeout (so stalls cost seconds)."""
    from odyssey_jupyter.client.odyssey import Odyssey

    monkeypatch.setenv("ODYSSEY_API_URL", url)
    monkeypatch.setenv("ODYSSEY_API_KEY", api_key)
    rt = runtime_module.get_runtime()
    # The runtime offers no knob for the client's timeouts; install one with a short timeout.
    rt._client = Odyssey(api_key=api_key, api_url=url, timeout=READ_TIMEOUT, retry_deadline=60)
    return rt


class Watch:
    """Listens to every handle: which ones were ever seen reconnecting or with an error."""

    def __init__(self) -> None:
        self.reconnecting: set[int] = set()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, job: Any) -> None:
        with self._lock:
            if job.reconnecting:
                self.reconnecting.add(id(job))
            if job.error is not None:
                self.errors.append(type(job.error).__name__)


def submit(count: int, watch: Watch) -> list[Any]:
    handles = []
    for index in range(count):
        job = jobs.simulate(one_second(f"paper boat number {index}"), download=False)
        job.add_listener(watch)
        handles.append(job)
    return handles


def assert_all_completed(handles: list[Any], engine: Engine, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for job in handles:
        with contextlib.suppress(Exception):  # a failed submission re-raises; reported below
            job.wait(timeout=max(0.1, deadline - time.monotonic()))
    failures = [
        f"{job!r} phase={job.phase} error={type(job.error).__name__ if job.error else None}: "
        f"{job.error}"
        for job in handles
        if job.status != JobStatus.COMPLETED or job.phase != "done"
    ]
    held = engine.job_ids()
    known = {job.job_id for job in handles if job.job_id is not None}
    orphans = set(held) - known
    assert not failures, (
        f"{len(failures)} of {len(handles)} handles did not complete; the engine holds "
        f"{len(held)} jobs, {len(orphans)} of them unknown to any handle:\n"
        + "\n".join(failures[:8])
    )
    assert len(held) == len(set(held)) == len(handles), f"the engine holds {len(held)} jobs"
    assert set(held) == known


def assert_poller_alive(rt: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop thread runs and still follows a new job to its end."""
    assert rt.thread.is_alive(), "the odyssey-loop thread died"
    assert rt is runtime_module.get_runtime()
    job = jobs.simulate(one_second("after the storm"), download=False)
    detail = job.wait(timeout=60)
    assert detail.status == JobStatus.COMPLETED


# --------------------------------------------------------------------------- 20% faults


def test_fifty_jobs_through_twenty_percent_faults(
    start_engine: Callable[..., RunningEngine],
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every kind of fault on every kind of request, submissions included."""
    running = start_engine("--workers", "2", *LOW_FPS)
    engine = Engine(running.url, running.api_key)
    proxy = faultproxy.FaultProxy(running.url, seed=20, stall_seconds=READ_TIMEOUT + 2)
    with proxy:
        proxy.add_rule(rates=TWENTY_PERCENT)
        rt = point_runtime_at(proxy.url, running.api_key, monkeypatch)
        watch = Watch()
        handles = submit(50, watch)
        assert_all_completed(handles, engine, timeout=150)
        injected = sum(n for action, n in proxy.counts.items() if action != "ok")
        assert injected >= 10, f"only {injected} faults were injected: {dict(proxy.counts)}"
        assert proxy.count(method="POST", path="/simulation-jobs") > 50, "no submission was hit"
        proxy.clear_rules()
        assert_poller_alive(rt, engine, monkeypatch)


def test_the_poller_rides_out_poll_faults_and_an_outage(
    start_engine: Callable[..., RunningEngine],
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20% faults on every poll, then the API unreachable for a while: shown, then recovered."""
    running = start_engine("--workers", "2", *LOW_FPS)
    engine = Engine(running.url, running.api_key)
    proxy = faultproxy.FaultProxy(running.url, seed=21, stall_seconds=READ_TIMEOUT + 2)
    with proxy:
        proxy.add_rule(rates=TWENTY_PERCENT, method="GET")
        rt = point_runtime_at(proxy.url, running.api_key, monkeypatch)
        watch = Watch()
        handles = submit(50, watch)
        wait_until(lambda: all(job.job_id for job in handles), 60, "every job submitted")
        proxy.pause()  # connection refused for every request
        try:
            wait_until(
                lambda: any(job.reconnecting for job in handles if job.phase == "watching"),
                30,
                "a watched handle shows that it is reconnecting",
            )
        finally:
            proxy.resume()
        assert_all_completed(handles, engine, timeout=150)
        assert watch.reconnecting, "no handle ever showed the outage"
        assert not any(job.reconnecting for job in handles), "a handle is still reconnecting"
        assert proxy.counts.get("stall", 0) + proxy.counts.get("reset", 0) > 0
        proxy.clear_rules()
        assert_poller_alive(rt, engine, monkeypatch)


# --------------------------------------------------------------------------- SIGKILL


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_engine_killed_while_rendering_then_restarted(
    start_engine: Callable[..., RunningEngine],
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data_dir = tmp_path_factory.mktemp("killed-engine")
    args = ("--workers", "2", "--pace", "realtime", *LOW_FPS)
    first = start_engine(*args, data_dir=data_dir)
    port = int(first.url.rsplit(":", 1)[1])
    engine = Engine(first.url, first.api_key)
    rt = point_runtime_at(first.url, first.api_key, monkeypatch)
    watch = Watch()
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a lighthouse in fog"}},
        {"timestamp_ms": 1500, "interact": {"prompt": "the beam sweeps"}},
        {"timestamp_ms": 3000, "end": {}},
    ]
    handles = [jobs.simulate(script, download=False) for _ in range(3)]
    for job in handles:
        job.add_listener(watch)
    wait_until(lambda: all(job.job_id for job in handles), 30, "submitted")

    def rendering() -> list[str]:
        found = []
        for job in handles:
            detail = engine.detail(job.job_id)
            active = detail["status"] not in ("completed", "failed", "cancelled")
            if active and detail["started_at"] and (detail.get("progress") or 0) > 0:
                found.append(job.job_id)
        return found

    wait_until(lambda: bool(rendering()), 30, "a job is rendering")
    in_flight = rendering()
    os.killpg(first.process.pid, signal.SIGKILL)  # the engine and its render workers
    first.process.wait(10)
    wait_until(lambda: _free(port), 20, f"port {port} is free again")
    time.sleep(1.0)  # the handles notice the outage
    second = start_engine(*args, data_dir=data_dir, api_key=first.api_key, port=port)
    assert second.url == first.url

    assert_all_completed(handles, engine, timeout=90)
    for job_id in in_flight:
        final = engine.detail(job_id)
        assert final["retry_count"] >= 1, f"job {job_id} was rendering but shows no retry"
    retried = {job.job_id: job.detail.retry_count for job in handles}
    assert all(retried[job_id] >= 1 for job_id in in_flight), retried
    assert rt.thread.is_alive()


# --------------------------------------------------------------------------- 200 at once


class MemorySampler:
    """Peak summed RSS of a process tree (sampled), and each process's VmHWM at the end."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = tree_pids(self.pid)
            self.peak_kb = max(self.peak_kb, sum(status_kb(p, "VmRSS") for p in pids))
            for p in pids:
                self.hwm_kb[p] = max(self.hwm_kb.get(p, 0), status_kb(p, "VmHWM"))
            self._stop.wait(0.25)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


ENGINE_MEMORY_BOUND_MB = 1024


def test_two_hundred_jobs_at_once(
    start_engine: Callable[..., RunningEngine],
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = start_engine("--workers", "2", *LOW_FPS)
    engine = Engine(running.url, running.api_key)
    point_runtime_at(running.url, running.api_key, monkeypatch)
    with MemorySampler(running.process.pid) as memory:
        handles = submit(200, Watch())
        assert_all_completed(handles, engine, timeout=170)
    peak_mb = memory.peak_kb / 1024
    hwm_mb = sum(memory.hwm_kb.values()) / 1024
    print(
        f"\n200 jobs: engine peak RSS {peak_mb:.0f} MB summed over its processes "
        f"(sum of VmHWM {hwm_mb:.0f} MB, {len(memory.hwm_kb)} processes)"
    )
    assert peak_mb < ENGINE_MEMORY_BOUND_MB, f"the engine grew to {peak_mb:.0f} MB"
