"""A real JupyterLab server and a real Chromium for the browser tests.

One server per test module (JupyterLab takes a few seconds to start): its root is
a temporary copy of ``notebooks/``, its kernels inherit an environment that points
at a test engine, and its settings/runtime dirs are private so the developer's own
Jupyter set-up never leaks in. Chromium is Debian's ``/usr/bin/chromium`` driven
through Playwright; ``playwright install`` is never needed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("ODYSSEY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab's own pop-ups (news, update checks) would cover the notebook.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Keep every cell in the DOM: with windowing, cells scrolled out of view vanish.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def browser_required() -> bool:
    """CI sets ODYSSEY_REQUIRE_BROWSER=1: a missing browser is then a failure, not a skip."""
    return os.environ.get("ODYSSEY_REQUIRE_BROWSER", "").strip() in {"1", "true", "yes"}


def need_browser() -> None:
    """Skip (or fail under ODYSSEY_REQUIRE_BROWSER=1) when Chromium or Playwright is missing."""
    problem = None
    if not os.access(CHROMIUM, os.X_OK):
        problem = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright Python package is not installed"
    if problem is None:
        return
    if browser_required():
        pytest.fail(f"ODYSSEY_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(problem)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_notebooks(dest: Path, names: tuple[str, ...] | None = None) -> Path:
    """Copy notebooks/*.ipynb (or just ``names``) into ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        if names is None or source.name in names:
            shutil.copy2(source, dest / source.name)
    return dest


@dataclass
class LabServer:
    """A running JupyterLab server started by a test."""

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    app: str = "lab"
    """``lab`` (JupyterLab) or ``notebook`` (Notebook 7)."""

    def page_url(self, notebook: str) -> str:
        if self.app == "notebook":
            return f"{self.url}/notebooks/{notebook}?token={self.token}"
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def api(self, path: str) -> Any:
        headers = {"Authorization": f"token {self.token}"}
        response = httpx.get(f"{self.url}{path}", headers=headers, timeout=10.0)
        response.raise_for_status()
        return response.json()

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (and its kernels: jupyter_server shuts them down on SIGTERM)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_lab(
    root_dir: Path,
    state_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 120.0,
    app: str = "lab",
    python: str | Path = sys.executable,
) -> LabServer:
    """Start ``jupyter lab`` (or Notebook 7 with ``app="notebook"``) on a free 127.0.0.1 port
    with a random token; wait until it answers. ``python`` is the environment it runs
    from (its kernels too): this venv unless a test installed another."""
    token = secrets.token_hex(16)
    port = free_port()
    settings_dir = state_dir / "lab-settings"
    for name, value in _LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    full_env = dict(os.environ)
    # Coverage measures every Python subprocess (pyproject: patch = subprocess); a Jupyter
    # server and its kernels are left out: tracing them slows the browser tier by about a
    # tenth, and the kernel tier measures the same code.
    full_env.pop("COVERAGE_PROCESS_CONFIG", None)
    full_env.pop("COVERAGE_PROCESS_START", None)
    full_env.update(env or {})
    full_env.update(
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(state_dir / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    app_class = "JupyterNotebookApp" if app == "notebook" else "LabApp"
    args = [
        str(python),
        "-m",
        "notebook" if app == "notebook" else "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
        f"--{app_class}.expose_app_in_browser=True",
        *(["--LabApp.news_url="] if app == "lab" else []),
        "--ServerApp.terminals_enabled=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and CI images often run as root
    log_path = state_dir / "jupyterlab.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        args,
        cwd=root_dir,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    server = LabServer(f"http://127.0.0.1:{port}", token, root_dir, process, log_path, app)
    return wait_until_serving(server, timeout, "JupyterLab")


def wait_until_serving(server: LabServer, timeout: float, name: str) -> LabServer:
    """``server`` once its REST API answers; stopped, with its log, if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log_tail()}")
        try:
            server.api("/api/status")
            return server
        except (httpx.HTTPError, ValueError):
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch the system Chromium headless through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, width: int = 1280, height: int = 1000) -> Page:
    """A fresh page with a fixed viewport (screenshots comparable between runs)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    return context.new_page()


# --- driving JupyterLab ------------------------------------------------------------------

_KERNEL_IDLE_JS = """
() => {
  const app = window.jupyterapp;
  if (!app) return false;
  const w = app.shell.currentWidget;
  if (!w || !w.sessionContext || !w.sessionContext.session) return false;
  const kernel = w.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}
"""


def open_notebook(page: Page, server: LabServer, notebook: str, timeout: float = 90.0) -> None:
    """Open ``notebook`` in JupyterLab and wait until its kernel is connected and idle."""
    page.goto(server.page_url(notebook), timeout=timeout * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
    # A notebook without kernelspec metadata asks which kernel to start.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    select = page.locator(".jp-Dialog button.jp-mod-accept", has_text="Select")
    try:
        select.wait_for(timeout=2000)
        select.click()
    except PlaywrightTimeout:
        pass  # no dialog: the usual case
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout * 1000, polling=250)


def run_command(page: Page, command: str, args: Mapping[str, Any] | None = None) -> None:
    """Execute a JupyterLab command (``notebook:run-all-cells``, ...) in the page."""
    page.evaluate(
        "([c, a]) => window.jupyterapp.commands.execute(c, a)", [command, dict(args or {})]
    )


def run_all_cells(page: Page) -> None:
    run_command(page, "notebook:run-all-cells")


def wait_until_idle(page: Page, timeout: float = 120.0) -> None:
    """Wait until no cell shows ``[*]`` and the kernel is idle."""
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')];
          return prompts.every(p => !p.textContent.includes('*'));
        }""",
        timeout=timeout * 1000,
        polling=250,
    )
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout * 1000, polling=250)


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG under build/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
