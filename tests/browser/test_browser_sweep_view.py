"""The live sweep view in JupyterLab: one state behind every part, then its final gallery.

A sweep of eight items runs on a realtime engine, three at a time. While it runs,
the counts in the header are the tiles' own states counted, Pause and Resume are
never both enabled, and the finished tiles show their posters; after Cancel the
view says how many completed, and the final gallery takes the output's place.
Pictures of the live view and the final gallery, light and dark, land in
build/screenshots/ (and docs/ with ``ODYSSEY_UPDATE_DOCS=1``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.notebooks import code_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = (
    "%load_ext odyssey_jupyter\n"
    "grid = {'animal': ['cat', 'owl', 'fox', 'hen'], 'weather': ['rain', 'snow']}",
    "%%odyssey_simulate --sweep grid --name pets --max-in-flight 3\n"
    "0s start a {animal} on a roof in the {weather}\n5s end",
)

# The header's counts and the tiles' states, read from the same moment of the page.
VIEW_JS = """
() => {
  const view = document.querySelector('.odyssey-sweep');
  const counts = {};
  view.querySelectorAll('.odyssey-sweep-count').forEach(c => {
    counts[c.dataset.state] = parseInt(c.textContent, 10); });
  const tiles = {};
  document.querySelectorAll('.odg-card').forEach(t => {
    tiles[t.dataset.state] = (tiles[t.dataset.state] || 0) + 1; });
  const buttons = {};
  document.querySelectorAll('.jp-OutputArea button.jupyter-button').forEach(b => {
    buttons[b.textContent.trim()] = !b.disabled; });
  return {counts, tiles, buttons, header: view.querySelector('b').parentElement.textContent};
}
"""


@pytest.fixture
def page(start_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    lab.need_browser()
    engine = start_engine("--pace", "realtime", "--workers", "3")
    root = tmp_path_factory.mktemp("sweep-view")
    nbformat.write(code_notebook(*CELLS), root / "sweep.ipynb")
    env = {"ODYSSEY_API_URL": engine.url, "ODYSSEY_API_KEY": engine.api_key, "ODYSSEY_WAIT": ""}
    env["ODYSSEY_HISTORY_PATH"] = str(root / "history.jsonl")
    server = lab.start_lab(root, tmp_path_factory.mktemp("sweep-view-state"), env)
    try:
        with lab.chromium() as browser:
            shown = lab.new_page(browser, height=1400)
            lab.open_notebook(shown, server, "sweep.ipynb")
            lab.run_all_cells(shown)
            yield shown
    finally:
        server.stop()


def _picture(page: Any, name: str) -> None:
    lab.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = lab.SCREENSHOTS / f"{name}.png"
    page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea").screenshot(path=str(path))
    if os.environ.get("ODYSSEY_UPDATE_DOCS", "").strip() in {"1", "true", "yes"}:
        shutil.copy2(path, lab.REPO / "docs" / f"{name}.png")


def _dark(page: Any, on: bool) -> None:
    theme = "JupyterLab Dark" if on else "JupyterLab Light"
    lab.run_command(page, "apputils:change-theme", {"theme": theme})
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{str(not on).lower()}'")


def test_the_live_view_agrees_with_itself_then_leaves_its_gallery(page: Any) -> None:
    page.locator(".odyssey-sweep").first.wait_for(timeout=60_000)
    # some items done and some still running: the moment the view used to contradict itself
    page.wait_for_function(
        "() => document.querySelectorAll('.odg-card[data-state=completed] video').length >= 2",
        timeout=90_000,
        polling=250,
    )
    seen = page.evaluate(VIEW_JS)
    assert seen["counts"] == seen["tiles"], seen
    assert seen["buttons"] == {
        "Pause": True,
        "Resume": False,
        "Cancel": True,
        "Retry failed": False,
    }, seen
    assert "ETA 0" not in seen["header"], seen
    # the finished tiles' posters are the thumbnails, served by the files route
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.odg-card[data-state=completed] video'))
              .every(v => v.getAttribute('poster').includes('/files/'))""",
        timeout=15_000,
    )
    _picture(page, "sweep_live_light")
    _dark(page, True)
    _picture(page, "sweep_live_dark")
    _dark(page, False)
    page.locator("button.jupyter-button", has_text="Cancel").click()
    page.locator(".odyssey-gallery .odg-controls").wait_for(timeout=90_000)  # the final one
    header = page.locator(".odyssey-sweep").first.inner_text()
    completed = page.locator(".odg-card[data-state=completed]").count()
    assert re.search(rf"cancelled — {completed}/8 completed", header), header
    assert "paused by you" not in header and "ETA" not in header, header
    _picture(page, "gallery_final_light")
    _dark(page, True)
    _picture(page, "gallery_final_dark")
