"""A saved notebook, reopened after the server restarted, shows every job's real outcome.

Real parts: a JupyterLab (and a Notebook 7) server, Chromium, the session's engine.
The notebook runs jobs with and without ``--wait``, a job that fails and a job
browser; it is saved; the server is stopped and a new one started on the same
folder; the notebook is reopened (nothing re-executed). Job cells must show no
"Error displaying widget", every completed job's video must load and its chapters
must seek. Screenshots before and after land in build/screenshots/.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine
from support.notebooks import code_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

# a PNG signature (the client sniffs it) over bytes the engine cannot decode: the job fails
BROKEN_IMAGE = "data:image/png;base64,iVBORw0KGgpub3QgcmVhbGx5IGEgcGljdHVyZQ=="
CELLS = (
    "%load_ext odyssey_jupyter",
    "%%odyssey_simulate -o nowait\n0s start A quiet harbour at dawn\n1s interact gulls rise\n"
    "2s end",
    "%%odyssey_simulate --wait -o waited\n0s start A lighthouse in a storm\n1s interact "
    "lightning\n2s end",
    "%%odyssey_simulate -o broken\n"
    f'[{{"timestamp_ms": 0, "start": {{"prompt": "a broken picture", "image": "{BROKEN_IMAGE}"}}}},'
    ' {"timestamp_ms": 1000, "end": {}}]',
    "%odyssey_jobs --limit 10",
    # still rendering when the notebook is saved (the engine renders in real time)
    "%%odyssey_simulate -o long\n0s start A long walk along a windy ridge\n10s interact the fog "
    "lifts\n60s end",
)
JOB_CELLS = ("-o nowait", "--wait -o waited", "-o broken", "-o long")
ERROR_TEXT = "Error displaying widget"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def browser(engine: RunningEngine) -> Iterator[Browser]:
    lab.need_browser()
    with lab.chromium() as running:
        yield running


def _env(engine: RunningEngine) -> dict[str, str]:
    return {"ODYSSEY_API_URL": engine.url, "ODYSSEY_API_KEY": engine.api_key, "ODYSSEY_WAIT": ""}


def _cell(page: Page, text: str) -> Locator:
    return page.locator(".jp-CodeCell", has_text=text).first


def _saved_finals(path: Path) -> int:
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (OSError, ValueError):
        return 0
    return sum(
        "odyssey-final" in output.get("data", {}).get("text/html", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )


def _run_and_save(
    browser: Browser, engine: RunningEngine, root: Path, state: Path, app: str
) -> None:
    server = lab.start_lab(root, state, _env(engine), app=app)
    page = lab.new_page(browser)
    try:
        lab.open_notebook(page, server, "reopen.ipynb")
        lab.run_all_cells(page)
        lab.wait_until_idle(page, timeout=180)
        # jobs without --wait end after their cells: wait for their final outputs
        page.wait_for_function(
            "() => document.querySelectorAll('.odyssey-final').length >= 3",
            timeout=90_000,
            polling=250,
        )
        page.locator(".odyssey-browser").first.wait_for(timeout=30_000)
        _cell(page, "-o long").locator(".odyssey-status", has_text="rendering").wait_for(
            timeout=60_000
        )
        lab.screenshot(page, f"reopen_{app}_before", full_page=True)
        lab.run_command(page, "docmanager:save")
        page.wait_for_function(
            "() => !document.querySelector('.jp-mod-dirty')", timeout=30_000, polling=250
        )
        saved = root / "reopen.ipynb"
        deadline_ok = False
        for _ in range(100):  # the contents API has written the file once the tab is clean
            if _saved_finals(saved) >= 3:
                deadline_ok = True
                break
            page.wait_for_timeout(100)
        assert deadline_ok, "the saved notebook does not hold the final outputs"
    finally:
        page.context.close()
        server.stop()


def _reopen(
    browser: Browser, engine: RunningEngine, root: Path, state: Path, app: str
) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    server = lab.start_lab(root, state, _env(engine), app=app)
    page = lab.new_page(browser)
    try:
        lab.open_notebook(page, server, "reopen.ipynb")
        page.wait_for_function(
            "() => document.querySelectorAll('.odyssey-final').length >= 3",
            timeout=60_000,
            polling=250,
        )
        # The two outputs live at save time (the browser and the long job) fall back to
        # their last state once the widget manager has given up on their models; a widget
        # error would show by then, and must not come back after the swap.
        browser_cell = _cell(page, "%odyssey_jobs")
        long_cell = _cell(page, "-o long")
        last_state = long_cell.locator(".odyssey-live-fallback .odyssey-last-state")
        last_state.wait_for(timeout=60_000)
        browser_cell.locator(".odyssey-live-fallback").first.wait_for(timeout=30_000)
        with contextlib.suppress(PlaywrightTimeout):
            page.locator(f"text={ERROR_TEXT}").first.wait_for(timeout=2_000)
        long_text = last_state.inner_text()
        browser_text = browser_cell.locator(".odyssey-live-fallback").first.inner_text()
        job_errors = sum(
            _cell(page, needle).locator(f"text={ERROR_TEXT}").count() for needle in JOB_CELLS
        )
        browser_errors = browser_cell.locator(f"text={ERROR_TEXT}").count()
        saved_copy = browser_cell.locator(".odyssey-browser-saved, .odyssey-browser-snapshot")
        videos = page.locator(".odyssey-final video")
        ready = []
        for index in range(videos.count()):
            video = videos.nth(index)
            video.scroll_into_view_if_needed()
            video.evaluate("v => { if (v.readyState < 2) v.load(); }")
            page.wait_for_function(
                "v => v.readyState >= 2", arg=video.element_handle(), timeout=30_000, polling=200
            )
            ready.append(video.evaluate("v => v.readyState"))
        # a chapter click seeks its own player
        player = _cell(page, "--wait -o waited").locator(".odyssey-player").first
        chapter = player.locator(".odyssey-chapter").nth(1)
        target = float(chapter.get_attribute("data-time") or "nan")
        player.locator("video").evaluate(
            "v => { window.__seekedAt = null; v.muted = true;"
            " v.addEventListener('seeked', () => { window.__seekedAt = v.currentTime; },"
            " {once: true}); }"
        )
        chapter.click()
        page.wait_for_function("() => window.__seekedAt !== null", timeout=15_000)
        seeked = float(page.evaluate("() => window.__seekedAt"))
        failed_text = _cell(page, "-o broken").inner_text()
        lab.screenshot(page, f"reopen_{app}_after", full_page=True)
        return {
            "job_errors": job_errors,
            "browser_errors": browser_errors,
            "saved_copy": saved_copy.count(),
            "ready": ready,
            "target": target,
            "seeked": seeked,
            "failed_text": failed_text,
            "long_text": long_text,
            "browser_text": browser_text,
        }
    finally:
        page.context.close()
        server.stop()


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_reopened_notebook_shows_every_outcome(
    app: str, start_engine: Any, browser: Browser, tmp_path: Path
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "2")
    root = tmp_path / "root"
    root.mkdir()
    nbformat.write(code_notebook(*CELLS), root / "reopen.ipynb")
    state = tmp_path / "state"
    _run_and_save(browser, engine, root, state, app)
    saved = nbformat.reads((root / "reopen.ipynb").read_text(encoding="utf-8"), as_version=4)
    live = saved.cells[CELLS.index(CELLS[-1])].outputs[-1]["data"]
    assert {"application/vnd.odyssey.live+json", WIDGET_MIME} <= set(live), list(live)
    seen = _reopen(browser, engine, root, state, app)
    print(f"{app}: reopened: {seen}")
    assert seen["job_errors"] == 0, seen
    assert len(seen["ready"]) >= 2 and all(state >= 2 for state in seen["ready"]), seen
    assert seen["seeked"] == pytest.approx(seen["target"], abs=0.1), seen
    assert "failed" in seen["failed_text"] and "cannot be decoded" in seen["failed_text"]
    # a browser live when the notebook was saved keeps its last page visible beside it
    assert seen["saved_copy"] >= 1, seen
    # its live widget output falls back to the table it last showed (labextension/src/live.ts)
    assert seen["browser_errors"] == 0, seen
    # a job still running at save time shows the state it had reached
    # (application/vnd.odyssey.live+json, labextension/src/live.ts)
    assert "rendering" in seen["long_text"], seen
    # ... as a dated snapshot that says how to see the job now, with no stale countdown
    assert re.search(r"Snapshot of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", seen["long_text"]), seen
    assert "Job.from_id(" in seen["long_text"] and " left" not in seen["long_text"], seen
    # saved times are absolute: "just now" would be false when the notebook is reopened
    assert "just now" not in seen["browser_text"] and " ago" not in seen["browser_text"], seen
    assert " UTC" in seen["browser_text"], seen
