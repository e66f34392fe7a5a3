"""The client through a fault-injecting proxy: transient faults are ridden out, and a
submission is never repeated unless it provably never reached the server, or the
server has declared that it honours idempotency keys (the engine does; the
``plain_proxy`` hides that declaration to play a server that does not)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.engines import RunningEngine
from support.faultproxy import FaultProxy

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.client.retry import RetryPolicy, parse_retry_after
from odyssey_jupyter.errors import (
    APIError,
    OdysseyConnectionError,
    OdysseyTimeoutError,
    RateLimitError,
    ServerError,
)
from odyssey_jupyter.protocol import idempotency

T = TypeVar("T")

SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "A windmill turning slowly"}},
    {"timestamp_ms": 500, "end": {}},
]


@pytest.fixture
def proxy(engine: RunningEngine) -> Iterator[FaultProxy]:
    with FaultProxy(engine.url, seed=1234, stall_seconds=5.0, retry_after="0.1") as running:
        yield running


@pytest.fixture
def plain_proxy(engine: RunningEngine) -> Iterator[FaultProxy]:
    """The engine as a server that makes no promise about idempotency keys."""
    with FaultProxy(
        engine.url,
        seed=1234,
        stall_seconds=5.0,
        retry_after="0.1",
        hide_headers=[idempotency.SUPPORT_HEADER],
    ) as running:
        yield running


def run(
    engine: RunningEngine, proxy: FaultProxy, body: Callable[[Odyssey], Awaitable[T]], **kw: Any
) -> T:
    kw.setdefault("retry_backoff", 0.02)
    kw.setdefault("retry_backoff_max", 0.1)
    kw.setdefault("timeout", 2.0)

    async def main() -> T:
        async with Odyssey(engine.api_key, proxy.url, **kw) as client:
            return await body(client)

    return asyncio.run(main())


def job_total(engine: RunningEngine) -> int:
    async def count() -> int:
        async with Odyssey(engine.api_key, engine.url) as client:
            return (await client.list_simulations(limit=1)).total

    return asyncio.run(count())


def submitted(proxy: FaultProxy) -> int:
    return proxy.count(method="POST", path="/simulation-jobs")


# --------------------------------------------------------------------------- reads ride out faults


@pytest.mark.parametrize("fault", ["500", "502", "503", "504", "408", "429", "reset", "stall"])
def test_each_transient_fault_on_a_read_is_retried(
    engine: RunningEngine, proxy: FaultProxy, fault: str
) -> None:
    proxy.add_rule(sequence=[fault, fault], method="GET", path="/simulation-jobs")
    page = run(engine, proxy, lambda c: c.list_simulations(limit=1), timeout=0.5)
    assert page.limit == 1
    assert proxy.count(method="GET", path="/simulation-jobs", action=fault) == 2
    assert proxy.count(method="GET", path="/simulation-jobs", action="ok") == 1


def test_a_seeded_mix_of_faults_is_ridden_out(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(
        rates={"503": 0.15, "500": 0.1, "reset": 0.1, "429": 0.1, "truncate": 0.1},
        method="GET",
    )

    async def body(client: Odyssey) -> int:
        job = await client.simulate(SCRIPT)
        done = await client.wait(job.job_id, timeout=60, poll_interval=0.05)
        for _ in range(10):
            assert (await client.get_simulate_status(job.job_id)).status == "completed"
        return len(done.streams)

    assert run(engine, proxy, body, max_retries=10) == 1
    injected = sum(n for action, n in proxy.counts.items() if action != "ok")
    assert injected >= 3, proxy.counts


def test_retries_stop_after_max_retries(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(rates={"503": 1.0}, method="GET")
    with pytest.raises(ServerError) as info:
        run(engine, proxy, lambda c: c.list_simulations(), max_retries=3)
    assert info.value.status_code == 503 and "injected" in str(info.value)
    assert proxy.count(method="GET", action="503") == 4


def test_retries_stop_at_the_overall_deadline(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(rates={"503": 1.0}, method="GET")
    with pytest.raises(ServerError):
        run(
            engine,
            proxy,
            lambda c: c.list_simulations(),
            max_retries=1000,
            retry_deadline=0.5,
            retry_backoff=0.1,
        )
    assert 2 <= proxy.count(method="GET", action="503") < 1000


def test_persistent_resets_become_a_connection_error(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    proxy.add_rule(rates={"reset": 1.0}, method="GET")
    with pytest.raises(OdysseyConnectionError, match="cannot reach"):
        run(engine, proxy, lambda c: c.get_simulate_status("any"), max_retries=2)


def test_persistent_stalls_become_a_timeout_error(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(rates={"stall": 1.0}, method="GET")
    with pytest.raises(OdysseyTimeoutError) as info:
        run(engine, proxy, lambda c: c.get_simulate_status("any"), max_retries=1, timeout=0.3)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, ConnectionError)


def test_rate_limit_with_retry_after_is_waited_out(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    proxy.retry_after = "0.3"
    proxy.add_rule(sequence=["429"], method="GET")
    page = run(engine, proxy, lambda c: c.list_simulations(limit=1), retry_backoff=0.0)
    assert page.limit == 1 and proxy.counts["429"] == 1


def test_rate_limit_that_never_ends_is_raised_with_retry_after(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    proxy.add_rule(rates={"429": 1.0}, method="GET")
    with pytest.raises(RateLimitError) as info:
        run(engine, proxy, lambda c: c.list_simulations(), max_retries=2)
    assert info.value.retry_after == pytest.approx(0.1) and info.value.code == "RATE_LIMITED"


# --------------------------------------------------------------------------- auth


def test_a_401_refreshes_the_token_once(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(sequence=["401"], method="GET")
    run(engine, proxy, lambda c: c.list_simulations(limit=1))
    assert proxy.count(path="/auth/token") == 2


def test_concurrent_callers_share_one_token_exchange(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    proxy.delay = 0.05  # keep the exchange in flight while the others arrive

    async def body(client: Odyssey) -> None:
        await asyncio.gather(*(client.list_simulations(limit=1) for _ in range(8)))

    run(engine, proxy, body)
    assert proxy.count(path="/auth/token") == 1


def test_the_token_exchange_itself_is_retried(engine: RunningEngine, proxy: FaultProxy) -> None:
    proxy.add_rule(sequence=["503", "reset"], path="/auth/token")
    run(engine, proxy, lambda c: c.list_simulations(limit=1))
    assert proxy.count(path="/auth/token") == 3


# --------------------------------------------------------------------------- no duplicate jobs


@pytest.mark.parametrize("fault", ["500_after", "reset_after", "stall_after"])
def test_a_submission_that_reached_the_server_is_never_repeated(
    engine: RunningEngine, plain_proxy: FaultProxy, fault: str
) -> None:
    before = job_total(engine)
    plain_proxy.add_rule(sequence=[fault], method="POST", path="/simulation-jobs")
    with pytest.raises((ServerError, OdysseyConnectionError)):
        run(engine, plain_proxy, lambda c: c.simulate(SCRIPT), timeout=0.5)
    assert submitted(plain_proxy) == 1
    assert job_total(engine) == before + 1  # the server made it once; we did not ask twice


@pytest.mark.parametrize("fault", ["500", "503", "502", "504", "408", "reset", "stall"])
def test_a_failed_submission_is_reported_not_repeated(
    engine: RunningEngine, plain_proxy: FaultProxy, fault: str
) -> None:
    before = job_total(engine)
    plain_proxy.add_rule(sequence=[fault], method="POST", path="/simulation-jobs")
    with pytest.raises((APIError, OdysseyConnectionError)):
        run(engine, plain_proxy, lambda c: c.simulate(SCRIPT), timeout=0.5)
    assert submitted(plain_proxy) == 1
    assert job_total(engine) == before


@pytest.mark.parametrize(
    "faults",
    [["500_after"], ["reset_after"], ["stall_after"], ["truncate"], ["500", "503", "reset"]],
)
def test_a_keyed_submission_is_repeated_and_makes_one_job(
    engine: RunningEngine, proxy: FaultProxy, faults: list[str]
) -> None:
    """Against a server that honours keys, a lost answer is asked for again with the same key."""
    before = job_total(engine)
    proxy.add_rule(sequence=faults, method="POST", path="/simulation-jobs")
    job = run(engine, proxy, lambda c: c.simulate(SCRIPT), timeout=0.5)
    assert submitted(proxy) == len(faults) + 1
    assert job_total(engine) == before + 1  # every repeat named the same job
    keys = {
        headers.get("idempotency-key")
        for headers in proxy.request_headers("POST", "/simulation-jobs")
    }
    assert len(keys) == 1 and None not in keys
    assert job.job_id


def test_a_rate_limited_submission_is_retried_and_creates_one_job(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    before = job_total(engine)
    proxy.add_rule(sequence=["429", "429"], method="POST", path="/simulation-jobs")
    job = run(engine, proxy, lambda c: c.simulate(SCRIPT))
    assert job.status == "pending" and submitted(proxy) == 3
    assert job_total(engine) == before + 1


def test_a_refused_connection_is_retried_for_a_submission(
    engine: RunningEngine, proxy: FaultProxy
) -> None:
    before = job_total(engine)

    async def body(client: Odyssey) -> str:
        await client.list_simulations(limit=1)  # the token is cached; now the door shuts
        await asyncio.to_thread(proxy.pause)

        async def reopen() -> None:
            await asyncio.sleep(0.4)
            await asyncio.to_thread(proxy.resume)

        opener = asyncio.create_task(reopen())
        job = await client.simulate(SCRIPT)
        await opener
        return job.job_id

    job_id = run(engine, proxy, body, retry_backoff=0.1, retry_backoff_max=0.2, max_retries=20)
    assert job_id and submitted(proxy) == 1  # every refused attempt died before reaching it
    assert job_total(engine) == before + 1


# --------------------------------------------------------------------------- downloads


def test_download_survives_truncated_and_reset_bodies(
    engine: RunningEngine, proxy: FaultProxy, tmp_path: Path
) -> None:
    async def body(client: Odyssey) -> dict[str, Path]:
        job = await client.simulate(SCRIPT)
        done = await client.wait(job.job_id, timeout=60, poll_interval=0.05)
        proxy.add_rule(sequence=["truncate", "reset", "503", "stall"], path="/artifacts/")
        return await client.download(done.streams[0].stream_id, tmp_path)

    paths = run(engine, proxy, body, download_timeout=0.5)
    assert len(paths) == 4
    assert paths["video"].read_bytes()[4:8] == b"ftyp"
    assert proxy.count(path="/artifacts/", action="truncate") == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_download_gives_up_cleanly(
    engine: RunningEngine, proxy: FaultProxy, tmp_path: Path
) -> None:
    async def body(client: Odyssey) -> None:
        job = await client.simulate(SCRIPT)
        done = await client.wait(job.job_id, timeout=60, poll_interval=0.05)
        proxy.add_rule(rates={"truncate": 1.0}, path="/artifacts/")
        await client.download(done.streams[0].stream_id, tmp_path)

    with pytest.raises(OdysseyConnectionError, match="video"):
        run(engine, proxy, body, max_retries=2)
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


# --------------------------------------------------------------------------- retry arithmetic


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (parse_retry_after(date, now=now) or 0) <= 31
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_backoff_grows_with_jitter_and_retry_after_is_capped() -> None:
    import random

    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, retry_after_cap=10.0, rng=random.Random(3))
    delays = [policy.backoff(n) for n in range(1, 8)]
    assert all(0.25 <= d <= 4.0 for d in delays)
    assert max(delays[4:]) > max(delays[:1])
    assert policy.delay(1, 3600.0) == 10.0
    assert policy.delay(1, 2.0) == 2.0
