"""The retry decision as a pure function: one table of failed attempts and what follows.

No server: ``retry.decide`` sees only what failed (a status or a transport
error), whether the call may run twice, whether it carries a key the server
honours, and how much time and how many attempts are left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx
import pytest

from odyssey_jupyter.client.retry import GIVE_UP, RetryPolicy, decide

REQUEST = httpx.Request("POST", "http://127.0.0.1:9/simulation-jobs")


def policy() -> RetryPolicy:
    return RetryPolicy(
        max_retries=3,
        deadline=60.0,
        base_delay=1.0,
        max_delay=4.0,
        retry_after_cap=10.0,
        rng=random.Random(7),
    )


@dataclass(frozen=True)
class Case:
    name: str
    failure: int | BaseException
    retry: bool
    once_only: bool = False
    keyed: bool = False
    rate_limit: bool = False
    retry_after: float | None = None


CASES = [
    Case("503 on a read", 503, True),
    Case("502 on a read", 502, True),
    Case("408 on a read", 408, True),
    Case("503 on a submission", 503, False, once_only=True),
    Case("503 on a keyed submission", 503, True, once_only=True, keyed=True),
    Case("404 is an answer", 404, False),
    Case("400 is an answer", 400, False),
    Case("401 after the refresh", 401, False),
    Case("a rate limit on a submission", 429, True, once_only=True, rate_limit=True),
    Case("a monthly limit never passes by waiting", 429, False, rate_limit=False),
    Case("refused: never reached the server", httpx.ConnectError("refused"), True, once_only=True),
    Case("connect timeout on a submission", httpx.ConnectTimeout("slow"), True, once_only=True),
    Case("no free pool slot", httpx.PoolTimeout("busy"), True, once_only=True),
    Case("read timeout on a read", httpx.ReadTimeout("slow"), True),
    Case("read timeout on a submission", httpx.ReadTimeout("slow"), False, once_only=True),
    Case(
        "read timeout, keyed submission",
        httpx.ReadTimeout("slow"),
        True,
        once_only=True,
        keyed=True,
    ),
    Case("reset on a submission", httpx.ReadError("reset"), False, once_only=True),
    Case("reset on a read", httpx.ReadError("reset"), True),
    Case("a broken answer on a read", httpx.RemoteProtocolError("junk"), True),
    Case("not a transport error at all", ValueError("bug"), False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_which_failures_are_tried_again(case: Case) -> None:
    decision = decide(
        case.failure,
        attempt=1,
        policy=policy(),
        time_left=60.0,
        once_only=case.once_only,
        keyed=case.keyed,
        rate_limit=case.rate_limit,
        retry_after=case.retry_after,
    )
    assert decision.retry is case.retry
    if case.retry:
        assert 0.5 <= decision.wait <= 1.0  # first backoff: uniform in [base/2, base]
    else:
        assert decision == GIVE_UP


def test_the_servers_wait_wins_and_is_capped() -> None:
    asked = decide(429, attempt=1, policy=policy(), time_left=60, rate_limit=True, retry_after=3)
    assert asked.retry and asked.wait == 3.0
    greedy = decide(503, attempt=1, policy=policy(), time_left=60, retry_after=86400)
    assert greedy.retry and greedy.wait == 10.0  # retry_after_cap


def test_backoff_grows_with_the_attempt_up_to_its_ceiling() -> None:
    rules = policy()
    waits = [decide(503, attempt=n, policy=rules, time_left=60).wait for n in (1, 2, 3)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0


def test_a_late_retry_of_a_patient_policy_waits_the_longest_backoff() -> None:
    patient = RetryPolicy(max_retries=5000, deadline=1e9, rng=random.Random(7))
    late = decide(503, attempt=2000, policy=patient, time_left=1e9)
    assert late.retry and patient.max_delay / 2 <= late.wait <= patient.max_delay


def test_attempts_run_out() -> None:
    assert decide(503, attempt=3, policy=policy(), time_left=60).retry
    assert decide(503, attempt=4, policy=policy(), time_left=60) == GIVE_UP


def test_no_wait_may_overrun_the_time_left() -> None:
    in_time = decide(429, attempt=1, policy=policy(), time_left=5, rate_limit=True, retry_after=4)
    late = decide(429, attempt=1, policy=policy(), time_left=3.9, rate_limit=True, retry_after=4)
    assert in_time.retry and late == GIVE_UP
    assert decide(httpx.ConnectError("x"), attempt=1, policy=policy(), time_left=0.1) == GIVE_UP


def test_no_retries_at_all() -> None:
    none = RetryPolicy(max_retries=0)
    assert decide(httpx.ConnectError("refused"), attempt=1, policy=none, time_left=60) == GIVE_UP
