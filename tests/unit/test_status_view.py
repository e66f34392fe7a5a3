"""The pure status view: one table per status, time left, warnings, and no widgets imported.

Stand-in jobs (no network); the one widget test runs its own loop thread, since
the widget is written from a loop thread only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar

import pytest
from support.fresh_imports import loaded_by
from support.standin import StandIn as JobStandIn

from odyssey_jupyter.display.job.status_html import panel_html
from odyssey_jupyter.display.job.status_text import status_line
from odyssey_jupyter.display.job.status_view import (
    STAGES,
    StatusView,
    snapshot,
    stage_of,
    time_left,
)
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc).timestamp()


class StandIn(JobStandIn):
    """A job's observable state, created at ``T0``."""

    defaults: ClassVar[dict[str, Any]] = {"created": T0}


def _at(seconds: float) -> str:
    return datetime.fromtimestamp(T0 + seconds, tz=timezone.utc).isoformat()


def _job(status: str, **detail: Any) -> StandIn:
    data = SimulationJobDetail.from_json({"job_id": "job-1", "status": status, **detail})
    return StandIn(status=JobStatus(status), detail=data)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("job", "badge", "stage"),
    [
        (StandIn(phase="starting engine", job_id=None), "starting", "starting local engine"),
        (StandIn(phase="submitting", job_id=None), "submitting", "submitting"),
        (StandIn(phase="error", job_id=None, error=ValueError("x")), "error", "not submitted"),
        (_job("pending"), "pending", "queued"),
        (_job("dispatched"), "dispatched", "dispatched to a worker"),
        (_job("processing"), "processing", "rendering"),
        (_job("running"), "running", "rendering"),
        (_job("completed"), "completed", "completed"),
        (_job("cancelled"), "cancelled", "cancelled"),
        (_job("failed"), "failed", "failed"),
        (_job("paused_by_operator"), "paused_by_operator", "paused_by_operator"),
    ],
)
def test_each_status_reads_from_its_row_of_the_table(job: StandIn, badge: str, stage: str) -> None:
    view = snapshot(job, now=T0 + 1)  # type: ignore[arg-type]
    assert (view.status, view.stage) == (badge, stage)


def test_a_completed_job_still_downloading_says_so() -> None:
    job = _job("completed")
    job.phase = "downloading"
    assert snapshot(job, now=T0 + 1).stage == "downloading recordings"  # type: ignore[arg-type]
    assert STAGES["completed"].words_while_downloading == "downloading recordings"


def test_an_unknown_status_gets_a_row_of_its_own_name_with_the_bar_at_zero() -> None:
    row = stage_of("warming_up")
    assert (row.words, row.fraction, row.shows_wait, row.shows_time_left) == (
        "warming_up",
        0.0,
        False,
        False,
    )
    assert snapshot(_job("warming_up"), now=T0).stage_fraction == 0.0  # type: ignore[arg-type]


def test_only_a_queued_job_shows_the_wait_estimate() -> None:
    queued = snapshot(_job("pending", estimated_wait_minutes=3), now=T0)  # type: ignore[arg-type]
    assert queued.wait_text == "est. wait ~3 min"
    soon = snapshot(_job("pending", estimated_wait_minutes=0.2), now=T0)  # type: ignore[arg-type]
    assert soon.wait_text == "est. wait < 1 min"
    rendering = snapshot(_job("processing", estimated_wait_minutes=3), now=T0)  # type: ignore[arg-type]
    assert rendering.wait_text is None


# --------------------------------------------------------------------------- time left


@pytest.mark.parametrize(
    ("progress", "elapsed", "left"),
    [
        (0.5, 10.0, 10.0),
        (0.25, 10.0, 30.0),
        (0.9, 90.0, 10.0),
        (0.0, 10.0, None),  # no rate yet
        (None, 10.0, None),  # unknown
        (1.0, 10.0, None),  # done
        (0.5, 0.0, None),
        (-0.1, 5.0, None),
    ],
)
def test_time_left_is_the_rate_so_far_applied_to_what_remains(
    progress: float | None, elapsed: float, left: float | None
) -> None:
    result = time_left(progress, elapsed)
    assert result == pytest.approx(left) if left is not None else result is None


def test_time_left_counts_from_the_start_of_rendering_not_the_queue() -> None:
    # Queued for 100 s, then rendering for 20 s, 40% done: 30 s left, not 180.
    job = _job("processing", progress=0.4, started_at=_at(100))
    view = snapshot(job, now=T0 + 120)  # type: ignore[arg-type]
    assert view.time_left_s == pytest.approx(30.0)
    assert "~30.0 s left" in status_line(view)
    assert 'class="odyssey-time-left"' in panel_html(view) and "~30.0 s left" in panel_html(view)


def test_a_server_clock_ahead_of_ours_falls_back_to_time_since_submission() -> None:
    job = _job("processing", progress=0.5, started_at=_at(500))
    view = snapshot(job, now=T0 + 20)  # type: ignore[arg-type]
    assert view.time_left_s == pytest.approx(20.0)


@pytest.mark.parametrize(
    "job",
    [
        _job("processing", progress=0.0, started_at=_at(0)),
        _job("processing", started_at=_at(0)),  # progress unknown
        _job("pending", progress=0.5),  # not rendering
        _job("cancelled", progress=0.5),
        _job("completed", progress=1.0),
    ],
)
def test_time_left_is_hidden_without_a_rate_or_outside_rendering(job: StandIn) -> None:
    view = snapshot(job, now=T0 + 10)  # type: ignore[arg-type]
    assert view.time_left_s is None
    assert "left" not in status_line(view)
    assert "odyssey-time-left" not in panel_html(view)


# --------------------------------------------------------------------------- warnings


def test_warnings_default_to_none_and_show_escaped_in_the_panel() -> None:
    plain = snapshot(_job("processing"), now=T0)  # type: ignore[arg-type]
    assert plain.warnings == ()
    assert "odyssey-warning" not in panel_html(plain)

    job = _job("processing")
    job.warnings = ["line 3: only 1.0 s after the previous interaction <b>"]  # type: ignore[attr-defined]
    view = snapshot(job, now=T0)  # type: ignore[arg-type]
    assert view.warnings == ("line 3: only 1.0 s after the previous interaction <b>",)
    html = panel_html(view)
    assert 'class="odyssey-warning"' in html and "&lt;b&gt;" in html and "<b>" not in html


def test_a_view_built_by_hand_has_no_time_left_and_no_warnings() -> None:
    view = StatusView(
        job_id="j",
        status="processing",
        stage="rendering",
        elapsed_s=1.0,
        wait_text=None,
        progress=None,
        stage_fraction=0.5,
        streams=(),
        error=None,
        reconnecting=False,
        terminal=False,
        finished=False,
        summary=None,
    )
    assert view.time_left_s is None and view.warnings == ()


# --------------------------------------------------------------------------- theme and purity


def test_the_panel_uses_jupyterlab_theme_variables_with_fallbacks() -> None:
    job = _job("failed", error_message="boom", progress=0.3)
    job.phase = "done"
    html = panel_html(snapshot(job, now=T0 + 2))  # type: ignore[arg-type]
    assert "var(--jp-ui-font-color1,#212121)" in html
    assert "var(--jp-error-color1,#c62828)" in html


def test_the_pure_view_and_its_renderers_import_no_widgets() -> None:
    views = ["status_view", "status_text", "status_html"]
    assert loaded_by([f"odyssey_jupyter.display.job.{name}" for name in views]) == []


# --------------------------------------------------------------------------- the widget's button


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(10)
    running.close()


def _on_loop(loop: asyncio.AbstractEventLoop, fn: Any) -> Any:
    """Run ``fn`` on the loop thread (the widget's one writer) and return its result."""
    future: Any = asyncio.run_coroutine_threadsafe(_call(fn), loop)
    return future.result(10)


async def _call(fn: Any) -> Any:
    return fn()


def test_a_finished_job_shows_no_cancel_button(loop: asyncio.AbstractEventLoop) -> None:
    from odyssey_jupyter.display.live.status_widget import StatusWidget

    job = _job("processing", progress=0.2)
    widget = StatusWidget(job, loop=loop)  # type: ignore[arg-type]
    try:
        assert not widget._cancel.hidden and not widget._cancel.disabled
        assert widget._cancel.description == "Cancel"
        job.status = JobStatus.COMPLETED
        job.detail = SimulationJobDetail.from_json({"job_id": "job-1", "status": "completed"})
        job.phase = "done"
        _on_loop(loop, widget._render)
        assert widget.wait_finished(10)
        assert widget._cancel.hidden and widget._cancel.disabled
    finally:
        widget.close()

    done = StatusWidget(_job("cancelled"), loop=loop)
    try:
        assert done._cancel.hidden  # born finished: never shown at all
    finally:
        done.close()


def test_the_cancel_control_acts_on_a_click_message_only() -> None:
    from odyssey_jupyter.display.live.cancel_control import BUSY_TEXT, CancelControl

    clicks: list[int] = []
    control = CancelControl(lambda: clicks.append(1))
    try:
        for content in ({"event": "hover"}, "click", None, {"kind": "anywidget-command"}):
            control._handle_message(control, content, [])
        assert clicks == []
        control._handle_message(control, {"event": "click"}, [])  # what the browser sends
        assert clicks == [1]
        state = control.get_state()
        assert state["busy_text"] == BUSY_TEXT and state["answered"] == 0
        assert "--jp-layout-color2" in state["_css"] and "--jp-border-color2" in state["_css"]
    finally:
        control.close()
