"""The notebooks: committed clean, and each one runs top to bottom in a real kernel.

Execution uses nbclient against the session's local engine (ODYSSEY_API_URL /
ODYSSEY_API_KEY), with the kernel's working directory a temporary folder, and
ODYSSEY_WAIT=1 as in any headless run. The executed quick start is also exported the
way ``make demo`` does it, and the exported page's video is played in Chromium.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine
from support.leaks import BEARER_TOKEN

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = {"quickstart.ipynb", "seed_examples.ipynb", "job_browser.ipynb"}


def _tool(name: str) -> ModuleType:
    """Import tools/<name>.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- committed state ------------------------------------------------------------------------


def test_all_notebooks_are_there() -> None:
    assert {path.name for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    """Outputs, execution counts and widget state never get committed."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "notebook metadata holds widget state"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {index}: outputs")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {index}: execution_count")
        if "execution" in cell.metadata or "widgets" in cell.metadata:
            dirty.append(f"cell {index}: run metadata")
    assert not dirty, f"{path.name} was committed with run results: {dirty}"


def test_seed_notebook_matches_the_guide_examples() -> None:
    """seed_examples.ipynb is generated from tests/guide_examples/*.py and must not drift."""
    maker = _tool("make_seed_notebook")
    expected = maker.render(maker.build_notebook())
    current = (REPO / "notebooks" / "seed_examples.ipynb").read_text(encoding="utf-8")
    assert current == expected, "run: .venv/bin/python tools/make_seed_notebook.py"
    nb = nbformat.reads(current, as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert code[0] == "%load_ext odyssey_jupyter"
    assert all("asyncio.run(" in source for source in code[1:])


# --- execution --------------------------------------------------------------------------------


@dataclass
class Executed:
    workdir: Path
    nb: Any
    html: Path | None = None


def _run(engine: RunningEngine, name: str, workdir: Path) -> Executed:
    demo = _tool("run_demo")
    env = dict(os.environ)
    env.update(
        ODYSSEY_API_URL=engine.url,
        ODYSSEY_API_KEY=engine.api_key,
        ODYSSEY_WAIT="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("ODYSSEY_LOCAL_DATA_DIR", None)
    nb = demo.execute(REPO / "notebooks" / name, workdir, env)
    return Executed(workdir, nb)


def _outputs(nb: Any) -> str:
    """Every output of every cell as one string (for 'does it mention X' checks)."""
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


@pytest.fixture(scope="module")
def quickstart(engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """quickstart.ipynb executed once for the module, exported like ``make demo`` does."""
    run = _run(engine, "quickstart.ipynb", tmp_path_factory.mktemp("quickstart"))
    run.html = run.workdir / "quickstart.html"
    _tool("run_demo").export_html(run.nb, run.html)
    return run


@pytest.mark.kernel
@pytest.mark.slow
def test_quickstart_follows_the_3_s_advice_except_where_it_says_why(quickstart: Executed) -> None:
    """Only the dry-run cell, whose text explains it, shows a warning; it names line 4."""
    warned = [
        cell.source.splitlines()[0]
        for cell in quickstart.nb.cells
        if cell.cell_type == "code" and "odyssey-warnings" in json.dumps(cell.get("outputs", []))
    ]
    assert warned == ["%%odyssey_simulate --dry-run"], warned
    outputs = _outputs(quickstart.nb)
    assert "line 4: the interact comes 1.5 s after the prompt on line 3" in outputs


@pytest.mark.kernel
@pytest.mark.slow
def test_quickstart_executes(quickstart: Executed) -> None:
    outputs = _outputs(quickstart.nb)
    assert "odyssey-player" in outputs and "odyssey-chapter" in outputs
    assert "odyssey-dry-run" in outputs or "odyssey-timeline" in outputs
    videos = sorted(quickstart.workdir.glob("odyssey_recordings/*/*/video.mp4"))
    # timeline + landscape + image + a batch of two
    assert len(videos) >= 5, videos
    assert all(video.stat().st_size > 0 for video in videos)
    assert (quickstart.workdir / "sketch.png").is_file()
    views = [
        o
        for c in quickstart.nb.cells
        for o in c.get("outputs", [])
        if WIDGET_VIEW in o.get("data", {})
    ]
    assert views == []  # a headless run saves what any exporter shows, no widget views
    assert quickstart.html is not None
    page = quickstart.html.read_text(encoding="utf-8")
    assert 'src="odyssey_recordings/' in page
    # the job browser is its dated snapshot, each finished job with its length
    assert '<div class="odyssey-browser-snapshot"><table class="odyssey-jobs"' in page
    # (the engine is shared with other tests: only completed jobs need a length)
    completed = re.findall(
        r'odyssey-status-completed".*?<span class="odyssey-duration"[^>]*>([^<]*)</span>', page
    )
    assert len(completed) >= 4 and "—" not in completed, completed


@pytest.mark.kernel
@pytest.mark.slow
def test_the_saved_notebook_and_page_hold_no_secret(
    quickstart: Executed, engine: RunningEngine
) -> None:
    """Outputs, widget state and the exported page: neither the key nor a bearer token."""
    assert quickstart.html is not None
    saved = {
        "notebook": nbformat.writes(quickstart.nb),
        "page": quickstart.html.read_text(encoding="utf-8"),
        "history": "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in quickstart.workdir.rglob("*.jsonl")
        ),
    }
    assert len(saved["notebook"]) > 10_000  # the outputs are really there
    for where, text in saved.items():
        assert engine.api_key not in text, f"the API key is in the {where}"
        assert not BEARER_TOKEN.search(text), f"a bearer token is in the {where}"


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("name", ["seed_examples.ipynb", "job_browser.ipynb"])
def test_notebook_executes(engine: RunningEngine, tmp_path: Path, name: str) -> None:
    run = _run(engine, name, tmp_path)
    errors = [
        output
        for cell in run.nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    if name == "seed_examples.ipynb":
        text = _outputs(run.nb)
        assert "Simulation ID" in text


# --- the exported page in a browser ------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.kernel
@pytest.mark.slow
def test_exported_page_plays_its_video(quickstart: Executed) -> None:
    lab.need_browser()
    assert quickstart.html is not None
    with lab.chromium() as browser:
        page = lab.new_page(browser)
        page.goto(quickstart.html.as_uri())
        video = page.locator("video").first
        video.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }",
            timeout=30_000,
        )
        duration = page.evaluate("() => document.querySelector('video').duration")
        assert duration > 0
        page.evaluate("() => document.querySelector('video').play()")
        page.wait_for_function(
            "() => document.querySelector('video').currentTime > 0", timeout=30_000
        )
        lab.screenshot(page, "demo_page")
        page.context.close()


def _offline_page(page: Any) -> list[str]:
    """Block every request to a host other than loopback; returns the list of failures."""
    failures: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        host = url.split("/")[2].rsplit(":", 1)[0] if "://" in url else ""
        if url.startswith(("file:", "data:")) or host in ("127.0.0.1", "localhost", "[::1]"):
            request_route.continue_()
        else:
            request_route.abort("internetdisconnected")

    def failed(request: Any) -> None:
        # A media element cancelling its own first range request is not a failure.
        if request.failure != "net::ERR_ABORTED" or request.resource_type != "media":
            failures.append(f"{request.url} {request.failure}")

    page.route("**/*", route)
    page.on("requestfailed", failed)
    return failures


def _videos_ready(page: Any, timeout: float = 30.0) -> list[int]:
    page.evaluate("() => document.querySelectorAll('video').forEach(v => v.scrollIntoView())")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)",
        timeout=timeout * 1000,
        polling=200,
    )
    return list(
        page.evaluate("() => [...document.querySelectorAll('video')].map(v => v.readyState)")
    )


@pytest.mark.browser
@pytest.mark.kernel
@pytest.mark.slow
def test_exported_page_works_offline(quickstart: Executed, tmp_path: Path) -> None:
    """The demo page with every non-loopback request blocked: all videos, all outcomes."""
    lab.need_browser()
    assert quickstart.html is not None
    page_text = quickstart.html.read_text(encoding="utf-8")
    for cdn in ("require.js", "require.min.js", "MathJax", "mathjax", "embed-amd", "unpkg.com"):
        assert cdn not in page_text, f"the demo page still loads {cdn}"
    # A plain `nbconvert --to html` export of the same run, next to the recordings.
    from nbconvert import HTMLExporter

    plain = quickstart.workdir / "plain-export.html"
    plain.write_text(HTMLExporter().from_notebook_node(quickstart.nb)[0], encoding="utf-8")
    job_cells = sum(
        1 for cell in quickstart.nb.cells if cell.source.lstrip().startswith("%%odyssey_simulate")
    )
    with lab.chromium() as browser:
        for path, strict in ((quickstart.html, True), (plain, False)):
            page = lab.new_page(browser)
            failures = _offline_page(page)
            page.goto(path.as_uri())
            ready = _videos_ready(page)
            assert len(ready) >= 5 and all(state >= 2 for state in ready), ready
            outcomes = page.locator(".odyssey-final").count()
            # every submitted job shows its outcome (the dry run has none)
            assert outcomes >= job_cells - 1, (outcomes, job_cells)
            assert page.locator("text=Error displaying widget").count() == 0
            print(f"{path.name}: {len(ready)} videos ready, {len(failures)} failed requests")
            if strict:
                assert failures == [], failures
                lab.screenshot(page, "demo_page_offline", full_page=True)
            page.context.close()
