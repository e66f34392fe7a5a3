"""Sweeps in a real kernel: the magic, its dry run, the live-then-final output, SIGKILL resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.engine_http import ActiveSampler, server_jobs
from support.engines import RunningEngine, launch_engine
from support.kernel import KernelSession
from support.leaks import BEARER_TOKEN
from support.notebooks import code_notebook
from support.waiting import wait_until

pytestmark = pytest.mark.kernel

BODY = "0s start a {style} lantern, take {seed}\n1s end"


@pytest.fixture(scope="module")
def capped_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    running = launch_engine(
        tmp_path_factory.mktemp("engine"), "--workers", "2", "--max-queued", "5"
    )
    yield running
    running.stop()


def start_kernel(engine: RunningEngine, cwd: Path) -> KernelSession:
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_WAIT": "0",
        "ODYSSEY_DISPLAY": "",
        "ODYSSEY_HISTORY_PATH": str(cwd / "history.jsonl"),
    }
    session = KernelSession(env=env, cwd=cwd)
    session.check("%load_ext odyssey_jupyter")
    return session


def no_secrets(session: KernelSession, engine: RunningEngine) -> None:
    leaks = [raw for raw in session.iter_raw() if engine.api_key in raw or BEARER_TOKEN.search(raw)]
    assert not leaks, f"a secret appeared in {len(leaks)} kernel message(s)"


def test_the_magic_dry_runs_then_runs_a_sweep_under_the_cap(
    capped_engine: RunningEngine, tmp_path: Path
) -> None:
    session = start_kernel(capped_engine, tmp_path)
    try:
        session.check("params = {'seed': list(range(8))}\nstyle = 'ink'")
        dry = session.check(f"%%odyssey_simulate --sweep params --name lanterns --dry-run\n{BODY}")
        text = "\n".join([*dry.text_plain(), dry.stdout()])
        assert "8 items, 8 jobs, 8 s of video" in text
        assert "item 0 (seed=0)" in text and "ink lantern, take 0" in text
        assert not (tmp_path / "odyssey_recordings" / "sweeps").exists()  # nothing written
        bad = session.execute(
            f"%%odyssey_simulate --sweep params --name x --dry-run\n{BODY} {{tint}}"
        )
        assert (
            bad.error is not None
            and "tint" in bad.error["evalue"]
            and "item 0" in bad.error["evalue"]
        )
        session.check("import os")  # a placeholder inserts a value, never the environment
        leak = session.execute(
            "%%odyssey_simulate --sweep params --name x --dry-run\n0s start {os.environ}\n1s end"
        )
        assert leak.error is not None and "{os.environ}" in leak.error["evalue"]
        python_body = (
            "[{'timestamp_ms': 0, 'start': {'prompt': f'{style} take {seed}'}},\n"
            " {'timestamp_ms': 1000, 'end': {}}]"
        )  # the cell its user wrote may still be Python
        cell = session.check(f"%%odyssey_simulate --sweep params --name x --dry-run\n{python_body}")
        assert "ink take 0" in "\n".join([*cell.text_plain(), cell.stdout()])
        start = session.mark()
        with ActiveSampler(capped_engine) as sampler:
            run = session.check(
                f"%%odyssey_simulate --sweep params --name lanterns --wait -o sw\n{BODY}",
                timeout=240,
            )
        assert run.ok
        assert sampler.peak <= 5
        counts = json.loads(session.check("import json; print(json.dumps(sw.counts))").stdout())
        assert counts["completed"] == 8 and counts["total"] == 8
        # the live output was replaced in place by a static final one (summary + gallery)
        updates = [
            m
            for m in session.since(start)
            if m["msg_type"] == "update_display_data"
            and "lanterns" in m["content"]["data"].get("text/plain", "")
        ]
        assert updates, "no final output replaced the live display"
        final_html = updates[-1]["content"]["data"]["text/html"]
        assert "odyssey-gallery" in final_html and final_html.count("<video") == 8
        made = {j["job_id"] for j in server_jobs(capped_engine)}
        results = json.loads(
            session.check("print(json.dumps([r['job_id'] for r in sw.results()]))").stdout()
        )
        assert set(results) <= made and len(set(results)) == 8
        no_secrets(session, capped_engine)
    finally:
        session.shutdown()


def ledger_completed(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(str(path), timeout=5)
    try:
        row = db.execute("SELECT COUNT(*) FROM items WHERE state = 'completed'").fetchone()
        return int(row[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_a_sweep_resumes_after_sigkill_of_its_kernel(start_engine: object, tmp_path: Path) -> None:
    engine = start_engine("--workers", "2")  # type: ignore[operator]
    first = start_kernel(engine, tmp_path)
    try:
        pid = int(first.check("import os; print(os.getpid())").stdout().strip())
        first.check(
            "from odyssey_jupyter import sweep\n"
            f"s = sweep({BODY!r}, {{'style': ['ink', 'oil'], 'seed': list(range(6))}}, "
            "name='restart', max_in_flight=2)"
        )
        ledger = tmp_path / "odyssey_recordings" / "sweeps" / "restart.sqlite"
        wait_until(lambda: ledger_completed(ledger) >= 3, timeout=120)
        os.kill(pid, signal.SIGKILL)
    finally:
        first.shutdown()
    assert ledger_completed(ledger) < 12
    second = start_kernel(engine, tmp_path)
    try:
        out = second.check(
            "import json\nfrom odyssey_jupyter import Sweep\n"
            "s = Sweep.open('restart')\nc = s.wait(240)\n"
            "print(json.dumps({'counts': c, 'ids': [r['job_id'] for r in s.results()]}))",
            timeout=300,
        )
        result = json.loads(out.stdout().strip().splitlines()[-1])
    finally:
        second.shutdown()
    assert result["counts"]["completed"] == 12
    on_server = {j["job_id"] for j in server_jobs(engine)}
    assert set(result["ids"]) == on_server and len(on_server) == 12  # no duplicate, none lost


def test_the_live_display_buttons_pause_and_resume(
    capped_engine: RunningEngine, tmp_path: Path
) -> None:
    session = start_kernel(capped_engine, tmp_path)
    try:
        session.check("params = {'seed': list(range(6))}\nstyle = 'oil'")
        start = session.mark()
        session.check(
            f"%%odyssey_simulate --sweep params --name buttons --max-in-flight 1 -o sw\n{BODY}"
        )
        session.wait_for(
            lambda m: (
                m["msg_type"] == "comm_open"
                and m["content"]["data"].get("state", {}).get("description") == "Pause"
            ),
            start=start,
            timeout=30,
        )
        states = session.widget_states(start)
        button = {s.get("description"): cid for cid, s in states.items() if "description" in s}
        session.click(button["Pause"])
        paused = session.check(
            "c = sw.wait(60)\nprint(sw.state, c['pending'] > 0, c['completed'] < 6)", timeout=90
        )
        assert paused.stdout().split() == ["paused", "True", "True"]
        session.click(button["Resume"])
        done = session.check("c = sw.wait(120)\nprint(sw.state, c['completed'])", timeout=150)
        assert done.stdout().split() == ["done", "6"]
        session.wait_for(
            lambda m: (
                m["msg_type"] == "update_display_data"
                and "buttons" in m["content"]["data"].get("text/plain", "")
            ),
            start=start,
            timeout=30,
        )
    finally:
        session.shutdown()


def _execute_headless(
    engine: RunningEngine, workdir: Path, monkeypatch: pytest.MonkeyPatch, *cells: str
) -> Any:
    """Run ``cells`` with nbclient (nobody watching) after loading the extension and
    defining two ``params``; the executed notebook."""
    from nbclient import NotebookClient

    for key, value in {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_HISTORY_PATH": str(workdir / "history.jsonl"),
        "ODYSSEY_DISPLAY": "",
        "ODYSSEY_WAIT": "",
    }.items():
        monkeypatch.setenv(key, value)
    nb = code_notebook(
        "%load_ext odyssey_jupyter",
        "params = [{'style': 'ink', 'seed': 1}, {'style': 'oil', 'seed': 2}]",
        *cells,
    )
    NotebookClient(nb, timeout=240, resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def test_a_saved_notebook_keeps_the_final_sweep_output(
    capped_engine: RunningEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executed headless (nbclient) and saved: the sweep's cell holds the static final output."""
    import nbformat

    nb = _execute_headless(
        capped_engine,
        tmp_path,
        monkeypatch,
        f"%%odyssey_simulate --sweep params --name saved --wait\n{BODY}",
    )
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    cell = nbformat.read(path, as_version=4).cells[2]
    shown = [o for o in cell.outputs if o.get("output_type") == "display_data"]
    assert shown, cell.outputs
    final = shown[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in final  # no widget left behind
    assert "saved" in final["text/plain"] and "2/2" in final["text/plain"]
    html_text = final["text/html"]
    assert "odyssey-gallery" in html_text and html_text.count("<video") == 2
    assert "odyssey_recordings/" in html_text  # relative to the notebook: plays from disk


def test_a_headless_sweep_without_wait_is_saved_without_a_widget(
    capped_engine: RunningEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody watches a headless run: the sweep's cell is a static output, ending on its final."""
    nb = _execute_headless(
        capped_engine,
        tmp_path,
        monkeypatch,
        f"%%odyssey_simulate --sweep params --name unwatched -o sw\n{BODY}",
        # a later cell runs while the sweep ends (it waits on it: no fixed sleep)
        "sw.wait(200)\nprint(sw.state)",
    )
    assert "widgets" not in nb.metadata, nb.metadata.get("widgets")
    (output,) = nb.cells[2].outputs
    final = output["data"]
    assert "application/vnd.jupyter.widget-view+json" not in final
    assert "unwatched" in final["text/plain"] and "2/2 completed" in final["text/plain"]
    assert "odyssey-gallery" in final["text/html"] and final["text/html"].count("<video") == 2


def test_the_magic_prices_a_dry_run_and_writes_a_budgeted_dataset_to_a_folder(
    capped_engine: RunningEngine, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    session = start_kernel(capped_engine, tmp_path)
    try:
        session.check("%config OdysseyJupyter.price_per_video_second = 0.5")
        session.check("params = {'seed': list(range(5))}\nstyle = 'oil'")
        dry = session.check(
            f"%%odyssey_simulate --sweep params --name priced --dry-run --store ds\n{BODY}"
        )
        text = "\n".join([*dry.text_plain(), dry.stdout()])
        assert "5 s of video, about 2.50 at 0.5 per second" in text
        run = session.check(
            "%%odyssey_simulate --sweep params --name priced --store ds "
            f"--max-video-seconds 3 --wait -o sw\n{BODY}",
            timeout=240,
        )
        assert run.ok
        said = session.check("print(sw.state, '|', sw.message, '|', sw.budget_text())").stdout()
        assert said.startswith("paused |") and "budget reached" in said and "3/3 s" in said
        table = pq.read_table(tmp_path / "ds" / "priced" / "manifest.parquet").to_pylist()
        assert [row["status"] for row in table] == ["completed"] * 3 + ["pending"] * 2
        for row in table[:3]:
            assert row["video"].startswith((tmp_path / "ds").resolve().as_uri())
        no_secrets(session, capped_engine)
    finally:
        session.shutdown()


def test_kernel_shutdown_leaves_a_running_sweep_as_its_dated_state(tmp_path: Path) -> None:
    """The live panel of a sweep still running gives way to its state, dated, with no widget."""
    slow = launch_engine(tmp_path / "realtime", "--pace", "realtime", "--workers", "1")
    try:
        session = start_kernel(slow, tmp_path)
        try:
            session.check("params = {'seed': [1, 2]}\nstyle = 'oil'")
            start = session.mark()
            session.check(
                "%%odyssey_simulate --sweep params --name stopping --max-in-flight 1 -o sw\n"
                "0s start a {style} lantern, take {seed}\n30s end"
            )
            session.wait_for(
                lambda m: (
                    m["msg_type"] == "comm_open"
                    and m["content"]["data"].get("state", {}).get("description") == "Pause"
                ),
                start=start,
                timeout=30,
            )
            mark = session.mark()
            session.manager.request_shutdown()
            frozen = session.wait_for(
                lambda m: (
                    m["msg_type"] == "update_display_data"
                    and "Snapshot of " in m["content"]["data"].get("text/html", "")
                ),
                start=mark,
                timeout=30,
            )
        finally:
            session.shutdown()
    finally:
        slow.stop()
    data = frozen["content"]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert "stopping" in data["text/plain"] and 'Sweep.open("stopping")' in data["text/plain"]
