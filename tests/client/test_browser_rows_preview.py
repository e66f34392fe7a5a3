"""The job browser's rows and previews, in-process against real engines over real HTTP.

What a row says (progress and expected length while a job renders, the stream
count of a batch, durations in the text table, "Created" kept current), what
Preview plays (every stream, autoplaying muted, chapters within the preview),
``--offset`` on the terminal table, and a cancel the server refuses (a small
scripted server answers the 400 the API gives for a job past cancelling).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from support.engines import RunningEngine, launch_engine
from support.scripted_server import Answer, ScriptedServer

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.display.browser import BrowserOutput, JobBrowser, clear_caches
from odyssey_jupyter.ipython.magic_args import parse_jobs_line
from odyssey_jupyter.session import history
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.session.runtime import get_runtime, shutdown_runtime

Script = list[dict[str, Any]]
CHAPTERS_AT = (0.0, 2.0, 6.0)
"""The long job's prompts: the third comes after the preview's first seconds."""


def timeline(prompt: str, seconds: float, *, at: tuple[float, ...] = (0.0,)) -> Script:
    entries: Script = [{"timestamp_ms": 0, "start": {"prompt": prompt}}]
    entries += [
        {"timestamp_ms": int(t * 1000), "interact": {"prompt": f"{prompt}, then {t:g} s"}}
        for t in at[1:]
    ]
    return [*entries, {"timestamp_ms": int(seconds * 1000), "end": {}}]


def submit(engine: RunningEngine, scripts: list[Script], *, wait: bool) -> str:
    """One job (a batch when several scripts) from another client, as another notebook."""

    async def go() -> str:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            if len(scripts) == 1:
                job = await client.simulate(scripts[0], portrait=False)
            else:
                job = await client.simulate(scripts=scripts, portrait=False)
            if wait:
                await client.wait(job.job_id, timeout=90)
            return job.job_id

    return asyncio.run(go())


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Jobs:
    engine: RunningEngine
    single: str
    batch: str
    long: str
    scripts: dict[str, list[Script]]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    """An engine of our own with three finished jobs: one stream, a batch of two, 8 s long."""
    engine = launch_engine(tmp_path_factory.mktemp("rows-engine"), "--workers", "2")
    try:
        scripts = {
            "single": [timeline("a single stream", 1.0)],
            "batch": [timeline("batch one", 1.0), timeline("batch two", 1.5)],
            "long": [timeline("a long walk", 8.0, at=CHAPTERS_AT)],
        }
        ids = {name: submit(engine, body, wait=True) for name, body in scripts.items()}
        yield Jobs(engine, ids["single"], ids["batch"], ids["long"], scripts)
    finally:
        engine.stop()


@pytest.fixture
def use_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[str, str], None]]:
    """Point this process (env, runtime, recordings dir, history) at an API."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(tmp_path / "history.jsonl"))
    monkeypatch.delenv("ODYSSEY_DISPLAY", raising=False)
    clear_caches()

    def use(url: str, key: str) -> None:
        monkeypatch.setenv("ODYSSEY_API_URL", url)
        monkeypatch.setenv("ODYSSEY_API_KEY", key)
        shutdown_runtime()

    yield use
    shutdown_runtime()
    clear_caches()


def make(**kwargs: Any) -> JobBrowser:
    kwargs.setdefault("auto_refresh", False)
    browser = JobBrowser(**kwargs)
    browser.wait(60)
    return browser


def record(jobs: Jobs, name: str, job_id: str) -> None:
    """As if submitted from this machine: the history knows prompt, streams and length."""
    scripts = jobs.scripts[name]
    history.record(job_id, scripts=scripts, portrait=False, api_url=jobs.engine.url)


def chapter_times(html: str) -> list[float]:
    return [float(t) for t in re.findall(r'class="odyssey-chapter" data-time="([0-9.]+)"', html)]


def video_tags(html: str) -> list[str]:
    return re.findall(r"<video [^>]*>", html)


# --------------------------------------------------------------------------- rows


def test_completed_jobs_show_their_duration_in_the_text_table(
    jobs: Jobs, use_engine: Callable[[str, str], None]
) -> None:
    use_engine(jobs.engine.url, jobs.engine.api_key)
    browser = JobBrowser(auto_refresh=False)  # caches are cold: details are still coming
    try:
        text = repr(browser)  # what a terminal prints: it waits for the durations
        header = text.splitlines()[1]
        start, end = header.index("DURATION"), header.index("FIRST PROMPT")
        durations = {line.split()[0]: line[start:end].strip() for line in text.splitlines()[2:]}
        # both streams of the batch count
        assert durations == {jobs.single: "1.0 s", jobs.batch: "2.5 s", jobs.long: "8.0 s"}
    finally:
        browser.close()


def test_a_batch_row_counts_its_streams_and_previews_every_one(
    jobs: Jobs, use_engine: Callable[[str, str], None], tmp_path: Path
) -> None:
    use_engine(jobs.engine.url, jobs.engine.api_key)
    browser = make()
    try:
        by_id = {row.job_id: row for row in browser.rows}
        assert by_id[jobs.batch].stream_count == 2
        assert (
            '<span class="odyssey-streams">2 streams</span>' in browser.row(jobs.batch).info.value
        )
        assert "streams" not in browser.row(jobs.single).info.value  # one stream: nothing
        batch_line = next(line for line in repr(browser).splitlines() if jobs.batch in line)
        assert batch_line.endswith("2 streams")  # submitted elsewhere: no prompt, the count
        browser.row(jobs.batch).preview_button.click()
        browser.wait(60)
        (output,) = browser.preview_outputs
        html = output["data"]["text/html"]
        tags = video_tags(html)
        assert len(tags) == 2, html
        for stream_dir in (tmp_path / "odyssey_recordings" / jobs.batch).iterdir():
            assert f'src="{(stream_dir / "preview.mp4").relative_to(tmp_path).as_posix()}"' in html
        assert all(" autoplay muted playsinline " in tag for tag in tags)
        assert "Previews of" in browser.view.preview.title.value
        assert "2 streams" in browser.view.preview.title.value
        assert len(output["data"]["text/plain"].splitlines()) == 2
    finally:
        browser.close()


def test_the_preview_autoplays_muted_and_lists_only_its_own_chapters(
    jobs: Jobs, use_engine: Callable[[str, str], None], tmp_path: Path
) -> None:
    use_engine(jobs.engine.url, jobs.engine.api_key)
    browser = make()
    try:
        browser.preview(jobs.long).result(60)
        html = browser.preview_outputs[0]["data"]["text/html"]
        (tag,) = video_tags(html)
        assert "autoplay muted playsinline" in tag and "preview.mp4" in tag
        (preview,) = (tmp_path / "odyssey_recordings" / jobs.long).glob("*/preview.mp4")
        length = read_mp4_info(preview).duration_seconds
        assert length is not None and CHAPTERS_AT[1] < length < CHAPTERS_AT[2]
        assert chapter_times(html) == [0.0, 2.0]  # 6 s is past the preview's end
        browser.view.preview.full_button.click()
        browser.wait(60)
        full = browser.preview_outputs[0]["data"]["text/html"]
        (tag,) = video_tags(full)
        assert "video.mp4" in tag and " autoplay " in tag and "muted" not in tag
        assert chapter_times(full) == list(CHAPTERS_AT)  # the full video keeps them all
    finally:
        browser.close()


def test_created_is_told_afresh_on_refresh_and_by_the_clock_until_closed(
    jobs: Jobs, use_engine: Callable[[str, str], None]
) -> None:
    use_engine(jobs.engine.url, jobs.engine.api_key)
    browser = make(auto_refresh=True)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    try:
        row = browser.row(jobs.single)
        assert "3 h ago" not in row.info.value
        browser._now = lambda: later
        browser.refresh().result(60)
        browser.wait(60)
        assert "3 h ago" in row.info.value  # recomputed by the refresh
        browser._now = lambda: later + timedelta(hours=2)
        browser.clock_seconds = 0.1
        refreshes = browser.refresh_count
        output = BrowserOutput.of(browser).show()  # displayed: its clock starts
        assert browser.clock_running
        wait_until(lambda: "5 h ago" in row.info.value, "the clock to re-tell Created")
        assert browser.clock_ticks >= 1
        assert browser.refresh_count == refreshes  # the clock asks the API nothing
        assert not browser.auto_refreshing  # nothing is active: no refresh timer either
        output.freeze()  # frozen (closed): the clock stops with it
        assert not browser.clock_running
        ticks = browser.clock_ticks
        time.sleep(0.5)
        assert browser.clock_ticks == ticks
    finally:
        browser.close()


def test_an_active_row_shows_progress_and_the_expected_length(
    start_engine: Callable[..., RunningEngine], use_engine: Callable[[str, str], None]
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    use_engine(engine.url, engine.api_key)
    scripts = [timeline("a slow pan", 40.0)]
    job_id = submit(engine, scripts, wait=False)
    history.record(job_id, scripts=scripts, portrait=False, api_url=engine.url)
    browser = make(auto_refresh=True, refresh_interval=0.3)
    try:

        def rendering() -> bool:
            (row,) = browser.rows
            return str(row.status) == "processing" and (row.progress or 0) > 0

        wait_until(rendering, "the job to report progress")
        html = browser.row(job_id).info.value
        assert re.search(r'<span class="odyssey-progress">[0-9]{1,2}%</span>', html), html
        assert "40.0 s expected" in html
        line = repr(browser).splitlines()[2]
        assert re.search(r"processing [0-9]{1,2}%", line) and "40.0 s expected" in line, line
        browser.cancel(job_id).result(60)
        browser.wait(60)
        (row,) = browser.rows
        assert str(row.status) == "cancelled" and row.progress is None
        assert "expected" not in browser.row(job_id).info.value
    finally:
        browser.close()


# --------------------------------------------------------------------------- --offset


def test_offset_is_checked() -> None:
    assert parse_jobs_line("--offset 40 --limit 20").offset == 40
    assert parse_jobs_line("").offset == 0
    for line, phrase in (
        ("--offset -1", "--offset must be 0 or more, not -1"),
        ("--offset two", "--offset takes a whole number (0 or more), not 'two'"),
        ("--offset 1.5", "not '1.5'"),
    ):
        with pytest.raises(UsageError, match=re.escape(phrase)):
            parse_jobs_line(line)
    with pytest.raises(ValueError, match="offset must be a whole number, 0 or more"):
        JobBrowser(offset=-3)


@pytest.fixture
def terminal(jobs: Jobs, use_engine: Callable[[str, str], None]) -> Iterator[Any]:
    """IPython's in-process test shell (a terminal: text displays) with the extension."""
    from support.shells import global_shell

    use_engine(jobs.engine.url, jobs.engine.api_key)
    ip = global_shell()  # the one test shell, whichever module started it
    ip.config.OdysseyJupyter.nest_asyncio = False
    ip.run_line_magic("load_ext", "odyssey_jupyter")
    get_runtime().configure(api_key=jobs.engine.api_key, api_url=jobs.engine.url)
    yield ip
    ip.run_line_magic("unload_ext", "odyssey_jupyter")
    del ip.config.OdysseyJupyter["nest_asyncio"]


def test_the_terminal_table_takes_an_offset(
    terminal: Any, jobs: Jobs, capsys: pytest.CaptureFixture[str]
) -> None:
    result = terminal.run_cell("%odyssey_jobs --limit 2 --offset 1")
    assert result.error_in_exec is None and result.error_before_exec is None
    out = capsys.readouterr().out
    assert out.count("Odyssey jobs: Showing 2-3 of 3") == 1, out  # once: no saved copy here
    listed = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert listed == [jobs.batch, jobs.single], out  # newest first, the newest skipped
    result = terminal.run_cell("%odyssey_jobs --offset=-2")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--offset must be 0 or more" in str(result.error_in_exec)


# --------------------------------------------------------------------------- refused cancel

REFUSED = "job_refused_0123456789"


def scripted_api(api: ScriptedServer, status_after_refusal: str) -> None:
    created = (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()
    listed = {"job_id": REFUSED, "status": "processing", "created_at": created}
    api.route("GET", "/simulation-jobs", Answer.json({"jobs": [listed], "total": 1}))
    detail = {**listed, "status": status_after_refusal, "streams": [], "progress": 0.5}
    api.route("GET", f"/simulation-jobs/{REFUSED}", Answer.json(detail))
    refusal = {"detail": "Job cannot be cancelled: it is already processing"}
    api.route("DELETE", f"/simulation-jobs/{REFUSED}", Answer.json(refusal, status=400))


def test_a_refused_cancel_says_the_job_is_already_rendering(
    use_engine: Callable[[str, str], None],
) -> None:
    with ScriptedServer() as api:
        scripted_api(api, "processing")
        use_engine(api.url, "ody_scripted_test_key_0123456789")
        browser = make()
        try:
            row = browser.row(REFUSED)
            row.cancel_button.click()
            browser.wait(30)
            row.confirm_button.click()
            browser.wait(30)
            message = browser.view.message.value
            assert "is already rendering and can no longer be cancelled" in message, message
            assert "Error" not in message and "Traceback" not in message
            assert "#b91c1c" not in message  # an answer, not in the error colour
            assert browser.last_error is None
            deletes = [
                r for r in api.requests(f"/simulation-jobs/{REFUSED}") if r.method == "DELETE"
            ]
            assert len(deletes) == 1  # asked once, not retried
            assert row.cancel_button in row.actions.children  # still processing, as shown
        finally:
            browser.close()


def test_a_refused_cancel_of_a_job_that_just_ended_says_so(
    use_engine: Callable[[str, str], None],
) -> None:
    with ScriptedServer() as api:
        scripted_api(api, "completed")
        use_engine(api.url, "ody_scripted_test_key_0123456789")
        browser = make()
        try:
            browser.cancel(REFUSED).result(30)
            browser.wait(30)
            message = browser.view.message.value
            assert f"Job <code>{REFUSED}</code> is already completed" in message
            assert "Error" not in message and browser.last_error is None
        finally:
            browser.close()
