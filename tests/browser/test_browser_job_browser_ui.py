"""The job browser where the user sees it: JupyterLab 4 + Chromium, against a real engine.

The toolbar's caption stays on the buttons' line (measured by bounding boxes, at a
wide and a narrow window), Preview starts playing at once and muted, a batch's
Preview plays every stream, the preview's chapter list stops at its end, and the
rows show stream counts. Screenshots of the browser in the light and dark themes
and of a batch preview land in build/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine, launch_engine
from support.notebooks import code_notebook

from odyssey_jupyter.client.odyssey import Odyssey

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

NOTEBOOK = "job_browser_ui.ipynb"


def _timeline(prompt: str, seconds: float, *interacts: float) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [{"timestamp_ms": 0, "start": {"prompt": prompt}}]
    entries += [
        {"timestamp_ms": int(t * 1000), "interact": {"prompt": f"{prompt} at {t:g} s"}}
        for t in interacts
    ]
    return [*entries, {"timestamp_ms": int(seconds * 1000), "end": {}}]


@pytest.fixture(scope="module")
def jobs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningEngine, dict[str, str]]]:
    """An engine of our own: a batch of two, an 8 s job with a prompt after its preview."""
    lab.need_browser()
    engine = launch_engine(tmp_path_factory.mktemp("ui-engine"), "--workers", "2")

    async def go() -> dict[str, str]:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            batch = await client.simulate(
                scripts=[_timeline("a red kite", 1.5), _timeline("a blue kite", 1.5)],
                portrait=False,
            )
            long = await client.simulate(_timeline("a long walk", 8.0, 2.0, 6.0), portrait=False)
            for job in (batch, long):
                await client.wait(job.job_id, timeout=90)
            return {"batch": batch.job_id, "long": long.job_id}

    try:
        yield engine, asyncio.run(go())
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def lab_server(
    jobs: tuple[RunningEngine, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lab.LabServer]:
    engine, _ids = jobs
    root = tmp_path_factory.mktemp("ui-root")
    nbformat.write(
        code_notebook("from odyssey_jupyter import JobBrowser\nJobBrowser()"), root / NOTEBOOK
    )
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_HISTORY_PATH": str(root / "history.jsonl"),
    }
    server = lab.start_lab(root, tmp_path_factory.mktemp("ui-state"), env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(lab_server: lab.LabServer) -> Iterator[Browser]:
    with lab.chromium() as running:
        yield running


@pytest.fixture(scope="module")
def shown(chromium: Browser, lab_server: lab.LabServer) -> Iterator[Page]:
    """The notebook open and run: the browser lists both jobs."""
    page = lab.new_page(chromium)
    lab.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    lab.run_all_cells(page)
    lab.wait_until_idle(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.odyssey-browser .odyssey-row').length >= 2",
        timeout=60_000,
    )
    yield page
    page.context.close()


def _box(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


def _caption_on_the_toolbar_line(page: Page) -> None:
    caption = page.locator(".odyssey-browser-caption").first
    refresh = page.locator(".odyssey-browser-toolbar button", has_text="Refresh").first
    text, button = _box(caption.locator(".widget-html-content").first), _box(refresh)
    middle = text["y"] + text["height"] / 2
    assert button["y"] <= middle <= button["y"] + button["height"], (text, button)
    assert text["x"] >= button["x"] + button["width"]  # after the buttons, not below them
    assert text["height"] <= button["height"] * 1.5  # one line of text, not two


def _row(page: Page, job_id: str) -> Locator:
    return page.locator(".odyssey-browser-row", has=page.locator(f"code[title='{job_id}']"))


def _playing_videos(page: Page, count: int) -> list[dict[str, Any]]:
    page.wait_for_function(
        """n => {
          const vs = [...document.querySelectorAll('.odyssey-browser-preview-area video')];
          return vs.length === n && vs.every(v => !v.paused && v.currentTime > 0);
        }""",
        arg=count,
        timeout=30_000,
        polling=200,
    )
    return page.evaluate(  # type: ignore[no-any-return]
        """() => [...document.querySelectorAll('.odyssey-browser-preview-area video')].map(
            v => ({muted: v.muted, paused: v.paused, src: v.getAttribute('src')}))"""
    )


def test_the_caption_stays_on_the_toolbar_line(shown: Page) -> None:
    _caption_on_the_toolbar_line(shown)
    lab.screenshot(shown, "job_browser_light")
    # a filtered page in a narrow window: the caption has less room than its text
    shown.set_viewport_size({"width": 760, "height": 1000})
    select = shown.locator(".odyssey-browser-toolbar select").first
    select.select_option(label="completed")
    shown.locator(".odyssey-browser-saved", has_text="status=completed").wait_for(
        state="attached", timeout=30_000
    )
    _caption_on_the_toolbar_line(shown)
    row, buttons = (
        shown.locator(".odyssey-browser-row").first,
        shown.locator(".odyssey-browser-row .odyssey-browser-preview").first,
    )
    info = _box(row.locator(".widget-html").first)
    assert info["x"] + info["width"] <= _box(buttons)["x"] + 1  # text never under a button
    lab.screenshot(shown, "job_browser_narrow")
    shown.set_viewport_size({"width": 1280, "height": 1000})
    select.select_option(label="any status")
    shown.locator(
        ".odyssey-browser-saved", has_text=re.compile(r"Showing 1-2 of 2(?! \()")
    ).wait_for(state="attached", timeout=30_000)


def test_preview_plays_at_once_muted_with_chapters_within_it(
    shown: Page, jobs: tuple[RunningEngine, dict[str, str]]
) -> None:
    _engine, ids = jobs
    _row(shown, ids["long"]).locator("button", has_text="Preview").click()
    (video,) = _playing_videos(shown, 1)
    assert video["muted"] and "preview.mp4" in video["src"], video
    chapters = shown.locator(".odyssey-browser-preview-area .odyssey-chapter")
    assert chapters.count() == 2  # 0 s and 2 s; the prompt at 6 s is past the preview
    times = [float(t or "nan") for t in chapters.evaluate_all("cs => cs.map(c => c.dataset.time)")]
    assert times == [0.0, 2.0]


def test_a_batch_shows_its_stream_count_and_previews_every_stream(
    shown: Page, jobs: tuple[RunningEngine, dict[str, str]]
) -> None:
    _engine, ids = jobs
    row = _row(shown, ids["batch"])
    assert "2 streams" in row.locator(".odyssey-streams").inner_text()
    row.locator("button", has_text="Preview").click()
    videos = _playing_videos(shown, 2)
    assert all(video["muted"] for video in videos), videos
    assert len({video["src"] for video in videos}) == 2
    shown.locator(".odyssey-browser-preview-area").scroll_into_view_if_needed()
    lab.screenshot(shown, "job_browser_batch_preview")


def test_the_browser_in_the_dark_theme(shown: Page) -> None:
    lab.run_command(shown, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    try:
        shown.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'false'"
            " && !document.querySelector('#jupyterlab-splash')",
            timeout=30_000,
        )
        _caption_on_the_toolbar_line(shown)
        lab.screenshot(shown, "job_browser_dark")
    finally:
        lab.run_command(shown, "apputils:change-theme", {"theme": "JupyterLab Light"})
        shown.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000
        )
