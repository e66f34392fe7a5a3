"""End to end in a real browser: JupyterLab + Chromium, against a real local engine.

One JupyterLab server for the module (root: a temporary copy of notebooks/), one
Chromium for the module. Screenshots land in build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import nbformat
import pytest
from conftest import RunningEngine
from support import jupyterlab as lab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab_server(
    engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lab.LabServer]:
    lab.need_browser()
    root = lab.copy_notebooks(tmp_path_factory.mktemp("lab-root"))
    smoke = nbformat.v4.new_notebook()
    smoke.metadata["kernelspec"] = lab.KERNELSPEC
    smoke.cells = [nbformat.v4.new_code_cell("print('smoke', 6 * 7)")]
    nbformat.write(smoke, root / "smoke.ipynb")
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_WAIT": "",
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


def test_lab_runs_a_trivial_cell(lab_server: lab.LabServer, page: Page) -> None:
    """The harness itself: JupyterLab opens a notebook, runs a cell, the output shows."""
    lab.open_notebook(page, lab_server, "smoke.ipynb")
    lab.run_all_cells(page)
    output = page.locator(".jp-OutputArea-output", has_text="smoke 42")
    output.wait_for(timeout=60_000)
    path = lab.screenshot(page, "smoke")
    assert path.stat().st_size > 0
