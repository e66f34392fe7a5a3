"""The job browser in-process, against a real engine over real HTTP.

Jobs are submitted by a separate client (as another notebook would), and the
browser's buttons are driven with ``.click()``: handlers hand work to the loop
thread, and ``browser.wait()`` blocks until it is done.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import ipywidgets
import nbformat
import pytest
from nbconvert import HTMLExporter
from support.engines import RunningEngine, launch_engine
from support.scripts import script

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.display import browser as browser_module
from odyssey_jupyter.display.browser import JobBrowser
from odyssey_jupyter.display.browser.rows import caption_text, short_id, text_table
from odyssey_jupyter.protocol.types import SimulationJobDetail
from odyssey_jupyter.session import history
from odyssey_jupyter.session.runtime import shutdown_runtime


def submit(engine: RunningEngine, prompts: list[str], seconds: float = 1.0) -> list[str]:
    """Submit from another client, as another notebook or machine would."""

    async def go() -> list[str]:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            ids = []
            for prompt in prompts:
                job = await client.simulate(
                    script(seconds, prompt, interact=prompt + ", closer"), portrait=False
                )
                ids.append(job.job_id)
            return ids

    return asyncio.run(go())


def wait_all_done(engine: RunningEngine, ids: list[str], timeout: float = 60.0) -> None:
    async def go() -> None:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            for job_id in ids:
                await client.wait(job_id, timeout=timeout)

    asyncio.run(go())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEngine, list[str]]]:
    """An engine of our own holding five finished jobs (newest first in the list)."""
    engine = launch_engine(tmp_path_factory.mktemp("browser-engine"), "--workers", "2")
    try:
        ids = submit(engine, [f"scene number {i}" for i in range(5)])
        wait_all_done(engine, ids)
        yield engine, ids
    finally:
        engine.stop()


@pytest.fixture
def use_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[RunningEngine], None]]:
    """Point this process (env, runtime, recordings dir, history) at an engine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(tmp_path / "history.jsonl"))
    browser_module.clear_caches()

    def use(engine: RunningEngine) -> None:
        monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
        monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
        shutdown_runtime()

    yield use
    shutdown_runtime()


def widget_count() -> int:
    """How many widget models are alive (``Widget.widgets`` is deprecated, still right)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return len(ipywidgets.Widget.widgets)


def make(**kwargs: object) -> JobBrowser:
    kwargs.setdefault("auto_refresh", True)  # plain Python: would default to off
    browser = JobBrowser(**kwargs)  # type: ignore[arg-type]
    browser.wait(30)
    return browser


def test_lists_jobs_from_another_client_with_prompts_from_history(
    fleet: tuple[RunningEngine, list[str]], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine, ids = fleet
    use_engine(engine)
    history.record(
        ids[0],
        scripts=[
            script(1.0, "a fox from this notebook", interact="a fox from this notebook, closer")
        ],
        portrait=False,
        api_url=engine.url,
    )
    browser = make()
    try:
        assert [row.job_id for row in browser.rows] == ids[::-1]
        assert browser.caption == "Showing 1-5 of 5"
        by_id = {row.job_id: row for row in browser.rows}
        assert by_id[ids[0]].first_prompt == "a fox from this notebook"
        assert by_id[ids[1]].first_prompt is None  # submitted "elsewhere": a dash
        assert all(row.duration_seconds for row in browser.rows)  # filled from details
        first = browser.row(ids[0])
        assert first.thumb.format == "jpeg" and first.thumb.value[:2] == b"\xff\xd8"
        assert "a fox from this notebook" in first.info.value
        assert first.cancel_button not in first.actions.children  # finished: no Cancel
        assert not browser.auto_refreshing  # nothing active
        text = repr(browser)
        assert text.splitlines()[0] == "Odyssey jobs: Showing 1-5 of 5"
        assert ids[0] in text and "a fox from this notebook" in text
        html = browser._repr_html_()
        assert html.count("<tr>") == 6 and "Showing 1-5 of 5" in html
        bundle = browser._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/plain"] == text
        # a saved notebook (no widget state) exported by nbconvert shows the HTML table
        notebook = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("%odyssey_jobs")
        cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
        notebook.cells.append(cell)
        exported, _ = HTMLExporter().from_notebook_node(notebook)
        assert 'class="odyssey-jobs"' in exported and short_id(ids[0]) in exported
    finally:
        browser.close()


def test_paginates_filters_and_reuses_row_widgets(
    fleet: tuple[RunningEngine, list[str]], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine, ids = fleet
    use_engine(engine)
    browser = make(limit=2)
    try:
        assert browser.caption == "Showing 1-2 of 5"
        assert (
            browser.view.toolbar.previous_button.disabled
            and not browser.view.toolbar.next_button.disabled
        )
        before = widget_count()
        browser.view.toolbar.next_button.click()
        browser.wait(30)
        assert browser.caption == "Showing 3-4 of 5"
        assert [r.job_id for r in browser.rows] == [ids[2], ids[1]]
        browser.view.toolbar.next_button.click()
        browser.wait(30)
        assert browser.caption == "Showing 5-5 of 5"
        assert browser.view.toolbar.next_button.disabled
        assert browser.row(ids[0]).box.layout.display == "flex"
        assert sum(r.box.layout.display == "flex" for r in browser.view.rows) == 1
        browser.view.toolbar.previous_button.click()
        browser.wait(30)
        assert browser.caption == "Showing 3-4 of 5"
        for _ in range(5):
            browser.view.toolbar.refresh_button.click()
        browser.wait(30)
        assert widget_count() == before  # rows re-used, nothing new
        browser.view.toolbar.status_select.value = "failed"
        browser.wait(30)
        assert browser.rows == [] and browser.caption == "No jobs (status=failed)"
        assert repr(browser).startswith("Odyssey jobs: No jobs (status=failed)\nJOB ")
        browser.view.toolbar.status_select.value = "completed"
        browser.wait(30)
        assert browser.caption == "Showing 1-2 of 5 (status=completed)"
        browser.view.toolbar.active_toggle.value = True
        browser.wait(30)
        assert browser.rows == []
        assert browser.caption == "No jobs (status=completed, active only)"
    finally:
        browser.close()


def test_preview_downloads_then_redownloads_a_deleted_file(
    fleet: tuple[RunningEngine, list[str]],
    use_engine: Callable[[RunningEngine], None],
    tmp_path: Path,
) -> None:
    engine, ids = fleet
    use_engine(engine)
    browser = make()
    try:
        job_id = ids[1]
        browser.row(job_id).preview_button.click()
        browser.wait(60)
        (output,) = browser.preview_outputs
        html = output["data"]["text/html"]
        stream_dirs = list((tmp_path / "odyssey_recordings" / job_id).iterdir())
        assert len(stream_dirs) == 1
        preview = stream_dirs[0] / "preview.mp4"
        assert preview.is_file() and not (stream_dirs[0] / "video.mp4").exists()
        relative = preview.relative_to(tmp_path).as_posix()
        assert f'src="{relative}"' in html and "odyssey-chapter" in html
        assert browser.view.preview.full_button.layout.display != "none"
        browser.view.preview.full_button.click()
        browser.wait(60)
        video = stream_dirs[0] / "video.mp4"
        assert video.is_file()
        html = browser.preview_outputs[0]["data"]["text/html"]
        assert f'src="{video.relative_to(tmp_path).as_posix()}"' in html
        assert "http://" not in html
        video.unlink()  # a cleaned folder: Preview asks for a fresh recording
        browser.preview(job_id, full=True).result(60)
        browser.wait(60)
        assert video.is_file()
        browser.view.preview.close_button.click()
        browser.wait(30)
        assert browser.preview_outputs == ()
    finally:
        browser.close()


def test_load_puts_a_job_handle_in_the_namespace(
    fleet: tuple[RunningEngine, list[str]], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine, ids = fleet
    use_engine(engine)
    namespace: dict[str, object] = {}
    browser = make(namespace=namespace)
    try:
        browser.row(ids[3]).load_button.click()
        browser.wait(30)
        name = f"job_{short_id(ids[3])}"
        job = namespace[name]
        assert getattr(job, "job_id", None) == ids[3]
        assert f"Job.from_id(&quot;{ids[3]}&quot;)" in browser.view.message.value
    finally:
        browser.close()


def test_cancel_asks_first_and_auto_refresh_stops_when_nothing_is_active(
    start_engine: Callable[..., RunningEngine], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    use_engine(engine)
    (job_id,) = submit(engine, ["a long slow pan"], seconds=30)
    browser = make(refresh_interval=0.3)
    try:
        assert browser.rows[0].is_active
        assert browser.auto_refreshing
        row = browser.row(job_id)
        assert row.cancel_button in row.actions.children
        row.cancel_button.click()
        browser.wait(30)
        assert row.actions.children == (row.confirm_button, row.keep_button)
        row.keep_button.click()
        browser.wait(30)
        assert row.cancel_button in row.actions.children
        row.cancel_button.click()
        browser.wait(30)
        row.confirm_button.click()
        browser.wait(30)
        assert str(browser.rows[0].status) == "cancelled"
        deadline = time.monotonic() + 20
        while browser.auto_refreshing and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not browser.auto_refreshing
    finally:
        browser.close()


def test_close_releases_every_widget(
    fleet: tuple[RunningEngine, list[str]], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine, _ids = fleet
    use_engine(engine)
    before = widget_count()
    browser = make(limit=3)
    assert widget_count() > before
    browser.close()
    assert widget_count() == before


def test_close_stops_auto_refresh(
    start_engine: Callable[..., RunningEngine], use_engine: Callable[[RunningEngine], None]
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    use_engine(engine)
    submit(engine, ["a very slow sunrise"], seconds=30)
    browser = make(refresh_interval=0.2)
    assert browser.auto_refreshing
    browser.close()
    time.sleep(0.5)
    count = browser.refresh_count
    time.sleep(0.6)
    assert not browser.auto_refreshing and browser.refresh_count == count


def test_limit_is_checked() -> None:
    with pytest.raises(ValueError, match="between 1 and 100"):
        JobBrowser(limit=0)


def test_captions_and_short_ids() -> None:
    assert caption_text(143, 20, 20) == "Showing 21-40 of 143"
    assert caption_text(0, 0, 0, "active only") == "No jobs (active only)"
    # an empty page (e.g. --active once everything finished) is the caption and the header
    assert text_table([], "No jobs") == "No jobs\nJOB  STATUS  CREATED  DURATION  FIRST PROMPT"
    assert short_id("job_0123456789abcdef") == "01234567"
    assert short_id("3f2a9c1e-77aa-4b1e-9f00-000000000000") == "3f2a9c1e"
    assert isinstance(SimulationJobDetail, type)  # types are importable alongside the browser
