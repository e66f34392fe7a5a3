"""Compare and gallery in Chromium, from static HTML files beside the recordings (no kernel).

Two players must stay within 0.1 s of each other after play, seek and pause; the
gallery filters by param and state and pages; every label stays text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.engine_http import use_api
from support.engines import RunningEngine
from support.jupyterlab import chromium, need_browser, new_page

from odyssey_jupyter.display.media.compare import compare, compare_html
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.session.config import OdysseyJupyter, get_config, set_config
from odyssey_jupyter.session.runtime import shutdown_runtime
from odyssey_jupyter.sweeps import Sweep, sweep

pytestmark = pytest.mark.browser

TEMPLATE = "0s start a {animal} <b>on</b> a roof\n1.5s interact it turns\n3s end"


@pytest.fixture(scope="module")
def finished(
    engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sweep, Path]]:
    need_browser()
    root = tmp_path_factory.mktemp("notebook")
    shutdown_runtime()
    previous = get_config()
    set_config(OdysseyJupyter(recordings_dir=str(root / "odyssey_recordings")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ODYSSEY_HISTORY_PATH", str(root / "history.jsonl"))
        use_api(patch, engine.url, engine.api_key)
        s = sweep(TEMPLATE, {"animal": ["cat", "<img src=x onerror=alert(1)>", "owl"]})
        assert s.wait(120)["completed"] == 3
        yield s, root
    shutdown_runtime()
    set_config(previous)


def page_with(root: Path, name: str, body: str) -> Path:
    path = root / name
    path.write_text(f"<!doctype html><meta charset=utf-8><body>{body}</body>", encoding="utf-8")
    return path


def times(page: Any) -> list[float]:
    found: list[float] = page.evaluate(
        "() => Array.from(document.querySelectorAll('video.odc-v')).map(v => v.currentTime)"
    )
    return found


def paused(page: Any) -> list[bool]:
    found: list[bool] = page.evaluate(
        "() => Array.from(document.querySelectorAll('video.odc-v')).map(v => v.paused)"
    )
    return found


def test_compare_keeps_two_players_in_sync(finished: tuple[Sweep, Path]) -> None:
    s, root = finished
    items = s.items
    html_text = compare_html(items[:2], base_dir=root)
    assert "<b>" not in html_text and "&lt;b&gt;" in html_text  # prompts are text
    assert html_text.count('class="odc-mark"') == 4  # two chapters per item on one timeline
    path = page_with(root, "compare.html", html_text)
    with chromium() as browser:
        page = new_page(browser)
        page.goto(path.as_uri())
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('video.odc-v'))"
            ".every(v => v.readyState >= 2)",
            timeout=30_000,
        )
        page.click(".odc-play")
        time.sleep(1.2)
        a, b = times(page)
        assert a > 0.3 and abs(a - b) < 0.1, (a, b)
        assert paused(page) == [False, False]
        page.evaluate(
            "() => { const s = document.querySelector('.odc-seek'); s.value = '2.2';"
            " s.dispatchEvent(new Event('input')); }"
        )
        time.sleep(0.4)
        a, b = times(page)
        assert a >= 2.2 and abs(a - b) < 0.1, (a, b)
        page.click(".odc-play")  # now Pause
        time.sleep(0.3)
        assert paused(page) == [True, True]
        a, b = times(page)
        assert abs(a - b) < 0.1, (a, b)
        page.click(".odc-mark >> nth=1")  # a chapter marker seeks both
        time.sleep(0.3)
        a, b = times(page)
        assert abs(a - 1.5) < 0.05 and abs(a - b) < 0.1, (a, b)
        assert page.evaluate("() => window.alerted === undefined")


def test_compare_takes_two_to_six(finished: tuple[Sweep, Path]) -> None:
    s, _root = finished
    with pytest.raises(ValueError, match="2 to 6"):
        compare(s.items[0])
    assert "3 recordings" in repr(compare(s.items))
    jobs = [item.job for item in s.items[:2]]
    assert all(job is not None for job in jobs)
    of_jobs = compare(*jobs)
    assert len(of_jobs.entries) == 2 and all(e.chapters for e in of_jobs.entries)
    assert of_jobs.entries[0].chapters[1][1] == "it turns"  # from the events file


def test_the_gallery_filters_and_pages(finished: tuple[Sweep, Path]) -> None:
    s, root = finished
    html_text = gallery_html(s.items, page_size=2, base_dir=root)
    assert "<img src=x" not in html_text and "&lt;img src=x" in html_text
    path = page_with(root, "gallery.html", html_text)
    with chromium() as browser:
        page = new_page(browser)
        page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError("markup ran")))
        page.goto(path.as_uri())
        visible = (
            "() => Array.from(document.querySelectorAll('.odg-card'))"
            ".filter(c => c.style.display !== 'none').length"
        )
        assert page.evaluate(visible) == 2
        assert "page 1 of 2" in page.inner_text(".odg-page")
        page.click(".odg-next")
        assert page.evaluate(visible) == 1
        page.select_option("select[data-attr=data-p0]", "owl")
        assert page.evaluate(visible) == 1 and "1 items" in page.inner_text(".odg-page")
        page.select_option("select[data-attr=data-state]", "completed")
        card = page.locator(".odg-card:visible video")
        card.click()
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.odg-card video')).some(v => !v.paused)",
            timeout=10_000,
        )


def test_the_gallery_compares_the_items_ticked(finished: tuple[Sweep, Path]) -> None:
    s, root = finished
    path = page_with(root, "gallery-compare.html", gallery_html(s.items, base_dir=root))
    with chromium() as browser:
        page = new_page(browser)
        page.goto(path.as_uri())
        page.click(".odg-compare-btn")  # nothing ticked: says what to do
        assert "select 2 to 6" in page.inner_text(".odg-compare")
        page.check(".odg-card >> nth=0 >> .odg-pick")
        page.check(".odg-card >> nth=2 >> .odg-pick")
        page.click(".odg-compare-btn")
        assert page.locator(".odg-compare video.odc-v").count() == 2
        assert page.locator(".odg-compare .odc-mark").count() == 4
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('video.odc-v'))"
            ".every(v => v.readyState >= 2)",
            timeout=30_000,
        )
        page.click(".odg-compare .odc-play")
        time.sleep(1.0)
        a, b = times(page)
        assert a > 0.3 and abs(a - b) < 0.1, (a, b)
        page.click(".odg-compare .odc-mark >> nth=1")
        time.sleep(0.3)
        a, b = times(page)
        assert abs(a - b) < 0.1, (a, b)
        page.click(".odg-compare .odc-play")
        time.sleep(0.3)
        assert paused(page) == [True, True]
