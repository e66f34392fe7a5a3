"""The engine's front door, attacked over real HTTP: who reaches the routes, and at what cost.

Cross-site form posts, DNS-rebinding Host names, oversized key exchanges, key
guessing, forged X-Forwarded-* headers, a fresh token per request against the
rate limit, jobs of thousands of streams, and hostile bytes in keys, tokens,
signatures and Range headers. Every refusal is a 4xx with a JSON ``detail``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import httpx
import pytest
from support.engine_http import client_for, run_job, short_script, wait_terminal
from support.engines import RunningEngine


def has_detail(answer: httpx.Response) -> bool:
    body = answer.json()
    return isinstance(body, dict) and bool(body.get("detail"))


def streams(count: int, seconds: float) -> list[dict[str, Any]]:
    """One script of ``count`` back-to-back streams of ``seconds`` each."""
    script: list[dict[str, Any]] = []
    step = int(seconds * 1000)
    for index in range(count):
        script.append({"timestamp_ms": index * step, "start": {"prompt": f"scene {index}"}})
        script.append({"timestamp_ms": (index + 1) * step, "end": {}})
    return script


@pytest.fixture
def api(engine: RunningEngine) -> Iterator[httpx.Client]:
    client = client_for(engine)
    yield client
    client.close()


# --------------------------------------------------------------------------- content type


def test_a_cross_site_form_post_never_reaches_the_key_check(engine: RunningEngine) -> None:
    form = httpx.post(
        f"{engine.url}/auth/token",
        data={"api_key": engine.api_key},  # what a plain HTML form sends
        timeout=10,
    )
    assert form.status_code == 415 and has_detail(form)
    assert "application/json" in form.json()["detail"]
    assert "access_token" not in form.text
    text = httpx.post(
        f"{engine.url}/auth/token",
        content=f'{{"api_key": "{engine.api_key}"}}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert text.status_code == 415 and has_detail(text)
    with_charset = httpx.post(
        f"{engine.url}/auth/token",
        content=f'{{"api_key": "{engine.api_key}"}}',
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
        timeout=10,
    )
    assert with_charset.status_code == 200


def test_a_submission_that_is_not_declared_json_creates_no_job(api: httpx.Client) -> None:
    before = api.get("/simulation-jobs").json()["total"]
    answer = api.post(
        "/simulation-jobs",
        content=b'{"script": [{"timestamp_ms": 0, "start": {"prompt": "x"}}, '
        b'{"timestamp_ms": 1000, "end": {}}]}',
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 415 and has_detail(answer)
    assert api.get("/simulation-jobs").json()["total"] == before


# --------------------------------------------------------------------------- Host header


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_a_foreign_host_name_is_refused(engine: RunningEngine, host: str) -> None:
    answer = httpx.get(f"{engine.url}/health", headers={"Host": host}, timeout=10)
    assert answer.status_code == 421 and has_detail(answer)
    assert "--allow-host" in answer.json()["detail"]


def test_loopback_names_are_accepted_with_any_port(engine: RunningEngine) -> None:
    port = engine.url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST", "[::1]"):
        answer = httpx.get(f"{engine.url}/health", headers={"Host": host}, timeout=10)
        assert answer.status_code == 200, host


def test_a_configured_host_name_is_accepted(start_engine: Callable[..., RunningEngine]) -> None:
    running = start_engine("--workers", "1", "--allow-host", "odyssey.internal")
    ok = httpx.get(f"{running.url}/health", headers={"Host": "odyssey.internal:8765"}, timeout=10)
    assert ok.status_code == 200
    other = httpx.get(f"{running.url}/health", headers={"Host": "odyssey.other"}, timeout=10)
    assert other.status_code == 421


# --------------------------------------------------------------------------- key exchange


def test_an_oversized_key_exchange_is_refused_before_it_is_read(engine: RunningEngine) -> None:
    padding = "a" * (1024 * 1024)
    body = f'{{"api_key": "{engine.api_key}", "padding": "{padding}"}}'.encode()
    declared = httpx.post(
        f"{engine.url}/auth/token",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert declared.status_code == 413 and "64 KB" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    try:
        streamed = httpx.post(
            f"{engine.url}/auth/token",
            content=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert streamed.status_code == 413 and has_detail(streamed)
    except httpx.WriteError:  # refused and closed while the rest was still being sent
        pass
    assert client_for(engine).get("/simulation-jobs").status_code == 200


def test_wrong_keys_back_off_and_forged_forwarding_does_not_escape(
    start_engine: Callable[..., RunningEngine],
) -> None:
    from odyssey_jupyter.local.http.limits import AUTH_FREE_FAILURES

    running = start_engine("--workers", "1")
    url = f"{running.url}/auth/token"
    for _ in range(AUTH_FREE_FAILURES + 1):
        wrong = httpx.post(url, json={"api_key": "ody_guess"}, timeout=10)
        assert wrong.status_code == 401
    for headers in ({}, {"X-Forwarded-For": "10.1.2.3"}, {"X-Real-IP": "10.1.2.4"}):
        held = httpx.post(url, json={"api_key": "ody_guess_again"}, headers=headers, timeout=10)
        assert held.status_code == 429, headers
        body = held.json()
        assert body["detail"] and body["code"] == "RATE_LIMITED" and body["action"]
        assert int(held.headers["Retry-After"]) >= 1
        assert "access_token" not in held.text


def test_the_right_key_is_never_locked_out_by_another_callers_guesses(
    start_engine: Callable[..., RunningEngine],
) -> None:
    from odyssey_jupyter.local.http.limits import AUTH_BURST, AUTH_FREE_FAILURES

    running = start_engine("--workers", "1")
    url = f"{running.url}/auth/token"
    with httpx.Client(timeout=10) as guesser, httpx.Client(timeout=10) as owner:
        for attempt in range(AUTH_FREE_FAILURES + AUTH_BURST + 5):
            wrong = guesser.post(url, json={"api_key": f"ody_guess_{attempt}"})
            assert wrong.status_code in (401, 429)
            right = owner.post(url, json={"api_key": running.api_key})
            assert right.status_code == 200, (attempt, right.text)
            assert right.json()["access_token"]
        still_held = guesser.post(url, json={"api_key": "ody_guess_last"})
    assert still_held.status_code == 429  # the owner's successes did not reset the backoff


def test_a_guesser_who_keeps_at_it_for_a_day_stays_held_at_the_longest_backoff() -> None:
    from odyssey_jupyter.local.http.limits import AUTH_MAX_BACKOFF, AuthThrottle

    throttle, now = AuthThrottle(), 0.0
    for _ in range(1500):  # one wrong key each time the backoff allows: about 25 hours
        wait = throttle.check("10.0.0.9", now)
        now += wait or 0.0
        assert throttle.check("10.0.0.9", now) is None
        throttle.failed("10.0.0.9", now)
    assert throttle.check("10.0.0.9", now) == AUTH_MAX_BACKOFF


def test_forwarded_headers_are_ignored_unless_trusted(
    start_engine: Callable[..., RunningEngine],
) -> None:
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    plain = start_engine("--workers", "1")
    with closing(client_for(plain)) as client:
        job = run_job(client, {"script": short_script()})
        detail = client.get(f"/simulation-jobs/{job['job_id']}", headers=forged).json()
        assert detail["streams"][0]["video_url"].startswith("http://127.0.0.1:")
    trusting = start_engine("--workers", "1", "--forwarded-allow-ips", "127.0.0.1")
    with closing(client_for(trusting)) as client:
        job = run_job(client, {"script": short_script()})
        detail = client.get(f"/simulation-jobs/{job['job_id']}", headers=forged).json()
        assert detail["streams"][0]["video_url"].startswith("https://")


# --------------------------------------------------------------------------- usage limits


def test_the_rate_limit_counts_per_key_not_per_token(
    start_engine: Callable[..., RunningEngine],
) -> None:
    running = start_engine("--workers", "1", "--rate-limit", "0.5")
    statuses = []
    for _ in range(10):
        with closing(client_for(running)) as fresh:  # a new token for every request
            answer = fresh.get("/simulation-jobs")
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.json()["code"] == "RATE_LIMITED" and "per key" in answer.json()["detail"]
            break
    assert 429 in statuses, statuses


def test_a_job_larger_than_the_engine_takes_is_refused(
    start_engine: Callable[..., RunningEngine],
) -> None:
    running = start_engine("--workers", "1", "--max-job-streams", "3", "--max-job-seconds", "10")
    with closing(client_for(running)) as client:
        many = client.post("/simulation-jobs", json={"script": streams(4, 1)})
        assert many.status_code == 422
        assert "4 streams" in many.json()["detail"] and "--max-job-streams" in many.json()["detail"]
        batch = client.post("/simulation-jobs", json={"scripts": [streams(2, 1)] * 2})
        assert batch.status_code == 422 and "--max-job-streams" in batch.json()["detail"]
        long = client.post("/simulation-jobs", json={"script": streams(2, 6)})
        assert long.status_code == 422
        assert "12 s" in long.json()["detail"] and "--max-job-seconds" in long.json()["detail"]
        assert client.get("/simulation-jobs").json()["total"] == 0
        fits = client.post("/simulation-jobs", json={"script": streams(3, 1)})
        assert fits.status_code == 200


def test_the_default_caps_refuse_hours_of_video_in_one_job(api: httpx.Client) -> None:
    """Thirteen streams of 300 s (65 minutes): within the script rules, past the job cap."""
    before = api.get("/simulation-jobs").json()["total"]
    answer = api.post("/simulation-jobs", json={"script": streams(13, 300)})
    assert answer.status_code == 422 and "--max-job-seconds" in answer.json()["detail"]
    batch = api.post("/simulation-jobs", json={"scripts": [short_script()] * 100})
    assert batch.status_code == 200  # a full batch of one-stream scripts still fits
    api.delete(f"/simulation-jobs/{batch.json()['job_id']}")
    assert api.get("/simulation-jobs").json()["total"] == before + 1


def test_max_active_streams_counts_streams_of_active_jobs(
    start_engine: Callable[..., RunningEngine],
) -> None:
    running = start_engine("--workers", "1", "--pace", "realtime", "--max-active-streams", "3")
    with closing(client_for(running)) as client:
        first = client.post("/simulation-jobs", json={"script": streams(2, 30)})
        assert first.status_code == 200
        second = client.post("/simulation-jobs", json={"script": streams(2, 30)})
        assert second.status_code == 429
        body = second.json()
        assert body["code"] == "CONCURRENT_LIMIT_REACHED" and body["detail"] and body["action"]
        assert body["details"]["limit"] == 3
        one_more = client.post("/simulation-jobs", json={"script": streams(1, 30)})
        assert one_more.status_code == 200
        for job in (first, one_more):
            client.delete(f"/simulation-jobs/{job.json()['job_id']}")
            wait_terminal(client, job.json()["job_id"])
        again = client.post("/simulation-jobs", json={"script": streams(2, 1)})
        assert again.status_code == 200


def test_racing_submissions_cannot_all_pass_the_active_job_cap(
    start_engine: Callable[..., RunningEngine],
) -> None:
    """Parsing runs in threads, so the cap is checked and the job inserted under one lock."""
    running = start_engine("--workers", "1", "--pace", "realtime", "--max-active", "3")
    with closing(client_for(running)) as client:
        token = client.headers["Authorization"]

        def submit(index: int) -> int:
            answer = httpx.post(
                f"{running.url}/simulation-jobs",
                json={"script": streams(1, 30 + index)},
                headers={"Authorization": token},
                timeout=60,
            )
            return answer.status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(submit, range(12)))
        assert sorted(codes) == [200] * 3 + [429] * 9
        active = client.get("/simulation-jobs", params={"active": "true", "limit": 100}).json()
        assert active["total"] == 3
        for job in active["jobs"]:
            client.delete(f"/simulation-jobs/{job['job_id']}")


# --------------------------------------------------------------------------- hostile bytes


def test_hostile_bytes_in_keys_and_tokens_are_4xx_with_a_detail(engine: RunningEngine) -> None:
    for raw in (b'{"api_key": "\\ud800"}', b'{"api_key": "ody_\\udfff\\ud800x"}'):
        answer = httpx.post(
            f"{engine.url}/auth/token",
            content=raw,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 401 and has_detail(answer), raw
    for token in (b"olt_\xe9t\xe9.\xe9", b"olt_abc.\xff\xfe", "olt_é.x".encode()):
        answer = httpx.get(
            f"{engine.url}/simulation-jobs",
            headers=[(b"Authorization", b"Bearer " + token)],
            timeout=10,
        )
        assert answer.status_code == 401 and has_detail(answer), token


@pytest.fixture
def video_url(api: httpx.Client) -> str:
    job = run_job(api, {"script": short_script()})
    assert job["status"] == "completed"
    return str(job["streams"][0]["video_url"])


def test_a_non_ascii_signature_is_a_403(video_url: str) -> None:
    base, _, query = video_url.partition("?")
    expires = dict(part.split("=", 1) for part in query.split("&"))["expires"]
    for signature in ("%C3%A9t%C3%A9", "%FF%FE", "%ED%A0%80"):
        answer = httpx.get(f"{base}?expires={expires}&signature={signature}", timeout=10)
        assert answer.status_code == 403 and has_detail(answer), signature


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bytes=abc", 400),
        ("bytes=5-2", 400),
        ("items=0-10", 400),
        ("bytes", 400),
        ("bytes=-", 400),
        ("bytes=99999999999-", 416),
    ],
)
def test_a_malformed_range_is_a_json_4xx(video_url: str, header: str, status: int) -> None:
    answer = httpx.get(video_url, headers={"Range": header}, timeout=10)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert has_detail(answer)


def test_a_valid_range_still_answers_206(video_url: str) -> None:
    answer = httpx.get(video_url, headers={"Range": "bytes=0-9"}, timeout=10)
    assert answer.status_code == 206 and len(answer.content) == 10
