"""The tutorial pages, opened from disk in Chromium with every request off the site
blocked: nothing is asked of the network, nothing fails, and every video plays."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Route
from support import jupyterlab as lab

pytestmark = [pytest.mark.browser]

TUTORIALS = (
    "quickstart",
    "image-to-video",
    "batches",
    "sweeps",
    "job-browser",
    "engine-to-hosted",
)
# A reader pressing play loads the whole video; the pages ask only for its metadata, so
# the test asks for more as each player appears.
PRELOAD_ALL = """new MutationObserver(() => document.querySelectorAll("video").forEach(
    v => { v.preload = "auto"; })).observe(document, {childList: true, subtree: true});"""
ALL_VIDEOS_READY = """() => {
    const videos = Array.from(document.querySelectorAll("video"));
    return videos.length > 0 && videos.every(v => v.readyState >= 2);
}"""


def test_tutorial_pages_load_nothing_from_the_network_and_their_videos_play(
    site: Path,
) -> None:
    lab.need_browser()
    blocked: list[str] = []
    failed: list[str] = []

    def only_files(route: Route) -> None:
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with lab.chromium() as browser:
        page = lab.new_page(browser)
        page.add_init_script(PRELOAD_ALL)
        page.route("**/*", only_files)
        page.on(
            "requestfailed",
            lambda request: (
                failed.append(f"{request.url} {request.failure}")
                if request.failure != "net::ERR_ABORTED"  # a load the next page cut short
                else None
            ),
        )
        for name in TUTORIALS:
            page.goto((site / "tutorials" / f"{name}.html").as_uri())
            page.wait_for_function(ALL_VIDEOS_READY, timeout=60_000)
            errors = page.evaluate(
                "Array.from(document.querySelectorAll('video'))"
                ".filter(v => v.error).map(v => v.currentSrc)"
            )
            assert errors == [], name
    assert blocked == []
    assert failed == []
