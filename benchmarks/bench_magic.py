"""How long ``%%odyssey_simulate`` blocks the notebook when the API takes 2 s to accept a job.

A delaying proxy holds every ``POST /simulation-jobs`` answer back by 2 s. The
magic runs in-process in an IPython ``InteractiveShell`` after
``%load_ext odyssey_jupyter``; ``jobs.simulate()`` (what the magic calls) is timed
too. Baseline: ``await client.simulate(...)`` on the same proxy, the time a
notebook following the Simulate API guide waits before it can go on.

Goal: the magic's median under 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._proxies import DelayingProxy
from benchmarks._support import engine, median, percentile
from benchmarks.table import print_table, ratio

RUNS = 20
DELAY = 2.0
CELL = "%%odyssey_simulate --no-download\n0s start a lantern floats over a lake\n1s end\n"
SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "a lantern floats over a lake"}},
    {"timestamp_ms": 1000, "end": {}},
]


def _time_magic(shell: Any) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        result = shell.run_cell(CELL, store_history=False)
        elapsed = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"the magic failed: {result.error_in_exec or result.error_before_exec}")
    return elapsed


def _time_simulate() -> float:
    from odyssey_jupyter.session import jobs

    started = time.perf_counter()
    jobs.simulate(SCRIPT, download=False)
    return time.perf_counter() - started


async def _time_await(url: str, key: str) -> list[float]:
    from odyssey_jupyter.client.odyssey import Odyssey

    times = []
    async with Odyssey(api_key=key, api_url=url) as client:
        await client.list_simulations(limit=1)  # token and connection outside the clock
        for _ in range(RUNS):
            started = time.perf_counter()
            await client.simulate(SCRIPT)
            times.append(time.perf_counter() - started)
    return times


def run() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from odyssey_jupyter.session.config import get_config
    from odyssey_jupyter.session.runtime import shutdown_runtime

    with (
        tempfile.TemporaryDirectory(prefix="odyssey-bench-magic-") as tmp,
        engine("--workers", "1", "--fps", "6") as running,
        DelayingProxy(running.url, seconds=DELAY) as proxy,
    ):
        saved = {k: os.environ.get(k) for k in ("ODYSSEY_API_URL", "ODYSSEY_API_KEY")}
        os.environ["ODYSSEY_API_URL"] = proxy.url
        os.environ["ODYSSEY_API_KEY"] = running.api_key
        os.environ.setdefault("ODYSSEY_HISTORY_PATH", str(Path(tmp) / "history.jsonl"))
        get_config().recordings_dir = str(Path(tmp) / "recordings")
        # The shell prints the jobs' text displays from the loop thread: keep them out.
        quiet = contextlib.redirect_stdout(io.StringIO())
        quiet.__enter__()
        try:
            shell = InteractiveShell.instance()
            shell.run_line_magic("load_ext", "odyssey_jupyter")
            cold = _time_magic(shell)  # imports, first display, runtime thread start
            magic = [_time_magic(shell) for _ in range(RUNS)]
            simulate = [_time_simulate() for _ in range(RUNS)]
            awaited = asyncio.run(_time_await(proxy.url, running.api_key))
        finally:
            shutdown_runtime()
            quiet.__exit__(None, None, None)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            running.cancel_active()
    ms = 1000.0
    base = median(awaited) * ms
    rows: list[list[object]] = [
        [
            "%%odyssey_simulate (InteractiveShell)",
            median(magic) * ms,
            percentile(magic, 95) * ms,
            ratio(median(magic) * ms, base),
        ],
        [
            "jobs.simulate()",
            median(simulate) * ms,
            percentile(simulate, 95) * ms,
            ratio(median(simulate) * ms, base),
        ],
        ["baseline: await client.simulate()", base, percentile(awaited, 95) * ms, 1.0],
        ["first magic run (cold, not in the median)", cold * ms, None, ratio(cold * ms, base)],
    ]
    print_table(
        f"1. Magic return time, API answering submissions after {DELAY:g} s (goal: median < 50 ms)",
        ["what", "median ms", "p95 ms", "ratio to baseline"],
        rows,
        note=f"{RUNS} runs each; a proxy on 127.0.0.1 holds each POST /simulation-jobs answer "
        f"back {DELAY:g} s; the magic's cell runs with --no-download and its output discarded.",
    )


if __name__ == "__main__":
    run()
