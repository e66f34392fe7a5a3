"""Headless runs (nbclient, as papermill and ``jupyter execute`` use it) keep every job.

Real parts: nbclient drives a real kernel against a real local engine (one engine
of this module's own, so its job list holds only these notebooks' jobs); a fault
proxy slows or stalls the POST where the test needs a submission still in flight
when the kernel is told to shut down.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient
from support.engines import RunningEngine, launch_engine
from support.faultproxy import FaultProxy
from support.notebooks import code_notebook

from odyssey_jupyter.client.odyssey import Odyssey

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# a PNG signature (the client sniffs it) over bytes the engine cannot decode: the job fails
BROKEN_IMAGE = "data:image/png;base64,iVBORw0KGgpub3QgcmVhbGx5IGEgcGljdHVyZQ=="


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    running = launch_engine(tmp_path_factory.mktemp("headless-engine"), "--workers", "2")
    yield running
    running.stop()


def _run(
    nb: Any, workdir: Path, url: str, key: str, stderr: Path | None = None, display: str = ""
) -> Any:
    """Execute ``nb``; ``display="widget"`` makes the kernel act as if a person watched."""
    env = dict(os.environ, ODYSSEY_API_URL=url, ODYSSEY_API_KEY=key, ODYSSEY_WAIT="")
    env["ODYSSEY_HISTORY_PATH"] = str(workdir / "history.jsonl")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("ODYSSEY_DISPLAY", None)
    if display:
        env["ODYSSEY_DISPLAY"] = display
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    if stderr is None:
        client.execute(env=env)
    else:
        with stderr.open("wb") as sink:
            client.execute(env=env, stderr=sink)
    return nb


def _listed(engine: RunningEngine) -> list[Any]:
    async def go() -> list[Any]:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            return list((await client.list_simulations(limit=100)).jobs)

    return asyncio.run(go())


def _prompts(engine: RunningEngine, workdir: Path) -> set[str]:
    """First prompts of the engine's jobs, from the kernel's local history file."""
    ids = {job.job_id for job in _listed(engine)}
    found = set()
    for path in workdir.rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("job_id") in ids and entry.get("prompt"):
                found.add(entry["prompt"])
    return found


@pytest.fixture(scope="module")
def executed(own_engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One notebook: jobs with and without --wait, a failed one, two browsers, a last job."""
    workdir = tmp_path_factory.mktemp("headless")
    broken = (
        f'[{{"timestamp_ms": 0, "start": {{"prompt": "a broken picture", "image": '
        f'"{BROKEN_IMAGE}"}}}}, {{"timestamp_ms": 1000, "end": {{}}}}]'
    )
    nb = code_notebook(
        "%load_ext odyssey_jupyter\n%config OdysseyJupyter.poll_interval_max = 0.5",
        "%%odyssey_simulate -o nowait\n0s start A quiet harbour at dawn\n1s end",
        "%%odyssey_simulate --wait -o waited\n0s start A lighthouse in a storm\n1s end",
        f"%%odyssey_simulate -o broken\n{broken}",
        "%odyssey_jobs --limit 10",
        # a later cell runs while the jobs above end (it waits on them: no fixed sleep)
        "nowait.wait(60)\nbroken.wait(60)\nprint('later cell done')",
        "%odyssey_jobs --limit 10",
        "%%odyssey_simulate -o last\n0s start The very last cell, never waited for\n1s end",
    )
    return _run(nb, workdir, own_engine.url, own_engine.api_key), workdir


def _cell_outputs(nb: Any, needle: str) -> list[dict[str, Any]]:
    cell = next(c for c in nb.cells if needle in c.source)
    return list(cell.get("outputs", []))


def test_a_job_ending_while_a_later_cell_runs_leaves_its_final_output(executed: Any) -> None:
    nb, _ = executed
    outputs = _cell_outputs(nb, "-o nowait")
    assert len(outputs) == 1, outputs
    data = outputs[0]["data"]
    assert WIDGET_VIEW not in data
    assert "<video" in data["text/html"] and "odyssey-final" in data["text/html"]
    assert "odyssey-status-completed" in data["text/html"]
    assert "completed in" in data["text/plain"]


def test_wait_shows_one_output_and_the_id_once(executed: Any) -> None:
    nb, _ = executed
    outputs = _cell_outputs(nb, "--wait -o waited")
    assert len(outputs) == 1, outputs
    data = outputs[0]["data"]
    assert WIDGET_VIEW not in data and "<video" in data["text/html"]
    job_id = outputs[0]["data"]["text/html"].split('data-job-id="')[1].split('"')[0]
    # once as the id; the file paths under odyssey_recordings/<id>/ are the only others
    assert data["text/html"].count(f">{job_id}<") == 1
    assert data["text/plain"].splitlines()[0].count(job_id) == 2  # id + "files in .../<id>"


def test_a_failed_job_shows_its_error(executed: Any) -> None:
    nb, _ = executed
    outputs = _cell_outputs(nb, "-o broken")
    assert len(outputs) == 1, outputs
    data = outputs[0]["data"]
    assert WIDGET_VIEW not in data
    assert "odyssey-status-failed" in data["text/html"] and "cannot be decoded" in data["text/html"]
    assert "failed after" in data["text/plain"] and "cannot be decoded" in data["text/plain"]


def test_a_headless_browser_is_a_dated_snapshot(executed: Any) -> None:
    """Nobody watches a headless run: each browser is saved as its complete page, dated."""
    nb, _ = executed
    for cell in (c for c in nb.cells if "%odyssey_jobs" in c.source):
        (output,) = cell["outputs"]
        data = output["data"]
        assert WIDGET_VIEW not in data
        assert "Snapshot taken" in data["text/html"] and "Re-run this cell" in data["text/html"]
        assert "odyssey-browser-snapshot" in data["text/html"]
        assert "<tr data-job-id=" in data["text/html"]
        assert "Snapshot taken" in data["text/plain"] and " UTC" in data["text/plain"]
        assert "just now" not in data["text/plain"] and "ago" not in data["text/html"]


def test_a_headless_job_opens_no_widget(own_engine: RunningEngine, tmp_path: Path) -> None:
    """Nobody sees a widget there: no comm is opened, so no widget state is saved."""
    nb = code_notebook(
        "%load_ext odyssey_jupyter",
        "%%odyssey_simulate -o quiet\n0s start A quiet pond at noon\n1s end",
        "quiet.wait(60)",
    )
    _run(nb, tmp_path, own_engine.url, own_engine.api_key)
    assert "widgets" not in nb.metadata, nb.metadata.get("widgets")
    (output,) = _cell_outputs(nb, "-o quiet")
    assert "odyssey-final" in output["data"]["text/html"]


def test_the_last_cell_without_wait_still_creates_its_job(
    executed: Any, own_engine: RunningEngine
) -> None:
    _, workdir = executed
    prompts = _prompts(own_engine, workdir)
    assert "The very last cell, never waited for" in prompts, prompts
    assert len(_listed(own_engine)) >= 4


def test_a_slow_submission_is_finished_before_the_kernel_exits(
    own_engine: RunningEngine, tmp_path: Path
) -> None:
    """The POST answers 1.5 s late, after nbclient has already asked the kernel to stop.

    As in a watched frontend, whose cells do not wait for the submission.
    """
    with FaultProxy(own_engine.url, delay=1.5) as proxy:
        nb = code_notebook(
            "%load_ext odyssey_jupyter",
            "%%odyssey_simulate -o slow\n0s start A submission that answers late\n1s end",
        )
        stderr = tmp_path / "kernel-stderr.txt"
        _run(nb, tmp_path, proxy.url, own_engine.api_key, stderr=stderr, display="widget")
        posts = proxy.count(method="POST", path="/simulation-jobs")
    said = stderr.read_text(errors="replace")
    assert posts == 1, said
    assert "finishing 1 submission(s)" in said and "submitted 1 job(s)" in said, said
    assert "NOT submitted" not in said


def test_a_submission_that_cannot_finish_is_reported_on_stderr(
    own_engine: RunningEngine, tmp_path: Path
) -> None:
    with FaultProxy(own_engine.url, stall_seconds=60) as proxy:
        proxy.add_rule(sequence=["stall"] * 5, method="POST", path="/simulation-jobs")
        nb = code_notebook(
            "%load_ext odyssey_jupyter\n%config OdysseyJupyter.finish_submissions_timeout = 1",
            "%%odyssey_simulate\n0s start A prompt nobody will ever see rendered\n1s end",
        )
        stderr = tmp_path / "kernel-stderr.txt"
        _run(nb, tmp_path, proxy.url, own_engine.api_key, stderr=stderr)
    said = stderr.read_text(errors="replace")
    assert "job NOT submitted: 'A prompt nobody will ever see rendered'" in said, said


def test_kernel_shutdown_freezes_live_outputs(tmp_path: Path) -> None:
    """A job still running and a live browser keep their last state when the kernel stops."""
    from support.kernel import KernelSession

    slow = launch_engine(tmp_path / "realtime", "--pace", "realtime", "--workers", "1")
    try:
        env = {"ODYSSEY_API_URL": slow.url, "ODYSSEY_API_KEY": slow.api_key, "ODYSSEY_WAIT": ""}
        kernel = KernelSession(env=env, cwd=tmp_path)
        try:
            kernel.check("%load_ext odyssey_jupyter")
            kernel.check("%%odyssey_simulate -o running\n0s start A long slow pan\n30s end")
            kernel.check("running.runtime.run(running._submitted(), timeout=30)")
            kernel.check("%odyssey_jobs --limit 5")
            start = kernel.mark()
            kernel.manager.request_shutdown()
            frozen = kernel.wait_for(
                lambda m: (
                    m["msg_type"] == "update_display_data"
                    and "odyssey-last-state" in m["content"]["data"].get("text/html", "")
                ),
                start=start,
                timeout=30,
            )
            snapshot = kernel.wait_for(
                lambda m: (
                    m["msg_type"] == "update_display_data"
                    and "Snapshot taken" in m["content"]["data"].get("text/html", "")
                ),
                start=start,
                timeout=30,
            )
        finally:
            kernel.shutdown()
    finally:
        slow.stop()
    data = frozen["content"]["data"]
    assert WIDGET_VIEW not in data and WIDGET_VIEW not in snapshot["content"]["data"]
    assert "Job.from_id(" in data["text/plain"] and "submitting" not in data["text/plain"]


def test_the_local_engine_notice_is_an_information_line(tmp_path: Path) -> None:
    """Without a key the kernel starts its own engine and says so in a small line, not stderr."""
    from odyssey_jupyter.local.launch.manage import stop_engine

    data_dir = tmp_path / "engine"
    nb = code_notebook(
        "%load_ext odyssey_jupyter",
        "%%odyssey_simulate --wait\n0s start A lighthouse on the local engine\n1s end",
    )
    env = dict(os.environ, ODYSSEY_LOCAL_DATA_DIR=str(data_dir), ODYSSEY_WAIT="")
    for name in ("ODYSSEY_API_KEY", "ODYSSEY_API_URL", "ODYSSEY_DISPLAY"):
        env.pop(name, None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["ODYSSEY_HISTORY_PATH"] = str(tmp_path / "history.jsonl")
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute(env=env)
    finally:
        stop_engine(data_dir)
    outputs = nb.cells[1].outputs
    streams = [o for o in outputs if o.get("output_type") == "stream"]
    assert not any("Using the local Odyssey engine" in o.get("text", "") for o in streams)
    notices = [
        o
        for o in outputs
        if "odyssey-notice" in o.get("data", {}).get("text/html", "")
        and "Using the local Odyssey engine at http://127.0.0.1:" in o["data"]["text/plain"]
    ]
    assert len(notices) == 1, outputs
    assert any("odyssey-final" in o.get("data", {}).get("text/html", "") for o in outputs)
