"""End to end in a real browser: JupyterLab + Chromium, against real local engines.

One JupyterLab server and one Chromium for the module. The server's root is a
temporary copy of notebooks/ plus two small notebooks written here (a smoke test of
the harness, and a cancel notebook). Kernels talk to the session's fast engine; the
cancel notebook switches its kernel to a ``--pace realtime`` engine, so the job is
still running when Cancel is clicked. Screenshots land in build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine, launch_engine
from support.notebooks import code_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

FIRST_SCRIPT_SECONDS = 6.0  # quickstart's first script ends at 6s
RUN_ALL_TIMEOUT = 180.0
CANCEL_CELL = """%%odyssey_simulate -o slow
0s   start  A slow pan across a mountain lake, recorded in real time
30s  end"""


@pytest.fixture(scope="module")
def realtime_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    lab.need_browser()
    running = launch_engine(
        tmp_path_factory.mktemp("realtime-engine"), "--pace", "realtime", "--workers", "1"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def lab_server(
    engine: RunningEngine,
    realtime_engine: RunningEngine,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[lab.LabServer]:
    lab.need_browser()
    root = lab.copy_notebooks(tmp_path_factory.mktemp("lab-root"))
    nbformat.write(code_notebook("print('smoke', 6 * 7)"), root / "smoke.ipynb")
    switch = (
        "import os\n"
        "os.environ['ODYSSEY_API_URL'] = os.environ['ODYSSEY_TEST_REALTIME_URL']\n"
        "os.environ['ODYSSEY_API_KEY'] = os.environ['ODYSSEY_TEST_REALTIME_KEY']"
    )
    nbformat.write(
        code_notebook(switch, "%load_ext odyssey_jupyter", CANCEL_CELL), root / "cancel.ipynb"
    )
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_TEST_REALTIME_URL": realtime_engine.url,
        "ODYSSEY_TEST_REALTIME_KEY": realtime_engine.api_key,
        "ODYSSEY_WAIT": "",  # interactive: cells without --wait return at once
    }
    server = lab.start_lab(root, tmp_path_factory.mktemp("lab-state"), env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab_server: lab.LabServer) -> Iterator[Browser]:
    with lab.chromium() as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = lab.new_page(browser)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def quickstart(lab_server: lab.LabServer, browser: Browser) -> Iterator[Page]:
    """quickstart.ipynb opened in JupyterLab with every cell run, shared by the tests below."""
    page = lab.new_page(browser)
    lab.open_notebook(page, lab_server, "quickstart.ipynb")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # more room for screenshots
    lab.run_all_cells(page)
    lab.wait_until_idle(page, timeout=RUN_ALL_TIMEOUT)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    traces = [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]
    if traces:
        lab.screenshot(page, "quickstart_failed")
    assert not traces, "cells failed in JupyterLab:\n" + "\n---\n".join(traces)
    yield page
    page.context.close()


def _cell(page: Page, text: str) -> Locator:
    """The code cell whose source contains ``text``."""
    return page.locator(".jp-CodeCell", has_text=text).first


def _video_state(video: Locator) -> dict[str, float]:
    return video.evaluate(  # type: ignore[no-any-return]
        "v => ({ready: v.readyState, duration: v.duration, time: v.currentTime})"
    )


def _wait_playable(video: Locator, timeout: float = 30.0) -> None:
    video.scroll_into_view_if_needed()
    video.evaluate("v => { if (v.readyState < 2) v.load(); }")
    video.page.wait_for_function(
        "v => v.readyState >= 2", arg=video.element_handle(), timeout=timeout * 1000, polling=200
    )


# --- the harness itself ---------------------------------------------------------------------


def test_lab_runs_a_trivial_cell(lab_server: lab.LabServer, page: Page) -> None:
    """JupyterLab opens a notebook, runs a cell, and the output shows."""
    lab.open_notebook(page, lab_server, "smoke.ipynb")
    lab.run_all_cells(page)
    page.locator(".jp-OutputArea-output", has_text="smoke 42").wait_for(timeout=60_000)
    assert lab.screenshot(page, "smoke").stat().st_size > 0


# --- quickstart.ipynb -----------------------------------------------------------------------


def test_status_badges_reach_completed(quickstart: Page) -> None:
    cell = _cell(quickstart, "--wait -o first")
    badge = cell.locator(".odyssey-badge.odyssey-status-completed")
    badge.first.wait_for(timeout=30_000)
    # timeline, landscape, start image and batch each show a completed badge
    completed = quickstart.locator(".odyssey-status .odyssey-badge.odyssey-status-completed")
    assert completed.count() >= 4
    assert quickstart.locator(".odyssey-badge.odyssey-status-failed").count() == 0
    cell.scroll_into_view_if_needed()
    lab.screenshot(quickstart, "quickstart")
    cell.screenshot(path=str(lab.SCREENSHOTS / "quickstart_first_job.png"))


def test_player_plays_the_whole_script(quickstart: Page) -> None:
    video = _cell(quickstart, "--wait -o first").locator(".odyssey-player video").first
    _wait_playable(video)
    state = _video_state(video)
    assert state["ready"] >= 2
    assert abs(state["duration"] - FIRST_SCRIPT_SECONDS) <= 0.05 * FIRST_SCRIPT_SECONDS, state
    # The poster is the thumbnail, served by JupyterLab's files route (not the page's URL).
    quickstart.wait_for_function(
        "v => v.poster.includes('/files/')", arg=video.element_handle(), timeout=15_000
    )
    poster = quickstart.evaluate(
        """async v => {
            const answer = await fetch(v.poster);
            return {status: answer.status, type: answer.headers.get('content-type')};
        }""",
        video.element_handle(),
    )
    assert poster == {"status": 200, "type": "image/jpeg"}, poster


def test_chapter_click_seeks_to_its_prompt(quickstart: Page) -> None:
    player = _cell(quickstart, "--wait -o first").locator(".odyssey-player").first
    video = player.locator("video").first
    _wait_playable(video)
    chapters = player.locator(".odyssey-chapter")
    assert chapters.count() == 2  # start + one interact
    chapter = chapters.nth(1)
    target = float(chapter.get_attribute("data-time") or "nan")
    assert target == pytest.approx(3.0, abs=0.05)  # the interact at 3s
    video.evaluate(
        "v => { window.__seekedAt = null;"
        " v.addEventListener('seeked', () => { window.__seekedAt = v.currentTime; },"
        " {once: true}); }"
    )
    chapter.click()
    quickstart.wait_for_function("() => window.__seekedAt !== null", timeout=15_000)
    seeked = quickstart.evaluate("() => window.__seekedAt")
    assert seeked == pytest.approx(target, abs=0.1)
    # Paused on the chapter's frame: the picture used for the README (docs/screenshot.png).
    video.evaluate("(v, t) => { v.pause(); v.currentTime = t; }", target)
    quickstart.wait_for_function("v => !v.seeking", arg=video.element_handle(), timeout=15_000)
    cell = _cell(quickstart, "--wait -o first")
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")
    lab.screenshot(quickstart, "quickstart_player")


def test_job_browser_lists_jobs_and_plays_a_preview(quickstart: Page) -> None:
    first_id = _cell(quickstart, "--wait -o first").locator(".odyssey-job-id").first.inner_text()
    cell = _cell(quickstart, "%odyssey_jobs")
    rows = cell.locator(".odyssey-row")
    rows.first.wait_for(timeout=30_000)
    quickstart.wait_for_function(
        "el => el.querySelectorAll('.odyssey-row').length >= 4",
        arg=cell.element_handle(),
        timeout=30_000,
    )
    listed = " ".join(rows.all_inner_texts())
    assert first_id.strip()[:8] in listed
    preview = cell.locator("button:not([disabled])", has_text="Preview").first
    preview.scroll_into_view_if_needed()
    preview.click()
    video = cell.locator("video").first
    video.wait_for(timeout=30_000)
    _wait_playable(video)
    assert _video_state(video)["duration"] > 0
    video.evaluate("v => { v.muted = true; return v.play(); }")
    quickstart.wait_for_function(
        "v => v.currentTime > 0", arg=video.element_handle(), timeout=15_000
    )
    cell.scroll_into_view_if_needed()
    lab.screenshot(quickstart, "job_browser")


# --- cancelling a running job ------------------------------------------------------------------


def test_cancel_button_cancels_a_realtime_job(lab_server: lab.LabServer, page: Page) -> None:
    lab.open_notebook(page, lab_server, "cancel.ipynb")
    lab.run_all_cells(page)
    cell = _cell(page, "%%odyssey_simulate -o slow")
    running = cell.locator(
        ".odyssey-badge.odyssey-status-processing, .odyssey-badge.odyssey-status-dispatched"
    )
    running.first.wait_for(timeout=60_000)
    cell.locator(".odyssey-cancel").first.click()
    confirm = cell.locator("button", has_text="Yes")
    if confirm.count():
        confirm.first.click()
    cell.locator(".odyssey-badge.odyssey-status-cancelled").first.wait_for(timeout=60_000)
    assert cell.locator(".odyssey-badge.odyssey-status-completed").count() == 0
    lab.screenshot(page, "cancelled")
