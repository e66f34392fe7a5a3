"""A job browser displayed from code (``display(JobBrowser())``, or a cell ending in one)
is frozen into its snapshot like the ``%odyssey_jobs`` one, without ``%load_ext``.

Real parts: nbclient runs a notebook in a real kernel against a real engine and
saves it; a second test shuts a real kernel down under a live browser.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from support.engines import RunningEngine, launch_engine
from support.kernel import KernelSession
from support.notebooks import code_notebook

from odyssey_jupyter.client.odyssey import Odyssey

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def engine_with_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    engine = launch_engine(tmp_path_factory.mktemp("code-browser-engine"), "--workers", "2")

    async def go() -> None:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            for prompt in ("a harbour seen from code", "a lighthouse seen from code"):
                job = await client.simulate(
                    [
                        {"timestamp_ms": 0, "start": {"prompt": prompt}},
                        {"timestamp_ms": 1000, "end": {}},
                    ],
                    portrait=False,
                )
                await client.wait(job.job_id, timeout=60)

    try:
        asyncio.run(go())
        yield engine
    finally:
        engine.stop()


def _snapshot(output: dict[str, Any]) -> bool:
    html = str(output.get("data", {}).get("text/html", ""))
    return "odyssey-browser-snapshot" in html and "Snapshot taken" in html


def test_browsers_from_code_are_frozen_in_the_saved_notebook(
    engine_with_jobs: RunningEngine, tmp_path: Path
) -> None:
    sources = [
        "from odyssey_jupyter import JobBrowser\ndisplay(JobBrowser(limit=5))",
        # a newer browser freezes the one above; this one ends its cell (displayhook)
        "b = JobBrowser(limit=5)\nb",
        "b.wait(60)\nb.close()  # closed: its cell keeps the snapshot",
    ]
    nb = code_notebook(*sources)
    env = dict(
        os.environ, ODYSSEY_API_URL=engine_with_jobs.url, ODYSSEY_API_KEY=engine_with_jobs.api_key
    )
    env["ODYSSEY_HISTORY_PATH"] = str(tmp_path / "history.jsonl")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("ODYSSEY_DISPLAY", None)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=env)
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)
    reopened = nbformat.read(saved, as_version=4)
    for cell in reopened.cells[:2]:
        outputs = cell.outputs
        assert outputs and _snapshot(outputs[0]), outputs
        assert all(WIDGET_VIEW not in output.get("data", {}) for output in outputs), outputs
        html = outputs[0]["data"]["text/html"]
        assert html.count("<tr data-job-id=") == 2
        assert "Re-run this cell to make the job browser live again" in html
        assert "Snapshot taken" in outputs[0]["data"]["text/plain"]
        # a headless run shows the snapshot at once: no live browser, no folded copy
        assert len(outputs) == 1, outputs


def test_kernel_shutdown_freezes_a_browser_shown_from_code(
    engine_with_jobs: RunningEngine, tmp_path: Path
) -> None:
    env = {
        "ODYSSEY_API_URL": engine_with_jobs.url,
        "ODYSSEY_API_KEY": engine_with_jobs.api_key,
        "ODYSSEY_HISTORY_PATH": str(tmp_path / "history.jsonl"),
    }
    kernel = KernelSession(env=env, cwd=tmp_path)
    try:
        shown = kernel.check(
            "from odyssey_jupyter import JobBrowser\n"
            "b = JobBrowser(limit=5)\ndisplay(b)\nb.wait(60)"
        )
        (display_id,) = {
            m["content"]["transient"]["display_id"]
            for m in shown.messages
            if m["msg_type"] == "display_data" and WIDGET_VIEW in m["content"]["data"]
        }
        start = kernel.mark()
        kernel.manager.request_shutdown()
        frozen = kernel.wait_for(
            lambda m: (
                m["msg_type"] == "update_display_data"
                and m["content"].get("transient", {}).get("display_id") == display_id
            ),
            start=start,
            timeout=30,
        )
    finally:
        kernel.shutdown()
    assert _snapshot(frozen["content"]) and WIDGET_VIEW not in frozen["content"]["data"]
