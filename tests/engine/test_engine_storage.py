"""The engine's storage under attack: full disks, failing writes, damaged rows and files.

Everything runs against the real engine process over real HTTP. A full disk is a
real tmpfs where this machine lets the tests mount one; otherwise, and for faults
that must come at one exact write, the engine's test-only hook
(``ODYSSEY_LOCAL_TEST_STORE_FAULTS``) makes SQLite's own "database or disk is
full" happen. Damaged rows are written into ``engine.db`` with sqlite3.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, poll_until, short_script, wait_terminal
from support.engines import RunningEngine
from support.smallfs import fill, fill_inodes, open_files, small_filesystem

from odyssey_jupyter.errors import EngineStartError
from odyssey_jupyter.local.jobs.dispatcher import OUTCOME_WRITE_TRIES
from odyssey_jupyter.local.launch.launcher import ensure_engine
from odyssey_jupyter.local.store.faults import ENV_VAR, set_faults

StartEngine = Callable[..., RunningEngine]
FOREVER = 1_000_000  # injected faults that last until the test clears them


@pytest.fixture
def faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The control file of the fault hook; engines started in this test read it."""
    control = tmp_path / "store-faults.json"
    set_faults(control)
    monkeypatch.setenv(ENV_VAR, str(control))
    return control


def submit(api: httpx.Client, prompt: str, ms: int = 1000) -> httpx.Response:
    return api.post("/simulation-jobs", json={"script": short_script(prompt, ms)})


def assert_storage_503(answer: httpx.Response) -> None:
    """A storage fault is a 503 with a JSON detail naming the cause and a Retry-After."""
    assert answer.status_code == 503, answer.text
    assert "database or disk is full" in answer.json()["detail"]
    assert int(answer.headers["Retry-After"]) >= 1
    assert "Traceback" not in answer.text and "OperationalError" not in answer.text


def db_write(engine: RunningEngine, sql: str, *params: Any) -> None:
    """Change the engine's database behind its back, as damage or a lost write would."""
    with sqlite3.connect(engine.data_dir / "engine.db", timeout=30) as db:
        db.execute(sql, params)


def stream_ids(engine: RunningEngine, job_id: str) -> list[str]:
    with sqlite3.connect(engine.data_dir / "engine.db", timeout=30) as db:
        rows = db.execute("SELECT stream_id FROM streams WHERE job_id = ?", (job_id,)).fetchall()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def small_data_dir(tmp_path: Path) -> Iterator[Path | None]:
    with small_filesystem(tmp_path / "small", 24 * 1024) as mounted:
        yield mounted


def test_full_disk_submissions_are_503_then_recover(
    small_data_dir: Path | None, start_engine: StartEngine, faults: Path
) -> None:
    """On a really full disk (or the hook, where no tmpfs can be mounted): 503, then back."""
    engine = start_engine("--workers", "1", data_dir=small_data_dir)
    api = client_for(engine)
    before = wait_terminal(api, submit(api, "before the disk fills").json()["job_id"])
    assert before["status"] == "completed"

    if small_data_dir is not None:
        filler = fill(small_data_dir)
    else:
        set_faults(faults, writes=FOREVER)
    big = [{"timestamp_ms": 0, "start": {"prompt": "x" * 4000}}]
    big += [{"timestamp_ms": 10 * i, "interact": {"prompt": "y" * 4000}} for i in range(1, 400)]
    big.append({"timestamp_ms": 5000, "end": {}})
    refused = api.post("/simulation-jobs", json={"script": big})
    assert_storage_503(refused)
    assert api.get(f"/simulation-jobs/{before['job_id']}").status_code == 200  # reads go on
    assert api.get("/simulation-jobs").json()["total"] == 1  # nothing half-created

    if small_data_dir is not None:
        filler.unlink()
    else:
        set_faults(faults)
    accepted = api.post("/simulation-jobs", json={"script": big})
    assert accepted.status_code == 200, accepted.text
    assert wait_terminal(api, accepted.json()["job_id"])["status"] == "completed"
    api.close()


# --------------------------------------------------------------------------- 503, not 500


def test_storage_faults_are_503_on_every_route(start_engine: StartEngine, faults: Path) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)
    busy = submit(api, "keeps the worker busy", 20_000).json()["job_id"]
    queued = submit(api, "stays queued").json()["job_id"]

    set_faults(faults, writes=FOREVER)
    assert_storage_503(submit(api, "refused"))
    assert_storage_503(api.delete(f"/simulation-jobs/{queued}"))
    set_faults(faults)
    assert api.get(f"/simulation-jobs/{queued}").json()["status"] == "pending"

    set_faults(faults, reads=FOREVER)
    assert_storage_503(api.get(f"/simulation-jobs/{queued}"))
    assert_storage_503(api.get("/simulation-jobs"))
    assert_storage_503(api.get("/stream-recordings"))
    assert_storage_503(api.delete(f"/simulation-jobs/{queued}"))
    set_faults(faults)

    assert api.delete(f"/simulation-jobs/{queued}").json()["status"] == "cancelled"
    assert api.delete(f"/simulation-jobs/{busy}").json()["status"] == "cancelled"
    assert wait_terminal(api, submit(api, "after").json()["job_id"])["status"] == "completed"
    api.close()


# --------------------------------------------------------------------------- stuck jobs


def finish_rendering(api: httpx.Client, job_id: str) -> None:
    """Wait until the worker has (nearly) rendered the job's stream, and a little more."""
    poll_until(api, job_id, lambda d: d["progress"] >= 0.9)
    time.sleep(1.5)


def test_a_lost_outcome_write_is_retried_not_stuck(start_engine: StartEngine, faults: Path) -> None:
    """The write of a finished stream fails: the slot waits, the reconciler writes it later."""
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)
    job = submit(api, "finishes while the disk is full", 3000).json()["job_id"]
    poll_until(api, job, lambda d: d["status"] == "processing")
    set_faults(faults, writes=FOREVER)
    finish_rendering(api, job)  # its outcome cannot be written
    assert api.get(f"/simulation-jobs/{job}").json()["status"] == "processing"
    assert_storage_503(submit(api, "refused while full"))
    set_faults(faults)

    done = wait_terminal(api, job, timeout=60)
    assert done["status"] == "completed" and done["streams"][0]["video_url"]
    after = wait_terminal(api, submit(api, "the queue moves on").json()["job_id"])
    assert after["status"] == "completed"
    api.close()


def test_an_outcome_given_up_is_rendered_again(start_engine: StartEngine, faults: Path) -> None:
    """Writes fail longer than a slot waits: the stream becomes an orphan and is requeued."""
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)
    job = submit(api, "outlives its slot", 3000).json()["job_id"]
    poll_until(api, job, lambda d: d["status"] == "processing")
    set_faults(faults, writes=FOREVER)
    finish_rendering(api, job)
    # the slot gives up after OUTCOME_WRITE_TRIES rounds; its live progress goes with it
    given_up, _ = poll_until(
        api, job, lambda d: d["progress"] == 0.0, timeout=30 + 10 * OUTCOME_WRITE_TRIES
    )
    assert given_up["status"] == "processing"  # nothing could be written meanwhile
    set_faults(faults)

    done = wait_terminal(api, job, timeout=60)
    assert done["status"] == "completed" and done["retry_count"] == 1
    api.close()


def test_orphaned_streams_are_requeued_then_failed(start_engine: StartEngine) -> None:
    """A stream the database calls processing but no worker holds: requeued, at last failed."""
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)
    busy = submit(api, "keeps the worker busy", 30_000).json()["job_id"]
    poll_until(api, busy, lambda d: d["status"] == "processing")
    # the next job's session starts up beside the rendering, then waits for the worker
    next_up = submit(api, "starts up meanwhile", 30_000).json()["job_id"]
    poll_until(api, next_up, lambda d: d["status"] == "dispatched")
    orphan = submit(api, "lost by the engine").json()["job_id"]
    (stream,) = stream_ids(engine, orphan)

    for attempt in (1, 2, 3):
        db_write(engine, "UPDATE jobs SET status = 'processing' WHERE job_id = ?", orphan)
        db_write(engine, "UPDATE streams SET status = 'processing' WHERE stream_id = ?", stream)

        def retried(d: dict[str, Any], n: int = attempt) -> bool:
            return bool(d["retry_count"] == n)

        detail, _ = poll_until(api, orphan, retried)
        if attempt < 3:
            detail, _ = poll_until(api, orphan, lambda d: d["status"] == "pending")
    detail, _ = poll_until(api, orphan, lambda d: d["status"] == "failed")
    assert "lost track of this stream 3 times" in detail["error_message"]
    assert detail["completed_at"]

    # an active job whose streams all ended (its own end was never written) ends too
    settled = submit(api, "ended but never told").json()["job_id"]
    (settled_stream,) = stream_ids(engine, settled)
    db_write(
        engine,
        "UPDATE streams SET status = 'failed', error_message = 'the renderer failed' "
        "WHERE stream_id = ?",
        settled_stream,
    )
    detail, _ = poll_until(api, settled, lambda d: d["status"] == "failed")
    assert "the renderer failed" in detail["error_message"]

    assert api.delete(f"/simulation-jobs/{busy}").status_code == 200
    assert api.delete(f"/simulation-jobs/{next_up}").status_code == 200
    assert wait_terminal(api, submit(api, "after").json()["job_id"])["status"] == "completed"
    api.close()


# --------------------------------------------------------------------------- corrupt rows


def test_corrupt_script_rows_fail_their_job_and_the_queue_moves_on(
    start_engine: StartEngine,
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)
    busy = submit(api, "keeps the worker busy", 30_000).json()["job_id"]
    poll_until(api, busy, lambda d: d["status"] == "processing")
    # the next job's session starts up beside the rendering, then waits for the worker
    next_up = submit(api, "starts up meanwhile", 1_000).json()["job_id"]
    poll_until(api, next_up, lambda d: d["status"] == "dispatched")
    damage = {
        "not UTF-8": b"\xff\xfe\x00garbage",
        "not JSON": b"[{this is not json",
        "not a script": b'[{"timestamp_ms": "soon", "start": 5}]',
    }
    damaged = {}
    for name, garbage in damage.items():
        job_id = submit(api, f"to be damaged: {name}").json()["job_id"]
        db_write(engine, "UPDATE scripts SET body = ? WHERE job_id = ?", garbage, job_id)
        damaged[name] = job_id
    healthy = submit(api, "queued behind the damage").json()["job_id"]
    # a damaged text cell elsewhere does not break status or listing
    db_write(engine, "UPDATE jobs SET priority = CAST(? AS TEXT) WHERE job_id = ?", b"\xff", busy)
    assert api.get(f"/simulation-jobs/{busy}").status_code == 200
    assert api.get("/simulation-jobs").status_code == 200

    assert api.delete(f"/simulation-jobs/{busy}").status_code == 200
    for name, job_id in damaged.items():
        detail = wait_terminal(api, job_id)
        assert detail["status"] == "failed", name
        assert "stored script cannot be rendered" in detail["error_message"], name
        assert job_id in detail["error_message"] or name == "not a script"
    assert "not UTF-8" in wait_terminal(api, damaged["not UTF-8"])["error_message"]
    assert "not JSON" in wait_terminal(api, damaged["not JSON"])["error_message"]
    assert wait_terminal(api, healthy)["status"] == "completed"
    api.close()


# --------------------------------------------------------------------------- corrupt db


def test_a_corrupt_database_stops_start_up_with_a_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    data_dir.mkdir()
    database = data_dir / "engine.db"
    garbage = b"this was never a database\n" * 4000
    database.write_bytes(garbage)
    started = subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode not in (0, None)
    assert started.stdout == ""
    errors = [line for line in started.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and started.stderr.strip().endswith(errors[0]), started.stderr
    assert str(database) in errors[0] and "move it aside" in errors[0]
    assert "Traceback" not in started.stderr
    assert database.read_bytes() == garbage  # nothing deleted or rewritten

    with pytest.raises(EngineStartError, match="move it aside") as caught:
        ensure_engine(data_dir, timeout=60)
    assert str(database) in str(caught.value)
    assert database.read_bytes() == garbage


# --------------------------------------------------------------------------- files on failure


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _fds(engine: RunningEngine) -> tuple[list[str], dict[int, list[str]]]:
    """Files the engine holds open (no sockets or pipes), and every fd of each worker."""
    own = [t for t in open_files(engine.process.pid) if t.startswith("/")]
    workers = {pid: open_files(pid) for pid in _children(engine.process.pid)}
    return own, workers


def test_render_failures_release_every_file(start_engine: StartEngine, tmp_path: Path) -> None:
    """Renders fail on a full disk at every point (a write, creating a file, a directory):
    the engine and its worker hold exactly the files they held before, and no partial
    artifact is left where a finished one would be served."""
    data_dir = tmp_path / "engine"
    with small_filesystem(data_dir / "recordings", 3 * 1024, inodes=64) as recordings:
        if recordings is None:
            pytest.skip("cannot mount a small filesystem here to make renders fail")
        engine = start_engine("--workers", "1", data_dir=data_dir)
        api = client_for(engine)
        warm = wait_terminal(api, submit(api, "warm up the worker", 1000).json()["job_id"])
        assert warm["status"] == "completed"
        baseline = _fds(engine)
        assert baseline[1], "no render worker found"

        def fails(prompt: str) -> str:
            detail = wait_terminal(api, submit(api, prompt, 8000).json()["job_id"])
            assert detail["status"] == "failed", detail
            assert "No space left on device" in detail["error_message"]
            assert _fds(engine) == baseline
            return str(detail["job_id"])

        filler = fill(recordings, leave_kb=256)  # no room for the video's frames
        failed = [fails(f"too big for the disk {i}") for i in range(3)]
        filler.unlink()
        inodes = fill_inodes(recordings, leave=3)  # the preview, then the video cannot be made
        failed += [fails(f"no file can be made {i}") for i in range(3)]
        for job_id in failed:  # nothing half-written is left to be served
            left = list((recordings / job_id).rglob("*")) if (recordings / job_id).exists() else []
            assert left == [], left

        for path in inodes:
            path.unlink()
        after = wait_terminal(api, submit(api, "room again", 1000).json()["job_id"])
        assert after["status"] == "completed"
        api.close()
        engine.stop()
