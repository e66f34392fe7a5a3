"""The lasting forms of a job's output: final bundle, last state, browser snapshot, notices.

Pure functions over stand-in jobs (no network, no loop); the kernel, nbclient and
browser tests show the same bundles reach saved notebooks. Every server or user
string here is hostile markup, which must come out escaped.
"""

from __future__ import annotations

import concurrent.futures
from datetime import datetime, timezone
from typing import Any, ClassVar

from support.fresh_imports import loaded_by
from support.standin import StandIn as JobStandIn

from odyssey_jupyter.display.browser.rows import RowData
from odyssey_jupyter.display.browser.snapshot import folded_copy, snapshot_bundle
from odyssey_jupyter.display.common.notice import notice_bundle
from odyssey_jupyter.display.common.palette import MUTED_TEXT
from odyssey_jupyter.display.job.final import final_bundle, live_bundle
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.session import at_exit

HOSTILE = '<img src=x onerror="alert(1)">'


class StandIn(JobStandIn):
    """A finished job's observable state, with a one-prompt script."""

    defaults: ClassVar[dict[str, Any]] = {
        "phase": "done",
        "scripts": [[{"timestamp_ms": 0, "start": {"prompt": "a calm lake"}}]],
    }


def _detail(**data: Any) -> SimulationJobDetail:
    return SimulationJobDetail.from_json({"job_id": "job-1", **data})


def test_a_failed_job_lists_each_stream_error_escaped() -> None:
    detail = _detail(
        status="failed",
        error_message=f"1 of 2 streams failed {HOSTILE}",
        streams=[
            {"stream_id": "s1", "script_index": 0, "status": "completed"},
            {"stream_id": "s2", "script_index": 1, "status": "failed", "error_message": HOSTILE},
        ],
    )
    job = StandIn(job_id=HOSTILE, status=JobStatus.FAILED, detail=detail, scripts=[[], []])
    bundle = final_bundle(job)  # type: ignore[arg-type]
    body = bundle["text/html"]
    assert "<img" not in body and "&lt;img" in body
    assert "odyssey-status-failed" in body and "1 stream failed" in body
    assert body.count('class="odyssey-error"') == 2  # the job's error, then the stream's
    text = bundle["text/plain"]
    assert text.startswith(f"Odyssey job {HOSTILE}: failed after")
    assert f"script 2 · s2: {HOSTILE}" in text  # counted from 1; the id after it


def test_a_completed_job_without_files_names_its_facts_once() -> None:
    detail = _detail(
        status="completed",
        streams=[{"stream_id": "s1", "script_index": 0, "duration_seconds": 2.0}],
    )
    job = StandIn(status=JobStatus.COMPLETED, detail=detail)
    bundle = final_bundle(job)  # type: ignore[arg-type]
    assert (
        "completed in" in bundle["text/plain"]
        and "1 stream · 2.0 s of video" in bundle["text/plain"]
    )
    assert bundle["text/html"].count(">job-1<") == 1


def test_a_job_never_submitted_says_why() -> None:
    job = StandIn(job_id=None, phase="error", error=ValueError(f"no key {HOSTILE}"))
    bundle = final_bundle(job)  # type: ignore[arg-type]
    assert "not submitted: ValueError: no key" in bundle["text/plain"]
    assert "<img" not in bundle["text/html"]


def test_last_state_keeps_the_stage_and_an_escaped_note() -> None:
    job = StandIn(
        phase="watching", status=JobStatus.PROCESSING, detail=_detail(status="processing")
    )
    bundle = live_bundle(job, note=f"kernel stopped {HOSTILE}")  # type: ignore[arg-type]
    assert "processing" in bundle["text/plain"] and "rendering" in bundle["text/plain"]
    assert "submitting" not in bundle["text/plain"]
    assert "<img" not in bundle["text/html"] and "odyssey-last-state" in bundle["text/html"]


def test_a_saved_live_state_is_a_dated_snapshot_without_a_countdown() -> None:
    """Saved at 10% and read later: no "~1 min left", the time it was taken, how to refresh."""
    created = datetime.now(timezone.utc).timestamp() - 20
    started = datetime.fromtimestamp(created + 5, tz=timezone.utc).isoformat()
    detail = _detail(status="processing", progress=0.1, started_at=started)
    job = StandIn(phase="watching", status=JobStatus.PROCESSING, detail=detail, created=created)
    when = datetime(2026, 12, 7, 14, 3, 9, tzinfo=timezone.utc)
    bundle = live_bundle(job, when=when)  # type: ignore[arg-type]
    for form in (bundle["text/plain"], bundle["text/html"]):
        assert "left" not in form and "est. wait" not in form
        assert "Snapshot of 2026-12-07 14:03:09 UTC; the job may have moved on since." in form
    assert 'odyssey_jupyter.Job.from_id("job-1") shows it now.' in bundle["text/plain"]
    assert "rendering · 10%" in bundle["text/plain"]


class BrowserStandIn:
    def __init__(self, rows: list[RowData]) -> None:
        self.rows = rows
        self.caption = f"Showing 1-{len(rows)} of {len(rows)}"


def test_browser_snapshot_is_a_static_table_with_its_time() -> None:
    rows = [
        RowData("job-a", JobStatus.COMPLETED, "2026-01-01T00:00:00Z", 2.0, HOSTILE, 1),
        RowData("job-b", JobStatus.PROCESSING, "2026-01-01T00:01:00Z", None, "a lake", 1),
    ]
    when = datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)
    bundle = snapshot_bundle(BrowserStandIn(rows), when)  # type: ignore[arg-type]
    body = bundle["text/html"]
    assert body.count("<tr data-job-id=") == 2 and "<img src=x" not in body
    assert "Snapshot taken 2026-01-01 00:05:00 UTC" in body and "Re-run this cell" in body
    # what lasts gives absolute times: "4 min ago" would be false when it is read
    assert "2026-01-01 00:00 UTC" in body and "ago" not in body
    assert "2026-01-01 00:01 UTC" in bundle["text/plain"] and "ago" not in bundle["text/plain"]
    assert "job-a" in bundle["text/plain"] and "Snapshot taken" in bundle["text/plain"]
    folded = folded_copy(BrowserStandIn(rows))  # type: ignore[arg-type]
    assert folded["text/html"].startswith('<details class="odyssey-browser-saved"')


def test_the_browser_snapshot_says_when_it_was_taken_in_the_theme_muted_colour() -> None:
    """A grey written out (#555) all but vanishes on JupyterLab Dark's background."""
    rows = [RowData("job-a", JobStatus.COMPLETED, "2026-01-01T00:00:00Z", 2.0, "a lake", 1)]
    for html in (
        snapshot_bundle(BrowserStandIn(rows))["text/html"],  # type: ignore[arg-type]
        folded_copy(BrowserStandIn(rows))["text/html"],  # type: ignore[arg-type]
    ):
        assert "#555" not in html and f"color:{MUTED_TEXT}" in html


def test_notice_is_an_escaped_information_line() -> None:
    bundle = notice_bundle("Using the local Odyssey engine at http://127.0.0.1:5/<b> (x)")
    assert "&lt;b&gt;" in bundle["text/html"] and "<b>" not in bundle["text/html"]
    assert 'class="odyssey-notice"' in bundle["text/html"]


def test_the_notice_mark_is_drawn_not_a_font_glyph() -> None:
    html = notice_bundle("Using the local Odyssey engine")["text/html"]
    assert "\u24d8" not in html and "&#9432;" not in html
    assert '<svg class="odyssey-info-mark"' in html and "currentColor" in html
    assert "#555" not in html and "var(--jp-ui-font-color2," in html


def test_a_submission_still_in_flight_is_reported_with_its_prompt() -> None:
    job = StandIn(job_id=None, error=None)
    never: concurrent.futures.Future[None] = concurrent.futures.Future()
    at_exit.track(job, never)
    try:
        assert job in at_exit.in_flight()
        lost = at_exit.finish(0.0)
        assert ("a calm lake", "the kernel exited before the submission answered") in lost
    finally:
        never.set_result(None)  # answered: no longer in flight
    failed = StandIn(job_id=None, error=RuntimeError("refused"))
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    at_exit.track(failed, done)
    done.set_result(None)
    # it failed before the exit began: its own cell showed the error, no second report
    assert ("a calm lake", "RuntimeError: refused") not in at_exit.finish(0.0)


def test_the_final_output_loads_without_widgets() -> None:
    """A finished job's output is static: drawing it loads neither ipywidgets nor anywidget."""
    modules = ["odyssey_jupyter.display.job.final", "odyssey_jupyter.display.media.player"]
    assert loaded_by(modules, ["ipywidgets", "anywidget", "httpx"]) == []
