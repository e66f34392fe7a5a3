"""Cancel in a real browser: feedback at click time while the kernel is busy, then the outcome.

JupyterLab + Chromium against a ``--pace realtime`` engine, so the job is still
rendering when Cancel is clicked. A later cell blocks the kernel (``time.sleep``):
the click's message waits on the shell channel until that cell ends, yet the
browser says at once that the cancel is requested and will be sent then; when the
cell finishes the kernel sends it and the job ends cancelled. The saved notebook
keeps the final static output (the live widget is live-only). A second notebook
goes through a proxy that refuses every cancel (400): the button then says the
job is already rendering, and nothing turns red. Screenshots in light and dark.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine, launch_engine
from support.faultproxy import FaultProxy
from support.notebooks import code_notebook

from odyssey_jupyter.display.live.cancel_control import BUSY_TEXT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

SLEEP_SECONDS = 20
SIMULATE = """%%odyssey_simulate -o slow
0s   start  A slow pan across a mountain lake, recorded in real time
60s  end"""
SLEEP = (
    "import time\n"
    "_until = time.monotonic() + 120\n"
    "while str(slow.status) != 'processing' and time.monotonic() < _until:\n"
    "    time.sleep(0.1)\n"
    f"time.sleep({SLEEP_SECONDS})  # a blocking cell while the job renders\n"
    "print('woke up')"
)


def _switch(url_var: str, key_var: str) -> str:
    return (
        "import os\n"
        f"os.environ['ODYSSEY_API_URL'] = os.environ['{url_var}']\n"
        f"os.environ['ODYSSEY_API_KEY'] = os.environ['{key_var}']"
    )


@pytest.fixture(scope="module")
def realtime_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    lab.need_browser()
    running = launch_engine(
        tmp_path_factory.mktemp("realtime-engine"), "--pace", "realtime", "--workers", "2"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def refusing_proxy(realtime_engine: RunningEngine) -> Iterator[FaultProxy]:
    with FaultProxy(realtime_engine.url) as proxy:
        proxy.add_rule(sequence=["400"] * 50, method="DELETE", path="/simulation-jobs/")
        yield proxy


@pytest.fixture(scope="module")
def lab_server(
    realtime_engine: RunningEngine,
    refusing_proxy: FaultProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[lab.LabServer]:
    lab.need_browser()
    root = tmp_path_factory.mktemp("lab-root")
    load = "%load_ext odyssey_jupyter"
    busy = code_notebook(
        _switch("ODYSSEY_TEST_RT_URL", "ODYSSEY_TEST_RT_KEY"), load, SIMULATE, SLEEP
    )
    nbformat.write(busy, root / "busy_cancel.ipynb")
    refused = code_notebook(
        _switch("ODYSSEY_TEST_PROXY_URL", "ODYSSEY_TEST_RT_KEY"), load, SIMULATE
    )
    nbformat.write(refused, root / "refused_cancel.ipynb")
    env = {
        "ODYSSEY_API_URL": realtime_engine.url,
        "ODYSSEY_API_KEY": realtime_engine.api_key,
        "ODYSSEY_TEST_RT_URL": realtime_engine.url,
        "ODYSSEY_TEST_RT_KEY": realtime_engine.api_key,
        "ODYSSEY_TEST_PROXY_URL": refusing_proxy.url,
        "ODYSSEY_WAIT": "",  # interactive: the simulate cell returns at once
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
    lab.run_command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    page.context.close()


def _cell(page: Page, text: str) -> Locator:
    return page.locator(".jp-CodeCell", has_text=text).first


def _start_all_cells(page: Page) -> None:
    """Run every cell without waiting for them (``run_all_cells`` resolves at the end)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def _still_sleeping(page: Page) -> bool:
    """The blocking cell is still running: its prompt shows ``[*]`` and it has not printed."""
    sleeper = _cell(page, "time.sleep(")
    prompt = sleeper.locator(".jp-InputArea-prompt").first.inner_text()
    return (
        "*" in prompt and sleeper.locator(".jp-OutputArea-output", has_text="woke up").count() == 0
    )


def _wait_rendering(cell: Locator) -> None:
    cell.locator(".odyssey-badge.odyssey-status-processing").first.wait_for(timeout=90_000)


def test_a_click_while_the_kernel_is_busy_is_answered_at_once_then_cancels(
    lab_server: lab.LabServer, page: Page
) -> None:
    lab.open_notebook(page, lab_server, "busy_cancel.ipynb")
    _start_all_cells(page)  # the simulate cell returns, then the sleep holds the kernel
    cell = _cell(page, "%%odyssey_simulate -o slow")
    _wait_rendering(cell)  # drawn from the kernel's loop thread while the sleep runs
    # While rendering the widget estimates the time left, from progress and time spent.
    cell.locator(".odyssey-time-left").first.wait_for(timeout=30_000)
    assert cell.locator(".odyssey-time-left").first.inner_text().endswith(" left")
    assert _still_sleeping(page)

    cell.locator(".odyssey-cancel").first.click()
    feedback = cell.locator(".odyssey-cancel-feedback", has_text=BUSY_TEXT)
    feedback.wait_for(timeout=10_000)  # shown by the browser itself: the kernel is asleep
    assert _still_sleeping(page)
    assert cell.locator(".odyssey-cancel-button").first.is_disabled()  # no second click
    cell.scroll_into_view_if_needed()
    lab.screenshot(page, "cancel_requested_while_busy")
    button = cell.locator(".odyssey-cancel-button").first
    light = button.evaluate("b => getComputedStyle(b).backgroundColor")
    lab.run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") != light  # theme colours
    assert feedback.is_visible()  # a theme change does not lose the browser's own state
    lab.screenshot(page, "cancel_requested_while_busy_dark")

    # The sleep ends, the kernel reads the click, sends the cancel: the job ends cancelled.
    page.locator(".jp-OutputArea-output", has_text="woke up").wait_for(timeout=90_000)
    final = cell.locator(".odyssey-final.odyssey-status-cancelled")
    final.first.wait_for(timeout=60_000)
    assert cell.locator(".odyssey-badge.odyssey-status-completed").count() == 0
    assert cell.locator(".odyssey-cancel-button:visible").count() == 0  # nothing left to click
    lab.screenshot(page, "cancelled_after_busy_dark")

    # Saved, the cell keeps the final static output, not a widget reference.
    lab.run_command(page, "docmanager:save")
    path = lab_server.root_dir / "busy_cancel.ipynb"

    def saved_outputs() -> list[dict[str, Any]]:
        cells = json.loads(path.read_text())["cells"]
        return [
            o for c in cells if "odyssey_simulate" in "".join(c["source"]) for o in c["outputs"]
        ]

    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000
    )
    outputs = saved_outputs()
    htmls = [o.get("data", {}).get("text/html", "") for o in outputs]
    html = "".join(h if isinstance(h, str) else "".join(h) for h in htmls)
    assert "odyssey-final" in html and "odyssey-status-cancelled" in html
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    plain = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "cancelled" in plain
    # Exported to HTML (no kernel, no widget JavaScript), the outcome is still there.
    from nbconvert import HTMLExporter

    exported, _ = HTMLExporter().from_filename(str(path))
    assert "odyssey-status-cancelled" in exported and "odyssey-final" in exported


def test_a_refused_cancel_says_the_job_is_already_rendering(
    lab_server: lab.LabServer, page: Page, refusing_proxy: FaultProxy
) -> None:
    lab.open_notebook(page, lab_server, "refused_cancel.ipynb")
    lab.run_all_cells(page)
    lab.wait_until_idle(page)
    cell = _cell(page, "%%odyssey_simulate -o slow")
    _wait_rendering(cell)
    cell.locator(".odyssey-cancel").first.click()
    line = cell.locator(".odyssey-cancel-feedback", has_text="is already rendering")
    line.wait_for(timeout=30_000)
    assert "can no longer be cancelled" in line.inner_text()
    assert refusing_proxy.count(method="DELETE", action="400") >= 1
    assert cell.locator(".odyssey-error").count() == 0  # an answer, not an error
    assert page.locator(".jp-OutputArea-output[data-mime-type*='stderr']").count() == 0
    assert cell.locator(".odyssey-badge.odyssey-status-processing").count() >= 1
    cell.scroll_into_view_if_needed()
    lab.screenshot(page, "cancel_refused")
