"""The engine's ``Idempotency-Key`` extension, driven with plain httpx.

A repeated submission with the same key names the job the first one made (even
when both arrive at once); the same key with another body, or a malformed key,
is a 422 that says why; every answer declares that keys are honoured.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, short_script
from support.engines import RunningEngine

from odyssey_jupyter.protocol import idempotency


@pytest.fixture
def api(engine: RunningEngine) -> Iterator[httpx.Client]:
    client = client_for(engine)
    yield client
    client.close()


def submit(api: httpx.Client, body: dict[str, Any], key: str) -> httpx.Response:
    return api.post("/simulation-jobs", json=body, headers={idempotency.KEY_HEADER: key})


def total(api: httpx.Client) -> int:
    return int(api.get("/simulation-jobs", params={"limit": 1}).json()["total"])


def test_every_answer_declares_the_extension(engine: RunningEngine, api: httpx.Client) -> None:
    answers = [
        httpx.post(f"{engine.url}/auth/token", json={"api_key": engine.api_key}),
        httpx.get(f"{engine.url}/simulation-jobs"),  # a 401 too
        api.get("/simulation-jobs"),
    ]
    for answer in answers:
        assert answer.headers[idempotency.SUPPORT_HEADER] == idempotency.SUPPORT_VALUE


def test_a_repeat_names_the_first_job(api: httpx.Client) -> None:
    body = {"script": short_script("a repeated kite", 500)}
    key = str(uuid.uuid4())
    before = total(api)
    first = submit(api, body, key)
    again = submit(api, body, key)
    assert first.status_code == again.status_code == 200
    assert first.json()["job_id"] == again.json()["job_id"]
    assert total(api) == before + 1
    other = submit(api, body, str(uuid.uuid4()))  # a new key is a new job
    assert other.json()["job_id"] != first.json()["job_id"]
    plain = api.post("/simulation-jobs", json=body)  # no key: no promise, a new job each time
    assert plain.json()["job_id"] not in {first.json()["job_id"], other.json()["job_id"]}
    assert total(api) == before + 3


def test_racing_repeats_make_one_job(api: httpx.Client) -> None:
    body = {"script": short_script("eight callers, one job", 500)}
    key = str(uuid.uuid4())
    before = total(api)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: submit(api, body, key), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["job_id"] for a in answers}) == 1
    assert total(api) == before + 1


def test_a_reused_key_with_another_body_is_refused(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    assert submit(api, {"script": short_script("first body", 500)}, key).status_code == 200
    before = total(api)
    answer = submit(api, {"script": short_script("second body", 500)}, key)
    assert answer.status_code == 422
    assert "already used for a different submission" in answer.json()["detail"]
    assert total(api) == before


@pytest.mark.parametrize(
    ("key", "needle"),
    [("", "is empty"), ("k" * 256, "at most 255"), ("has space", "visible ASCII")],
)
def test_malformed_keys_are_refused_by_name(api: httpx.Client, key: str, needle: str) -> None:
    before = total(api)
    answer = submit(api, {"script": short_script()}, key)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert idempotency.KEY_HEADER in detail and needle in detail
    assert total(api) == before
