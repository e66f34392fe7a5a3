"""A cancel the server refuses (400 "cannot be cancelled") is an answer, never an error.

The hosted service cancels only pending or dispatched jobs; a job already rendering
answers 400 ``{"detail": ...}``. Here a realtime engine sits behind the fault proxy,
which answers 400 on ``DELETE /simulation-jobs/{id}`` without forwarding: the job
really is rendering, and only the cancel is refused. ``job.cancel()``, the status
widget's button and the shared helper ``cancel.cancel_job`` all give one clear line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.engines import RunningEngine, launch_engine
from support.faultproxy import FaultProxy

from odyssey_jupyter.errors import JobCancelledError
from odyssey_jupyter.protocol.types import SimulationJobDetail
from odyssey_jupyter.session.cancel import CancelOutcome, cancel_job
from odyssey_jupyter.session.jobs import Job, simulate
from odyssey_jupyter.session.runtime import get_runtime

pytestmark = pytest.mark.slow

LONG = [
    {"timestamp_ms": 0, "start": {"prompt": "a slow pan across a mountain lake"}},
    {"timestamp_ms": 30_000, "end": {}},
]
SHORT = [{"timestamp_ms": 0, "start": {"prompt": "a short wave"}}, {"timestamp_ms": 500, "end": {}}]


def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def realtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    running = launch_engine(
        tmp_path_factory.mktemp("realtime-engine"), "--pace", "realtime", "--workers", "1"
    )
    yield running
    running.stop()


@pytest.fixture
def refusing(
    realtime: RunningEngine, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultProxy]:
    """The runtime talks to the realtime engine through a proxy that refuses every cancel."""
    with FaultProxy(realtime.url) as proxy:
        proxy.add_rule(sequence=["400"] * 20, method="DELETE", path="/simulation-jobs/")
        monkeypatch.setenv("ODYSSEY_API_URL", proxy.url)
        monkeypatch.setenv("ODYSSEY_API_KEY", realtime.api_key)
        yield proxy


def _rendering_job() -> Job:
    job = simulate(scripts=[LONG])
    _wait_until(lambda: job.status is not None and str(job.status) == "processing", "rendering")
    return job


def test_job_cancel_of_a_rendering_job_says_it_is_already_rendering(
    refusing: FaultProxy,
) -> None:
    job = _rendering_job()
    outcome = job.cancel()  # no exception: a refusal is an answer
    assert isinstance(outcome, CancelOutcome)
    assert outcome.refused and not outcome.cancelled
    assert outcome.status == "processing"
    assert str(outcome) == (
        f"Job {job.job_id} is already rendering and can no longer be cancelled; "
        "it will finish on its own."
    )
    assert repr(outcome) == str(outcome)  # what a notebook cell shows
    assert outcome.reason == "injected 400"  # the server's own words are kept
    assert job.error is None and job.cancel_outcome == outcome
    assert job.status is not None and not job.status.is_terminal
    assert refusing.count(method="DELETE") == 1

    # Once the server lets it go, the same call cancels for real.
    refusing.clear_rules()
    assert job.cancel().cancelled
    with pytest.raises(JobCancelledError):
        job.wait(60, raise_on_failure=True)


def test_the_widget_button_shows_the_refusal_as_a_line_not_an_error(
    refusing: FaultProxy,
) -> None:
    from odyssey_jupyter.display.live.status_widget import StatusWidget

    job = _rendering_job()
    widget = StatusWidget(job)
    try:
        control = widget._cancel
        control._handle_message(control, {"event": "click"}, [])  # as the browser sends it
        _wait_until(lambda: "already rendering" in control.feedback, "the refusal line")
        assert control.answered == 1
        assert control.feedback.startswith(f"Job {job.job_id} is already rendering")
        _wait_until(lambda: control.description == "Cancel", "the button back")
        assert not control.disabled and not control.hidden  # the job goes on
        assert widget._cancel_error is None and job.error is None
        assert "cancel failed" not in widget._panel.value
        assert "odyssey-error" not in widget._panel.value
    finally:
        widget.close()
        refusing.clear_rules()
        job.cancel()


def test_the_helper_takes_a_400_for_a_job_that_ended_as_too_late(
    realtime: RunningEngine, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own 400 for a finished job: the outcome names its end, not a refusal."""
    monkeypatch.setenv("ODYSSEY_API_URL", realtime.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", realtime.api_key)
    job = simulate(scripts=[SHORT])
    job.wait(60, raise_on_failure=True)
    assert job.job_id is not None
    runtime = get_runtime()

    async def ask(job_id: str) -> tuple[CancelOutcome, SimulationJobDetail]:
        return await cancel_job(await runtime.get_client(), job_id)

    outcome, detail = runtime.run(ask(job.job_id))
    assert not outcome.refused and not outcome.cancelled
    assert outcome.status == "completed" == str(detail.status)
    assert str(outcome) == f"Job {job.job_id} is already completed; there was nothing to cancel."
    # Job.cancel() of a finished job asks nothing and says the same.
    assert str(job.cancel()) == str(outcome)
