"""Job lifecycle on a realtime engine: every transition, cancel in each state, limits,
clean stop (SIGTERM) and crash recovery (SIGKILL)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from support.engine_http import client_for, poll_until, short_script, wait_terminal
from support.engines import RunningEngine

from odyssey_jupyter.local.store.database import Database
from odyssey_jupyter.local.store.store import Store

StartEngine = Callable[..., RunningEngine]


def recordings_of(engine: RunningEngine, job_id: str) -> list[Path]:
    root = engine.data_dir / "recordings" / job_id
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_transitions_and_cancel_in_every_state(start_engine: StartEngine) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1")
    api = client_for(engine)

    def submit(ms: int, name: str) -> str:
        answer = api.post(
            "/simulation-jobs", json={"script": short_script(name, ms), "portrait": False}
        )
        job_id: str = answer.json()["job_id"]
        return job_id

    first = submit(1500, "first")
    queued = submit(1000, "queued")
    behind = submit(1000, "behind")

    # a queued job knows roughly how long it will wait
    detail = api.get(f"/simulation-jobs/{queued}").json()
    assert detail["status"] == "pending" and detail["estimated_wait_minutes"] > 0

    # cancel while pending: nothing ever ran
    cancelled = api.delete(f"/simulation-jobs/{queued}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["completed_at"]
    detail = api.get(f"/simulation-jobs/{queued}").json()
    assert detail["status"] == "cancelled" and detail["dispatched_at"] is None
    again = api.delete(f"/simulation-jobs/{queued}")
    assert again.status_code == 400 and "cancelled" in again.json()["detail"]

    # the first job goes through every state, with live progress
    done, seen = poll_until(api, first, lambda d: d["status"] == "completed")
    assert seen[0] in ("pending", "dispatched")
    assert [s for s in seen if s != "pending"] == ["dispatched", "processing", "completed"]
    assert done["dispatched_at"] < done["started_at"] < done["completed_at"]
    assert done["retry_count"] == 0 and done["progress"] == 1.0

    # cancel while dispatched (its session is still starting up; the job queued behind the
    # first one started up while the first rendered, so a new job is cancelled instead)
    assert wait_terminal(api, behind)["status"] == "completed"
    starting = submit(1000, "starting")
    detail, _ = poll_until(api, starting, lambda d: d["status"] != "pending")
    assert detail["status"] == "dispatched"
    assert api.delete(f"/simulation-jobs/{starting}").json()["status"] == "cancelled"
    assert api.get(f"/simulation-jobs/{starting}").json()["started_at"] is None

    # cancel while processing: rendering stops and the partial files go
    long_job = submit(20_000, "long")
    detail, _ = poll_until(
        api, long_job, lambda d: d["status"] == "processing" and d["progress"] > 0
    )
    assert 0 < detail["progress"] < 1
    assert detail["streams"][0]["status"] == "processing"
    assert api.delete(f"/simulation-jobs/{long_job}").json()["status"] == "cancelled"
    deadline = time.monotonic() + 5
    while recordings_of(engine, long_job) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recordings_of(engine, long_job) == []
    final = api.get(f"/simulation-jobs/{long_job}").json()
    assert final["status"] == "cancelled" and final["streams"][0]["status"] == "cancelled"
    assert final["streams"][0]["video_url"] is None

    # the worker is free again: a new job completes
    assert wait_terminal(api, submit(500, "after"))["status"] == "completed"
    api.close()


def test_usage_limits(start_engine: StartEngine) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1", "--max-active", "1",
                          "--rate-limit", "3")  # fmt: skip
    api = client_for(engine)
    first = api.post("/simulation-jobs", json={"script": short_script("busy", 5000)})
    assert first.status_code == 200
    refused = api.post("/simulation-jobs", json={"script": short_script("more", 500)})
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == body["code"] == "CONCURRENT_LIMIT_REACHED"
    assert body["message"] and body["action"] and body["detail"]
    assert body["details"] == {"active_count": 1, "limit": 1}

    answers = [api.get("/simulation-jobs") for _ in range(6)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    body = limited[0].json()
    assert body["code"] == "RATE_LIMITED" and body["message"] and body["action"]
    retry_after = int(limited[0].headers["Retry-After"])
    assert retry_after >= 1 and body["details"]["retry_after_seconds"] == retry_after
    time.sleep(retry_after)
    assert api.delete(f"/simulation-jobs/{first.json()['job_id']}").status_code == 200
    assert (
        api.post("/simulation-jobs", json={"script": short_script("now", 500)}).status_code == 200
    )
    api.close()


def test_sigterm_requeues_in_flight_jobs(start_engine: StartEngine, tmp_path: Path) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1", data_dir=tmp_path)
    api = client_for(engine)
    job = api.post("/simulation-jobs", json={"script": short_script("interrupted", 4000)}).json()
    poll_until(api, job["job_id"], lambda d: d["status"] == "processing")
    api.close()
    assert engine.stop(signal.SIGTERM) == 0

    with Store(tmp_path / "engine.db") as store:
        row = store.job(job["job_id"])
    assert row is not None and row["status"] == "pending" and row["retry_count"] == 0
    assert not list((tmp_path / "recordings").rglob("*.partial"))

    again = start_engine("--workers", "1", data_dir=tmp_path, api_key=engine.api_key)
    api = client_for(again)
    done = wait_terminal(api, job["job_id"])
    assert done["status"] == "completed" and done["retry_count"] == 0
    api.close()


def test_sigkill_recovery(start_engine: StartEngine, tmp_path: Path) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1", data_dir=tmp_path)
    api = client_for(engine)
    crashed = api.post("/simulation-jobs", json={"script": short_script("crash", 4000)}).json()
    waiting = api.post("/simulation-jobs", json={"script": short_script("waiting", 500)}).json()
    poll_until(api, crashed["job_id"], lambda d: d["status"] == "processing" and d["progress"] > 0)
    api.close()
    engine.kill()

    again = start_engine("--workers", "1", data_dir=tmp_path, api_key=engine.api_key)
    api = client_for(again)
    done = wait_terminal(api, crashed["job_id"])
    assert done["status"] == "completed" and done["retry_count"] == 1
    assert wait_terminal(api, waiting["job_id"])["retry_count"] == 0
    assert not list((tmp_path / "recordings").rglob("*.partial"))
    history = api.get("/simulation-jobs").json()
    assert {crashed["job_id"], waiting["job_id"]} <= {j["job_id"] for j in history["jobs"]}
    api.close()
    again.stop()

    # the same history under another key: those jobs are not yours
    stranger = start_engine("--workers", "1", data_dir=tmp_path)
    api = client_for(stranger)
    assert api.get(f"/simulation-jobs/{crashed['job_id']}").status_code == 403
    assert api.delete(f"/simulation-jobs/{crashed['job_id']}").status_code == 403
    assert api.get("/simulation-jobs").json()["total"] == 0
    api.close()


def test_jobs_interrupted_three_times_fail(tmp_path: Path) -> None:
    with Store(tmp_path / "engine.db") as store:
        job_id = store.create_job(
            owner="o", scripts=[short_script()], streams=[(0, 0, 1000)], portrait=True,
            bypass_vlm_expansion=None,
        )  # fmt: skip
        for attempt in range(1, 4):
            store.update_job(job_id, status="processing")
            failed = store.requeue_unfinished(count_retry=True, max_tries=3)
            row = store.job(job_id)
            assert row is not None and row["retry_count"] == attempt
            if attempt < 3:
                assert failed == [] and row["status"] == "pending"
        assert row is not None
        assert failed == [job_id] and row["status"] == "failed"
        assert "3 times" in row["error_message"] and row["completed_at"]


def test_a_listing_counts_and_pages_one_state_while_jobs_are_written(tmp_path: Path) -> None:
    with Store(tmp_path / "engine.db") as store:

        def submit() -> str:
            return store.create_job(
                owner="o", scripts=[short_script()], streams=[(0, 0, 1000)], portrait=True,
                bypass_vlm_expansion=None,
            )  # fmt: skip

        first = submit()
        db = Database(tmp_path / "engine.db")
        with db.snapshot():
            before = db.count("SELECT COUNT(*) FROM jobs")
            submit()  # the writer commits between the count and the page
            page = db.rows("SELECT job_id FROM jobs")
        assert before == 1 and [row["job_id"] for row in page] == [first]
        assert db.count("SELECT COUNT(*) FROM jobs") == 2
        db.close()
