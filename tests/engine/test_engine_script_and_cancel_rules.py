"""The hosted API's own rules, kept by the real engine over HTTP: a script begins with a
``start`` at 0 (422 naming the entry otherwise), and ``--cancellable queued`` refuses to
cancel a job that is already rendering (400 with the hosted body), as the SDK reference says.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, short_script, wait_terminal
from support.engines import RunningEngine

from odyssey_jupyter.local.launch.options import parse_options

StartEngine = Callable[..., RunningEngine]


@pytest.fixture
def api(engine: RunningEngine) -> Iterator[httpx.Client]:
    client = client_for(engine)
    yield client
    client.close()


def _refusal(api: httpx.Client, body: dict[str, Any]) -> str:
    answer = api.post("/simulation-jobs", json=body)
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) == {"detail"}
    return str(answer.json()["detail"])


def test_a_script_whose_first_start_is_late_is_refused_naming_the_entry(
    api: httpx.Client,
) -> None:
    late = [{"timestamp_ms": 500, "start": {"prompt": "late"}}, {"timestamp_ms": 1500, "end": {}}]
    detail = _refusal(api, {"script": late})
    assert "entry 0" in detail and "'timestamp_ms'" in detail and "500 ms" in detail
    assert "at 0" in detail


def test_a_script_that_does_not_begin_with_a_start_is_refused(api: httpx.Client) -> None:
    headless = [{"timestamp_ms": 0, "interact": {"prompt": "no start"}}, {"timestamp_ms": 900,
                "end": {}}]  # fmt: skip
    detail = _refusal(api, {"script": headless})
    assert "entry 0" in detail and "'start'" in detail


def test_a_batch_names_the_script_whose_first_start_is_late(api: httpx.Client) -> None:
    late = [{"timestamp_ms": 700, "start": {"prompt": "late"}}, {"timestamp_ms": 1700, "end": {}}]
    detail = _refusal(api, {"scripts": [short_script("fine", 500), late]})
    assert "script 1" in detail and "entry 0" in detail and "700 ms" in detail


def test_a_later_stream_may_start_after_the_previous_end(api: httpx.Client) -> None:
    gap = [
        {"timestamp_ms": 0, "start": {"prompt": "first"}},
        {"timestamp_ms": 500, "end": {}},
        {"timestamp_ms": 2500, "start": {"prompt": "after a pause"}},
        {"timestamp_ms": 3000, "end": {}},
    ]
    answer = api.post("/simulation-jobs", json={"script": gap})
    assert answer.status_code == 200, answer.text
    done = wait_terminal(api, answer.json()["job_id"])
    assert done["status"] == "completed" and len(done["streams"]) == 2


def test_the_cancellable_option_is_checked_and_defaults_to_every_active_job() -> None:
    assert parse_options(["serve"]).cancellable == "active"
    assert parse_options(["serve", "--cancellable", "queued"]).cancellable == "queued"
    assert "cancellable='queued'" in repr(parse_options(["serve", "--cancellable", "queued"]))
    wrong = subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--cancellable", "rendering"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert wrong.returncode == 2 and "--cancellable" in wrong.stderr
    assert "'active'" in wrong.stderr and "'queued'" in wrong.stderr


def _poll(api: httpx.Client, job_id: str, wanted: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail: dict[str, Any] = api.get(f"/simulation-jobs/{job_id}").json()
        if detail["status"] == wanted:
            return detail
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {wanted}")


def test_cancellable_queued_refuses_a_rendering_job_with_the_hosted_body(
    start_engine: StartEngine,
) -> None:
    engine = start_engine("--pace", "realtime", "--workers", "1", "--cancellable", "queued")
    api = client_for(engine)
    rendering = api.post("/simulation-jobs", json={"script": short_script("busy", 4000)})
    waiting = api.post("/simulation-jobs", json={"script": short_script("behind", 500)})
    rendering_id, waiting_id = rendering.json()["job_id"], waiting.json()["job_id"]
    _poll(api, rendering_id, "processing")

    refused = api.delete(f"/simulation-jobs/{rendering_id}")
    assert refused.status_code == 400
    body = refused.json()
    assert set(body) == {"detail"}
    assert "cannot be cancelled" in body["detail"] and "already rendering" in body["detail"]
    assert rendering_id in body["detail"] and "pending or dispatched" in body["detail"]
    # the refusal changed nothing: the job goes on rendering and completes
    assert api.get(f"/simulation-jobs/{rendering_id}").json()["status"] == "processing"

    # a job that has not started rendering is still cancelled (pending, or dispatched: its
    # session starts up while the other job renders)
    assert api.get(f"/simulation-jobs/{waiting_id}").json()["status"] in ("pending", "dispatched")
    cancelled = api.delete(f"/simulation-jobs/{waiting_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    assert wait_terminal(api, rendering_id)["status"] == "completed"
    over = api.delete(f"/simulation-jobs/{rendering_id}")
    assert over.status_code == 400 and "already completed" in over.json()["detail"]
    api.close()
