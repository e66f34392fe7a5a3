"""The engine's front door under an oversized-body attack on ``POST /auth/token``.

Six clients at once each post a 63 MB JSON body to the key exchange while a
seventh polls ``GET /simulation-jobs/{id}``. Before the body cap, the engine
buffered and parsed every such body on its event loop; now it refuses past
64 KB (413) before reading on. Figures: the engine's peak memory growth and the
status call's latency during the attack, against the same engine idle.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from support.procfs import status_kb
from support.scripts import script

from benchmarks._support import engine, median, percentile
from benchmarks.table import print_table, ratio

ATTACKERS = 6
BODY_MB = 63


def _attack_body() -> bytes:
    padding = b"a" * (BODY_MB * 1024 * 1024)
    return b'{"api_key": "ody_wrong", "padding": "' + padding + b'"}'


def _post_big(url: str, body: bytes, answers: list[int]) -> None:
    try:
        answer = httpx.post(
            f"{url}/auth/token",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        answers.append(answer.status_code)
    except httpx.HTTPError:
        answers.append(0)  # the engine closed the connection after refusing


def _status_times(url: str, path: str, token: str, until: threading.Event) -> list[float]:
    times: list[float] = []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        while not until.is_set() or len(times) < 5:
            started = time.perf_counter()
            client.get(f"{url}{path}").raise_for_status()
            times.append(time.perf_counter() - started)
            time.sleep(0.01)
    return times


def run() -> None:
    with engine("--workers", "1") as running:
        created: dict[str, Any] = httpx.post(
            f"{running.url}/simulation-jobs",
            json={"script": script(1, "a quiet lake", interact=None)},
            headers={"Authorization": f"Bearer {running.token()}"},
            timeout=30,
        ).json()
        path = f"/simulation-jobs/{created['job_id']}"
        idle_done = threading.Event()
        threading.Timer(2.0, idle_done.set).start()
        idle = _status_times(running.url, path, running.token(), idle_done)
        rss_before = status_kb(running.pid, "VmRSS")
        body = _attack_body()
        answers: list[int] = []
        done = threading.Event()
        timings: list[float] = []
        poller = threading.Thread(
            target=lambda: timings.extend(_status_times(running.url, path, running.token(), done))
        )
        poller.start()
        attackers = [
            threading.Thread(target=_post_big, args=(running.url, body, answers))
            for _ in range(ATTACKERS)
        ]
        started = time.perf_counter()
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join()
        attack_seconds = time.perf_counter() - started
        done.set()
        poller.join()
        peak_growth_mb = (status_kb(running.pid, "VmHWM") - rss_before) / 1024
    statuses = ", ".join(str(s) for s in sorted(set(answers)))
    rows: list[list[object]] = [
        [
            "status call during the attack (max)",
            f"{max(timings) * 1000:.1f} ms",
            f"{max(idle) * 1000:.1f} ms",
            ratio(max(timings), max(idle)),
        ],
        [
            "status call during the attack (median / p95)",
            f"{median(timings) * 1000:.1f} / {percentile(timings, 95) * 1000:.1f} ms",
            f"{median(idle) * 1000:.1f} / {percentile(idle, 95) * 1000:.1f} ms",
            ratio(median(timings), median(idle)),
        ],
        ["engine peak RSS growth", f"{peak_growth_mb:.1f} MB", "-", None],
        ["attack answered", f"{statuses} in {attack_seconds:.2f} s", "-", None],
    ]
    print_table(
        f"Engine front door: {ATTACKERS} x {BODY_MB} MB POST /auth/token at once "
        "(goal: status call not stalled; memory growth < 50 MB)",
        ["what", "under attack", "idle engine", "ratio"],
        rows,
        note="Peak RSS growth is VmHWM during the attack minus VmRSS before it.",
    )
