"""A headless run exported by the stock nbconvert exporters shows every job.

Real parts: nbclient executes a notebook in a real kernel against a real local
engine (jobs with and without ``--wait``, a job browser, a last job nobody waited
for), then nbconvert's own exporters, with their stock templates, turn it into
HTML (lab and classic) and Markdown. (``--to webpdf`` prints the lab page with
Playwright's own downloaded Chromium; it is not exercised here.)
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient
from support.engines import RunningEngine, launch_engine
from support.notebooks import code_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DRAWN_AS_WIDGET = f'<script type="{WIDGET_VIEW}">'
"""How nbconvert puts an output it draws as a widget (offline: nothing shows)."""


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    engine: RunningEngine = launch_engine(tmp_path_factory.mktemp("export-engine"))
    workdir = tmp_path_factory.mktemp("export")
    sources = (
        "%load_ext odyssey_jupyter\n%config OdysseyJupyter.poll_interval_max = 0.5",
        "%%odyssey_simulate -o early\n0s start A quiet harbour at dawn\n1s end",
        "%odyssey_jobs --limit 5",
        "early.wait(60)\nprint('later cell done')",  # the job above ends while this runs
        "%%odyssey_simulate -o last\n0s start The very last cell, never waited for\n1s end",
    )
    nb = code_notebook(*sources)
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    env.update(ODYSSEY_WAIT="", ODYSSEY_HISTORY_PATH=str(workdir / "history.jsonl"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("ODYSSEY_DISPLAY", None)
    try:
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        )
        client.execute(env=env)  # stores widget state, as nbclient does by default
    finally:
        engine.stop()
    yield nb, workdir


def _export(exporter: Any, nb: Any, workdir: Path) -> str:
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"path": str(workdir)}})
    return str(body)


def _html(nb: Any, workdir: Path, template: str) -> str:
    from nbconvert import HTMLExporter

    return _export(HTMLExporter(template_name=template), nb, workdir)


def _markdown(nb: Any, workdir: Path) -> str:
    from nbconvert import MarkdownExporter

    return _export(MarkdownExporter(), nb, workdir)


def _job_id(nb: Any, needle: str) -> str:
    cell = next(c for c in nb.cells if needle in c.source)
    found = re.search(r"Odyssey job ([0-9a-f-]{36})", cell.outputs[0]["data"]["text/plain"])
    assert found, cell.outputs
    return found.group(1)


def test_the_saved_notebook_holds_no_widget_view(executed: tuple[Any, Path]) -> None:
    nb, _ = executed
    views = [o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    assert views == []


@pytest.mark.parametrize("export", ["lab", "classic", "markdown"])
def test_every_stock_exporter_shows_every_job(executed: tuple[Any, Path], export: str) -> None:
    nb, workdir = executed
    page = _markdown(nb, workdir) if export == "markdown" else _html(nb, workdir, export)
    early = _job_id(nb, "-o early")
    assert DRAWN_AS_WIDGET not in page
    # the job that ended during a later cell: its outcome and its player
    assert early in page and "completed in" in page
    assert f'src="odyssey_recordings/{early}/' in page and "<video" in page
    # the job browser: its complete page, dated
    assert "Snapshot taken" in page and "odyssey-browser-snapshot" in page
    # the last job, still under way when the run ended: a dated snapshot that names it
    last = _job_id(nb, "-o last")
    assert re.search(r"Snapshot of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page), page[-3000:]
    assert "Job.from_id(" in page and last in page
    shown = re.sub(
        r'<script type="application/vnd.jupyter.widget-state\+json">.*?</script>',
        "",
        page,
        flags=re.S,
    )
    assert "just now" not in shown  # saved times are absolute
