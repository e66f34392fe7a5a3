"""Conformance of the local engine with the Simulate protocol (docs/openapi.yaml), by plain httpx.

Every route, status code and JSON shape a client written against the hosted API
relies on: auth, submit validation, lifecycle timestamps, listing, recordings.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, short_script, wait_terminal
from support.engines import RunningEngine

JOB_KEYS = {
    "job_id", "status", "priority", "created_at", "dispatched_at", "started_at", "completed_at",
    "error_message", "assigned_region", "retry_count", "estimated_wait_minutes", "streams",
    "progress",
}  # fmt: skip
STREAM_KEYS = {
    "stream_id", "script_index", "video_url", "events_url", "thumbnail_url", "preview_url",
    "frame_count", "duration_seconds", "status", "error_message",
}  # fmt: skip
INFO_KEYS = {"job_id", "status", "priority", "created_at", "completed_at", "error_message"}


@pytest.fixture
def api(engine: RunningEngine) -> Iterator[httpx.Client]:
    client = client_for(engine)
    yield client
    client.close()


# --------------------------------------------------------------------------- auth


def test_token_exchange(engine: RunningEngine) -> None:
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        ok = client.post("/auth/token", json={"api_key": engine.api_key})
        assert ok.status_code == 200
        body = ok.json()
        assert isinstance(body["access_token"], str) and body["expires_in"] > 60
        assert engine.api_key not in ok.text

        wrong = client.post("/auth/token", json={"api_key": "ody_not_the_key"})
        assert wrong.status_code == 401 and wrong.json()["detail"]

        for bad in ({}, {"api_key": 5}, {"api_key": ""}, [1, 2]):
            answer = client.post("/auth/token", json=bad)
            assert answer.status_code == 422, bad
            assert answer.json()["detail"]
        garbage = client.post(
            "/auth/token", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 422 and "JSON" in garbage.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/simulation-jobs"),
        ("GET", "/simulation-jobs"),
        ("GET", "/simulation-jobs/abc"),
        ("DELETE", "/simulation-jobs/abc"),
        ("GET", "/recordings/abc"),
        ("GET", "/stream-recordings"),
    ],
)
def test_bearer_required(engine: RunningEngine, method: str, path: str) -> None:
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        missing = client.request(method, path)
        assert missing.status_code == 401 and missing.json()["detail"]
        forged = client.request(method, path, headers={"Authorization": "Bearer olt_abc.def"})
        assert forged.status_code == 401 and forged.json()["detail"]


def test_unknown_routes_answer_json(api: httpx.Client) -> None:
    missing = api.get("/no-such-route")
    assert missing.status_code == 404 and missing.json()["detail"]
    wrong_method = api.put("/simulation-jobs")
    assert wrong_method.status_code == 405 and wrong_method.json()["detail"]


# --------------------------------------------------------------------------- submit


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "exactly one"),
    ({"script": short_script(), "scripts": [short_script()]}, "exactly one"),
    ({"script": []}, "empty"),
    ({"script": "not a list"}, "list"),
    ({"script": [{"timestamp_ms": 0, "start": {}}]}, "entry 0"),
    ({"script": [{"timestamp_ms": 0, "start": {"prompt": "x"}}]}, "never ends"),
    (
        {
            "script": [
                {"timestamp_ms": 0, "start": {"prompt": "x", "image": "/tmp/a.png"}},
                {"timestamp_ms": 1000, "end": {}},
            ]
        },
        "data URL",
    ),
    ({"scripts": [short_script(), [{"timestamp_ms": 0, "interact": {"prompt": "x"}}]]}, "script 1"),
    ({"script": short_script(), "portrait": "yes"}, "portrait"),
    ({"script_url": "file:///etc/passwd"}, "http"),
    ({"script_url": "ftp://example.com/x.json"}, "http"),
    ([1, 2, 3], "object"),
    (  # 10**4000 ms: too long for a float, the message counts in exact integers
        {
            "script": [
                {"timestamp_ms": 0, "start": {"prompt": "x"}},
                {"timestamp_ms": 10**4000, "end": {}},
            ]
        },
        "the stream lasts 1" + "0" * 3997 + " s",
    ),
]


@pytest.mark.parametrize(("body", "needle"), BAD_BODIES)
def test_submit_validation(api: httpx.Client, body: Any, needle: str) -> None:
    answer = api.post("/simulation-jobs", json=body)
    assert answer.status_code == 422, answer.text
    assert needle in answer.json()["detail"]


def test_submit_body_limits(api: httpx.Client) -> None:
    empty = api.post("/simulation-jobs", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 422 and empty.json()["detail"]
    huge = api.post(
        "/simulation-jobs",
        content=b" " * (64 * 1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and "64 MB" in huge.json()["detail"]
    digits = b'{"script": [{"timestamp_ms": ' + b"1" * 5000 + b', "end": {}}]}'
    long_int = api.post(
        "/simulation-jobs", content=digits, headers={"content-type": "application/json"}
    )
    assert long_int.status_code == 422 and "too many digits" in long_int.json()["detail"]


def test_lifecycle_and_shapes(api: httpx.Client) -> None:
    submitted = api.post(
        "/simulation-jobs",
        json={
            "script": short_script(),
            "portrait": False,
            "output_video": True,
            "bypass_vlm_expansion": True,
        },
    )
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()
    assert set(job) == JOB_KEYS
    assert job["status"] == "pending" and job["streams"] == []
    assert job["created_at"].endswith("Z") and job["completed_at"] is None
    assert job["retry_count"] == 0 and job["priority"]

    done = wait_terminal(api, job["job_id"])
    assert done["status"] == "completed", done
    assert done["created_at"] <= done["dispatched_at"] <= done["started_at"] <= done["completed_at"]
    assert done["assigned_region"] == "local" and done["progress"] == 1.0
    assert done["estimated_wait_minutes"] is None and done["error_message"] is None
    (stream,) = done["streams"]
    assert set(stream) == STREAM_KEYS
    assert stream["status"] == "completed" and stream["script_index"] == 0
    assert stream["frame_count"] == 24 and stream["duration_seconds"] == pytest.approx(1.0)
    for kind in ("video", "events", "thumbnail", "preview"):
        assert stream[f"{kind}_url"].startswith("http")

    recording = api.get(f"/recordings/{stream['stream_id']}")
    assert recording.status_code == 200
    assert set(recording.json()) == {
        "stream_id", "video_url", "events_url", "thumbnail_url", "preview_url",
        "frame_count", "duration_seconds",
    }  # fmt: skip
    assert recording.json()["frame_count"] == 24

    rows = api.get("/stream-recordings", params={"limit": 5}).json()
    assert rows["limit"] == 5 and rows["offset"] == 0 and rows["total"] >= 1
    newest = rows["recordings"][0]
    assert set(newest) == {
        "stream_id",
        "width",
        "height",
        "started_at",
        "ended_at",
        "duration_seconds",
    }
    assert any(
        r["stream_id"] == stream["stream_id"] and (r["width"], r["height"]) == (1280, 704)
        for r in rows["recordings"]
    )

    cancel = api.delete(f"/simulation-jobs/{job['job_id']}")
    assert cancel.status_code == 400 and "completed" in cancel.json()["detail"]


def test_batch_with_a_broken_image(api: httpx.Client) -> None:
    """A stream whose image cannot be decoded fails alone; the job names it."""
    broken = [
        {
            "timestamp_ms": 0,
            "start": {
                "prompt": "a broken picture",
                "image": "data:image/png;base64,bm90IGFuIGltYWdl",
            },
        },
        {"timestamp_ms": 1000, "end": {}},
    ]
    answer = api.post("/simulation-jobs", json={"scripts": [short_script("fine"), broken]})
    assert answer.status_code == 200, answer.text
    done = wait_terminal(api, answer.json()["job_id"])
    assert done["status"] == "failed"
    by_index = {s["script_index"]: s for s in done["streams"]}
    assert by_index[0]["status"] == "completed" and by_index[0]["video_url"]
    assert by_index[1]["status"] == "failed" and by_index[1]["video_url"] is None
    assert "cannot be decoded" in by_index[1]["error_message"]
    assert by_index[1]["stream_id"] in done["error_message"]
    assert by_index[0]["stream_id"] not in done["error_message"]
    assert api.get(f"/recordings/{by_index[1]['stream_id']}").status_code == 404


def test_not_found(api: httpx.Client) -> None:
    for method, path in [
        ("GET", "/simulation-jobs/00000000-0000-0000-0000-000000000000"),
        ("DELETE", "/simulation-jobs/00000000-0000-0000-0000-000000000000"),
        ("GET", "/recordings/00000000-0000-0000-0000-000000000000"),
    ]:
        answer = api.request(method, path)
        assert answer.status_code == 404 and answer.json()["detail"], (method, path)


# --------------------------------------------------------------------------- list


def test_list_filters_and_paging(api: httpx.Client) -> None:
    ids = [
        api.post("/simulation-jobs", json={"script": short_script(f"list {i}", 500)}).json()[
            "job_id"
        ]
        for i in range(3)
    ]
    for job_id in ids:
        wait_terminal(api, job_id)
    page = api.get("/simulation-jobs", params={"limit": 2}).json()
    assert set(page) == {"jobs", "total", "limit", "offset"}
    assert page["limit"] == 2 and page["offset"] == 0 and page["total"] >= 3
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][:2]  # newest first
    assert all(set(j) == INFO_KEYS for j in page["jobs"])
    second = api.get("/simulation-jobs", params={"limit": 1, "offset": 2}).json()
    assert second["jobs"][0]["job_id"] == ids[0]

    completed = api.get("/simulation-jobs", params={"status": "completed", "limit": 100}).json()
    assert {j["status"] for j in completed["jobs"]} == {"completed"}
    assert set(ids) <= {j["job_id"] for j in completed["jobs"]}
    active = api.get("/simulation-jobs", params={"active": "true"}).json()
    assert not set(ids) & {j["job_id"] for j in active["jobs"]}
    inactive = api.get("/simulation-jobs", params={"active": "false", "limit": 100}).json()
    assert set(ids) <= {j["job_id"] for j in inactive["jobs"]}

    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"offset": -1},
        {"active": "maybe"},
    ):
        answer = api.get("/simulation-jobs", params=params)
        assert answer.status_code == 422 and answer.json()["detail"], params
    assert api.get("/stream-recordings", params={"limit": 101}).status_code == 422


@pytest.mark.parametrize("path", ["/simulation-jobs", "/stream-recordings"])
def test_offsets_past_sqlite_integers_are_refused_with_the_range(
    api: httpx.Client, path: str
) -> None:
    largest = 2**63 - 1  # SQLite's largest INTEGER: still a (past the end, empty) page
    page = api.get(path, params={"offset": largest})
    assert page.status_code == 200 and page.json()["offset"] == largest
    for offset in (str(2**63), "16369756626992782067017711616", "9" * 5000, "-" + "9" * 5000):
        answer = api.get(path, params={"offset": offset})
        assert answer.status_code == 422, (offset[:30], answer.status_code, answer.text[:200])
        detail = answer.json()["detail"]
        assert "'offset' must be 0..9223372036854775807" in detail and len(detail) < 200, detail


# --------------------------------------------------------------------------- script_url


@pytest.fixture
def script_server() -> Iterator[Callable[[str, bytes], str]]:
    """A throwaway HTTP server on 127.0.0.1 serving the given bodies."""
    bodies: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(path: str, body: bytes) -> str:
        bodies[path] = body
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield serve
    server.shutdown()
    server.server_close()


def test_script_url(api: httpx.Client, script_server: Callable[[str, bytes], str]) -> None:
    url = script_server("/one.json", json.dumps(short_script("from a URL", 500)).encode())
    answer = api.post("/simulation-jobs", json={"script_url": url})
    assert answer.status_code == 200, answer.text
    assert wait_terminal(api, answer.json()["job_id"])["status"] == "completed"

    batch = script_server(
        "/batch.json", json.dumps([short_script("a", 500), short_script("b", 500)]).encode()
    )
    done = wait_terminal(
        api, api.post("/simulation-jobs", json={"script_url": batch}).json()["job_id"]
    )
    assert sorted(s["script_index"] for s in done["streams"]) == [0, 1]

    bad = script_server("/bad.json", b'[{"timestamp_ms": 0}]')
    assert api.post("/simulation-jobs", json={"script_url": bad}).status_code == 422
    too_big = script_server("/big.json", b" " * (5 * 1024 * 1024 + 10))
    answer = api.post("/simulation-jobs", json={"script_url": too_big})
    assert answer.status_code == 422 and "5 MB" in answer.json()["detail"]
    missing = api.post(
        "/simulation-jobs", json={"script_url": script_server("/x", b"")[:-2] + "/404"}
    )
    assert missing.status_code == 422 and "404" in missing.json()["detail"]


def test_odd_but_valid_input(api: httpx.Client) -> None:
    """Nulls mean defaults, and any text is a prompt: none of it may break the engine."""
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "rocket 🚀, a lone \ud800 surrogate\tand tabs"}},
        {"timestamp_ms": 400, "interact": {"prompt": "x" * 4000}},
        {"timestamp_ms": 410, "interact": {"prompt": "two cues in one frame"}},
        {"timestamp_ms": 800, "end": {}},
    ]
    body = {"script": script, "portrait": None, "bypass_vlm_expansion": None}
    answer = api.post(  # json.dumps escapes the lone surrogate, as a JSON client may send it
        "/simulation-jobs", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    done = wait_terminal(api, answer.json()["job_id"])
    assert done["status"] == "completed", done
    stream_id = done["streams"][0]["stream_id"]
    rows = api.get("/stream-recordings", params={"limit": 100}).json()["recordings"]
    assert [(r["width"], r["height"]) for r in rows if r["stream_id"] == stream_id] == [(704, 1280)]

    nested = api.post(
        "/simulation-jobs", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    assert nested.status_code == 422 and nested.json()["detail"]
