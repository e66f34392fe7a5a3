"""The shared poller against the real engine: request budget per tick, outage and recovery."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from support.scripts import script
from support.waiting import wait_until

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.session.jobs import Job, simulate
from odyssey_jupyter.session.runtime import Runtime, get_runtime
from odyssey_jupyter.session.watcher import Watcher

if TYPE_CHECKING:
    from support.engines import RunningEngine


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that counts requests by (method, route)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        route = "/simulation-jobs/{id}" if path.startswith("/simulation-jobs/") else path
        self.counts[(request.method, route)] += 1
        return await super().handle_async_request(request)


@pytest.fixture
def sandbox_settings() -> dict[str, Any]:
    """Polling here backs off to at most 1 s, so the tests see changes quickly."""
    return {"poll_interval_max": 1.0}


def counting_runtime(engine: RunningEngine) -> tuple[Runtime, CountingTransport]:
    rt = get_runtime()
    transport = CountingTransport()

    async def install() -> None:
        rt._client = Odyssey(api_key=engine.api_key, api_url=engine.url, transport=transport)

    rt.run(install())
    return rt, transport


@pytest.mark.slow
def test_hundred_watched_jobs_cost_at_most_two_requests_per_quiet_tick(
    start_engine: Callable[..., RunningEngine], sandbox: Path
) -> None:
    running = start_engine("--pace", "realtime", "--workers", "1")
    rt, transport = counting_runtime(running)
    jobs = [simulate(script(30.0, f"job {i}"), download=False) for i in range(100)]
    wait_until(lambda: all(j.phase == "watching" for j in jobs), 60)
    watcher = Watcher.of(rt)
    wait_until(lambda: len(watcher.jobs) == 100)
    settled = len(watcher.ticks) + 1
    wait_until(lambda: len(watcher.ticks) > settled)  # every tick from here sees all 100 jobs
    transport.counts.clear()
    first_tick = len(watcher.ticks)
    wait_until(lambda: len(watcher.ticks) >= first_tick + 8, 60)
    ticks = list(watcher.ticks)[first_tick:]
    counted = dict(transport.counts)
    listed = sum(t.list_requests for t in ticks)
    detailed = sum(t.detail_requests for t in ticks)
    requests = listed + detailed
    print(
        f"100 watched jobs: {len(ticks)} ticks, {listed} list + {detailed} detail requests "
        f"= {requests / len(ticks):.2f} per tick; changes {sum(t.changed for t in ticks)}"
    )
    assert all(t.ok and t.watched == 100 and t.list_requests == 1 for t in ticks), ticks
    for tick in ticks:
        assert tick.progress_refreshes <= 1
        assert tick.detail_requests <= tick.changed + tick.progress_refreshes
        if tick.changed == 0:
            assert tick.list_requests + tick.detail_requests <= 2
    quiet = [t for t in ticks if t.changed == 0]
    assert len(quiet) >= len(ticks) // 2
    # the stats are honest: the wire saw what the ticks claim (give or take one tick in flight)
    assert abs(counted.get(("GET", "/simulation-jobs"), 0) - listed) <= 1
    for job in jobs:
        job.cancel_async()
    wait_until(lambda: all(j.phase == "done" for j in jobs), 60)
    assert {j.status for j in jobs} <= {JobStatus.CANCELLED, JobStatus.COMPLETED}
    assert watcher.jobs == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_unreachable_api_marks_reconnecting_then_recovers(
    start_engine: Callable[..., RunningEngine],
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Watcher, "request_budget", 2.0)
    port = free_port()
    first = start_engine("--pace", "realtime", port=port)
    monkeypatch.setenv("ODYSSEY_API_URL", first.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", first.api_key)
    job = simulate(script(3.0), download=False)
    wait_until(lambda: job.phase == "watching")
    changes: list[bool] = []
    job.add_listener(lambda j: changes.append(j.reconnecting))
    first.stop()
    wait_until(lambda: job.reconnecting, 30)
    assert job.error is not None and first.api_key not in str(job.error)
    assert "reconnecting" in repr(job)
    start_engine("--pace", "realtime", port=port, data_dir=first.data_dir, api_key=first.api_key)
    wait_until(lambda: not job.reconnecting, 60)
    assert job.error is None
    detail = job.wait(60)
    assert detail.is_terminal  # the restarted engine finished (or failed) the job
    assert changes.count(True) >= 1 and changes[-1] is False


def test_single_job_polls_detail_only(engine: RunningEngine, sandbox: Path) -> None:
    rt, transport = counting_runtime(engine)
    job = simulate(script(1.0), download=False)
    job.wait(60)
    assert transport.counts[("GET", "/simulation-jobs")] == 0
    assert transport.counts[("GET", "/simulation-jobs/{id}")] >= 1
    assert Watcher.of(rt).jobs == []
    assert all(t.list_requests == 0 and t.detail_requests <= 1 for t in Watcher.of(rt).ticks)


def test_a_job_watched_from_id_in_another_handle_is_shared(
    engine: RunningEngine, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    jobs = [simulate(script(1.0, f"batch {i}"), download=False) for i in range(3)]
    wait_until(lambda: all(j.job_id for j in jobs))
    assert [Job.from_id(j.job_id) for j in jobs if j.job_id] == jobs
    for job in jobs:
        assert job.wait(60).status == JobStatus.COMPLETED


def test_interval_policy_without_network(sandbox: Path) -> None:
    """Short after a change, x1.5 back-off, 1 s cap while running, long only when queued."""
    watcher = Watcher(get_runtime())
    job = Job(job_id="j1", scripts=[script(10.0)])
    job.created -= 100  # not young any more
    job.detail = SimulationJobDetail(job_id="j1", status=JobStatus.PROCESSING, progress=0.1)
    job.status = job.detail.status
    watcher._jobs["j1"] = job
    low, high = 0.25, 5.0
    assert watcher._next_interval(True, low, high) == low
    steps = [watcher._next_interval(False, low, high) for _ in range(8)]
    assert steps[:3] == [0.375, 0.5625, 0.84375] and steps[-1] == 1.0  # running: 1 s cap
    job._running_since = time.monotonic() - 9.5  # its 10 s script is about to end
    assert watcher._next_interval(False, low, high) == low
    job._running_since = None
    job.detail = SimulationJobDetail(job_id="j1", status=JobStatus.PENDING)
    job._watch_since -= 100  # queued for a long time
    steps = [watcher._next_interval(False, low, high) for _ in range(12)]
    assert steps[-1] == high
    young = Job(job_id="j2")
    watcher._jobs["j2"] = young
    assert watcher._next_interval(False, low, high) == low  # a young job polls at the short end


def test_a_job_running_far_from_its_end_lets_polling_back_off(sandbox: Path) -> None:
    """The 1 s cap holds only while a running job may end within a long interval."""
    watcher = Watcher(get_runtime())
    low, high = 0.25, 5.0
    now = time.monotonic()
    job = Job(job_id="j1", scripts=[script(120.0)])
    job.created -= 100
    job.detail = SimulationJobDetail(job_id="j1", status=JobStatus.PROCESSING)
    job.status = job.detail.status
    watcher._jobs["j1"] = job

    def settled() -> float:
        return [watcher._next_interval(False, low, high) for _ in range(12)][-1]

    job._running_since = now - 10  # no progress: its 120 s script says ~110 s to go
    assert job._quiet_seconds(now) == pytest.approx(110, abs=1)
    assert settled() == high
    job._running_since = now - 117  # within a long interval of its end: back to the cap
    assert settled() == 1.0

    unknown = Job(job_id="j1")  # from an id: no script, so only progress can tell
    unknown.created -= 100
    unknown._running_since = now - 20
    unknown.last_detail_at = now - 10  # 10 s after it started it was 10% done
    unknown.detail = SimulationJobDetail(job_id="j1", status=JobStatus.PROCESSING, progress=0.1)
    watcher._jobs["j1"] = unknown
    # half of the 90 s extrapolated then, less the 10 s since: 35 s
    assert unknown._quiet_seconds(now) == pytest.approx(35, abs=0.5)
    assert settled() == high
    unknown._running_since, unknown.last_detail_at = now - 50, now - 40  # 30 s later, no news
    assert unknown._quiet_seconds(now) == pytest.approx(5, abs=0.5)
    assert settled() == 1.0


@pytest.mark.slow
def test_pages_through_the_active_list_only_for_jobs_not_on_the_first_page(
    start_engine: Callable[..., RunningEngine], sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("odyssey_jupyter.session.watcher.PAGE", 3)  # 7 jobs then need 3 pages
    running = start_engine("--pace", "realtime", "--workers", "1")
    rt, _transport = counting_runtime(running)
    jobs = [simulate(script(30.0, f"paged {i}"), download=False) for i in range(7)]
    wait_until(lambda: all(j.phase == "watching" for j in jobs), 30)
    watcher = Watcher.of(rt)
    settled = len(watcher.ticks) + 1
    wait_until(lambda: len(watcher.ticks) > settled + 2)
    ticks = [t for t in list(watcher.ticks)[settled:] if t.watched == 7]
    assert ticks and all(t.list_requests == 3 for t in ticks)
    # the oldest jobs stop being watched: the newest three fit on the first page
    for job in jobs[:4]:
        job.cancel()
    mark = len(watcher.ticks) + 1
    wait_until(lambda: len(watcher.ticks) > mark + 2)
    later = [t for t in list(watcher.ticks)[mark:] if t.watched == 3]
    assert later and all(t.list_requests == 1 for t in later)
    for job in jobs[4:]:
        job.cancel()
    assert all(j.wait(30).status == JobStatus.CANCELLED for j in jobs)
