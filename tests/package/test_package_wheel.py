"""The wheel alone, installed with JupyterLab into a fresh venv with no Node.js on PATH.

JupyterLab must list the prebuilt extension (enabled, OK) from the venv's own
share/jupyter, and a notebook run there must keep its outcomes: one job with
``--wait`` and one still rendering when the notebook is saved, reopened on a
restarted server with no kernel at all. What the editor and the reopened outputs
show needs the installed extension: the timeline highlighting, and the last state
of a live output in place of "Error displaying widget".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.notebooks import code_notebook
from support.packaging import (
    DIST_NAME,
    LABEXT_NAME,
    REPO,
    Venv,
    labextensions,
    listed_ok,
    run,
    source_version,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.package, pytest.mark.slow]

CELLS = (
    "%load_ext odyssey_jupyter",
    "%%odyssey_simulate --wait -o waited\n0s start A lighthouse in a storm\n1s interact "
    "lightning\n2s end",
    # still rendering when the notebook is saved (the engine renders in real time)
    "%%odyssey_simulate -o running\n0s start A long walk along a windy ridge\n10s interact "
    "the fog lifts\n60s end",
)
PLUGINS = ("odyssey-jupyter:timeline", "odyssey-jupyter:live-outputs")
NO_KERNEL_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const context = w && w.sessionContext;
  return !!context && !context.session && context.kernelDisplayName === 'No Kernel';
}"""


def test_the_wheel_alone_lists_the_extension_enabled_and_ok(wheel_venv: Venv) -> None:
    listing = labextensions(wheel_venv.bin / "jupyter", wheel_venv.env())
    assert listed_ok(listing, source_version()), listing
    installed = wheel_venv.root / "share" / "jupyter" / "labextensions" / LABEXT_NAME
    assert not installed.is_symlink() and (installed / "install.json").is_file()
    shown = run(
        [wheel_venv.python, "-c", f"import {DIST_NAME} as p; print(p.__file__, p.__version__)"],
        cwd=wheel_venv.root,
        env=wheel_venv.env(),
    ).split()
    assert Path(shown[0]).is_relative_to(wheel_venv.root) and not Path(shown[0]).is_relative_to(
        REPO
    )
    assert shown[1] == source_version()
    # JupyterLab's own check, server side (its browser half installs Playwright's browser
    # with npx, which needs Node.js and a download: the Chromium flow below stands for it)
    root = ["--allow-root"] if os.geteuid() == 0 else []
    checked = run(
        [wheel_venv.python, "-m", "jupyterlab.browser_check", "--no-browser-test", *root],
        cwd=wheel_venv.root,
        env=wheel_venv.env(),
    )
    assert "Exiting normally" in checked, checked


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    lab.need_browser()
    with lab.chromium() as running:
        yield running


def _first_run(browser: Browser, root: Path, state: Path, env: dict[str, str], python: Path) -> Any:
    """Run the notebook, save it while one job still renders; what the editor showed."""
    server = lab.start_lab(root, state, env, python=python)
    page = lab.new_page(browser)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        lab.open_notebook(page, server, "jobs.ipynb")
        plugins = page.evaluate(
            "ids => ids.map(id => window.jupyterapp.hasPlugin(id))", list(PLUGINS)
        )
        lab.run_all_cells(page)
        lab.wait_until_idle(page, timeout=180)
        page.locator(".odyssey-final video").first.wait_for(timeout=60_000)
        running = page.locator(".jp-CodeCell", has_text="-o running").first
        running.locator(".odyssey-status", has_text="rendering").wait_for(timeout=60_000)
        highlighted = page.locator(".jp-CodeCell .cm-odyssey-time").count()
        lab.run_command(page, "docmanager:save")
        page.wait_for_function(
            "() => !document.querySelector('.jp-mod-dirty')", timeout=30_000, polling=250
        )
        ours = [text for text in errors if "odyssey" in text.lower()]
        return {"plugins": plugins, "highlighted": highlighted, "errors": ours}
    finally:
        page.context.close()
        server.stop()


def _open_without_kernel(page: Page, server: lab.LabServer, notebook: str) -> None:
    """Open a notebook that names no kernel and answer JupyterLab's question: No Kernel."""
    page.goto(server.page_url(notebook), timeout=90_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    page.locator(".jp-Dialog button", has_text="No Kernel").click(timeout=30_000)
    page.wait_for_function(NO_KERNEL_JS, timeout=30_000, polling=250)


def _reopen(browser: Browser, root: Path, state: Path, env: dict[str, str], python: Path) -> Any:
    """Reopen the saved notebook on a new server with no kernel; what it shows."""
    server = lab.start_lab(root, state, env, python=python)
    page = lab.new_page(browser)
    try:
        _open_without_kernel(page, server, "jobs.ipynb")
        video = page.locator(".odyssey-final video").first
        video.wait_for(timeout=60_000)
        video.evaluate("v => { if (v.readyState < 2) v.load(); }")
        page.wait_for_function(
            "v => v.readyState >= 2", arg=video.element_handle(), timeout=30_000, polling=200
        )
        running = page.locator(".jp-CodeCell", has_text="-o running").first
        last_state = running.locator(".odyssey-live-fallback .odyssey-last-state")
        last_state.wait_for(timeout=60_000)
        lab.screenshot(page, "package_wheel_reopened", full_page=True)
        return {
            "last_state": last_state.inner_text(),
            "errors": page.locator("text=Error displaying widget").count(),
            "sessions": server.api("/api/sessions"),
        }
    finally:
        page.context.close()
        server.stop()


def test_a_notebook_saved_mid_job_reopens_through_the_wheels_extension(
    wheel_venv: Venv, start_engine: Any, browser: Browser, tmp_path: Path
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "2")
    root = tmp_path / "root"
    root.mkdir()
    nbformat.write(code_notebook(*CELLS), root / "jobs.ipynb")
    env = wheel_venv.env(
        ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key, ODYSSEY_WAIT=""
    )
    state = tmp_path / "state"
    first = _first_run(browser, root, state, env, wheel_venv.python)
    assert first["plugins"] == [True, True] and first["errors"] == [], first
    assert first["highlighted"] >= 3, first  # the times of the timeline cells
    saved = nbformat.read(root / "jobs.ipynb", as_version=4)
    assert "odyssey-final" in json.dumps(saved.cells[1].outputs)
    assert "application/vnd.odyssey.live+json" in json.dumps(saved.cells[2].outputs)
    for name in ("kernelspec", "language_info"):  # nothing for JupyterLab to start
        saved.metadata.pop(name, None)
    nbformat.write(saved, root / "jobs.ipynb")
    # signed again, as the server signs what it saves (untrusted, no extension is asked)
    run([wheel_venv.bin / "jupyter", "trust", root / "jobs.ipynb"], env=env)
    seen = _reopen(browser, root, state, env, wheel_venv.python)
    assert seen["sessions"] == [] and seen["errors"] == 0, seen
    assert "rendering" in seen["last_state"], seen
