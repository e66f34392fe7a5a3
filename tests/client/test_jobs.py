"""The sync layer against the real local engine: simulate, wait, cancel, Ctrl-C, recordings."""

from __future__ import annotations

import _thread
import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.scripts import script
from support.waiting import wait_until

from odyssey_jupyter.errors import (
    AuthenticationError,
    JobCancelledError,
    JobTimeoutError,
    NotFoundError,
    ScriptError,
)
from odyssey_jupyter.local.launch.record import recorded_pid
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.session import history
from odyssey_jupyter.session.jobs import Job, simulate
from odyssey_jupyter.session.runtime import Runtime, current_runtime, get_runtime

if TYPE_CHECKING:
    from support.engines import RunningEngine


@pytest.fixture
def rt(engine_env: RunningEngine, sandbox: Path) -> Runtime:
    return get_runtime()


@pytest.fixture
def slow_rt(
    start_engine: Callable[..., RunningEngine], sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> Runtime:
    """A runtime on a realtime-paced engine (jobs take as long as their script)."""
    running = start_engine("--pace", "realtime", "--workers", "2")
    monkeypatch.setenv("ODYSSEY_API_URL", running.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", running.api_key)
    return get_runtime()


def test_bad_script_raises_at_once_and_sends_nothing(sandbox: Path) -> None:
    with pytest.raises(ScriptError, match="entry 1"):
        simulate([{"timestamp_ms": 0, "start": {"prompt": "x"}}, {"timestamp_ms": 5}])
    with pytest.raises(ScriptError, match="exactly one"):
        simulate(script(), script_url="https://example.com/s.json")
    assert current_runtime() is None  # nothing was even scheduled


def test_simulate_returns_at_once_and_completes_with_recordings(rt: Runtime, sandbox: Path) -> None:
    _ = rt.client  # the first-ever call also builds the client; measure a warm call
    started = time.perf_counter()
    job = simulate(script(1.0))
    elapsed = time.perf_counter() - started
    print(f"simulate() returned in {elapsed * 1e6:.0f} us (phase {job.phase!r})")
    assert isinstance(job, Job)
    detail = job.wait(60)
    assert detail.status == JobStatus.COMPLETED and job.status == JobStatus.COMPLETED
    assert job.phase == "done" and job.error is None and not job.reconnecting
    recs = job.local_recordings
    assert recs is not None and len(recs) == 1
    rec = recs[0]
    assert rec.video_path.is_file() and rec.path == rec.video_path
    assert rec.video_path.parent == sandbox / "recs" / job.job_id / rec.stream_id  # type: ignore[operator]
    assert rec.width and rec.height and rec.width < rec.height  # portrait
    assert [c.prompt for c in rec.chapters] == ["a red ball rolls", "it bounces"]
    assert f"<Job {job.job_id} completed, 1 stream>" == repr(job)
    assert history.first_prompt(job.job_id) == "a red ball rolls"  # type: ignore[arg-type]


def test_listeners_see_phases_in_order_and_a_broken_one_hurts_no_one(rt: Runtime) -> None:
    seen: list[tuple[str, str | None]] = []
    threads: set[str] = set()

    def broken(job: Job) -> None:
        raise RuntimeError("listener bug")

    def record(job: Job) -> None:
        threads.add(threading.current_thread().name)
        seen.append((job.phase, str(job.status) if job.status else None))

    job = simulate(scripts=[script(1.0, "first"), script(1.0, "second")])
    job.add_listener(broken)
    unsubscribe = job.add_listener(record)
    job.wait(60)
    unsubscribe()
    phases = [phase for phase, _ in seen]
    order = ["submitting", "watching", "downloading", "done"]
    compact = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert [p for p in compact if p in order][-3:] == order[1:]
    assert seen[-1] == ("done", "completed")
    statuses = [s for _, s in seen if s]
    assert statuses[0] == "pending" or "pending" not in statuses
    assert threads == {"odyssey-loop"}
    assert job.local_recordings is not None
    assert sorted(r.script_index for r in job.local_recordings) == [0, 1]
    assert repr(job).endswith("completed, 2 streams>")


def test_recordings_redownload_a_deleted_file_with_a_fresh_url(rt: Runtime) -> None:
    job = simulate(script(1.0), download=False)
    job.wait(60)
    assert job.local_recordings is None and job.phase == "done"
    first = job.recordings()
    video = first[0].video_path
    size = video.stat().st_size
    video.unlink()
    second = job.recordings()
    assert second[0].video_path == video and video.stat().st_size == size
    assert job.local_recordings == second


def test_from_id_and_unknown_job(rt: Runtime) -> None:
    job = simulate(script(1.0))
    job_id = job.wait(60).job_id
    assert Job.from_id(job_id) is job
    del job
    gc.collect()
    again = Job.from_id(job_id)
    assert again.wait(30).status == JobStatus.COMPLETED
    assert again.local_recordings is None  # from_id does not download unless asked
    assert again.recordings()[0].video_path.is_file()
    missing = Job.from_id("no-such-job")
    with pytest.raises(NotFoundError):
        missing.wait(30)
    assert missing.phase == "error"


def test_submission_error_is_reraised_by_wait(
    engine: RunningEngine, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", "ody_wrong_key_for_this_test")
    job = simulate(script(1.0))
    with pytest.raises(AuthenticationError):
        job.wait(60)
    assert job.phase == "error" and job.job_id is None
    assert "ody_wrong_key" not in repr(job) + str(job.error)
    assert repr(job) == "<Job (error): AuthenticationError>"


@pytest.mark.slow
def test_timeout_interrupt_and_cancel_on_a_realtime_engine(slow_rt: Runtime) -> None:
    job = simulate(script(4.0))
    wait_until(lambda: job.job_id is not None)  # submitted (slow on a busy machine)
    active = job.wait(0.3)  # no raise: the current detail of a job still running
    assert active.status.is_active
    with pytest.raises(JobTimeoutError) as caught:
        job.wait(0.3, raise_on_failure=True)
    assert caught.value.detail is not None and caught.value.job_id == job.job_id

    fired: list[float] = []

    def interrupt() -> None:
        fired.append(time.monotonic())
        _thread.interrupt_main()

    threading.Timer(0.3, interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        job.wait()
    latency = time.monotonic() - fired[0]
    print(f"Ctrl-C latency of Job.wait: {latency * 1000:.0f} ms")
    assert latency < 2.0

    other = simulate(script(4.0, "to be cancelled"))
    wait_until(lambda: other.job_id is not None)
    future = other.cancel_async()
    assert future.result(30) is None
    with pytest.raises(JobCancelledError):
        other.wait(30, raise_on_failure=True)
    assert other.status == JobStatus.CANCELLED and other.local_recordings is None
    other.cancel()  # cancelling a finished job is a no-op

    # the interrupted job went on and finished
    assert job.wait(60, raise_on_failure=True).status == JobStatus.COMPLETED
    assert job.local_recordings


@pytest.mark.slow
def test_first_job_without_a_key_starts_the_local_engine(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    data_dir = sandbox / "engine"
    monkeypatch.setenv("ODYSSEY_LOCAL_DATA_DIR", str(data_dir))
    job = simulate(script(1.0), download=False)
    phases: list[str] = []
    job.add_listener(lambda j: phases.append(j.phase))
    phases.insert(0, job.phase)  # the state before the first notification we could catch
    try:
        assert job.wait(120).status == JobStatus.COMPLETED
    finally:
        pid = recorded_pid(data_dir)
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
    assert "starting engine" in phases
    later = phases[phases.index("starting engine") :]
    assert later.index("submitting") < later.index("watching") < later.index("done")
