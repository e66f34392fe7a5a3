"""Job browser: first-page time with 1,000 jobs in the account, widgets after 100 refreshes.

Baseline: one bare ``list_simulations(limit=20)`` through the same runtime, measured
in the same run. 980 jobs are submitted and cancelled at once (nothing to render),
then 20 short ones complete, so page 1 has thumbnails and durations to fill in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from support.scripts import script

from benchmarks._support import launch_engine
from benchmarks.table import print_table, ratio

if TYPE_CHECKING:
    from odyssey_jupyter.display.browser import JobBrowser

TOTAL_JOBS = 1000
FINISHED_JOBS = 20
REFRESHES = 100


async def _fill_account(url: str, key: str) -> None:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.errors import InvalidRequestError

    async with Odyssey(api_key=key, api_url=url) as client:
        semaphore = asyncio.Semaphore(8)

        async def throwaway(i: int) -> None:
            async with semaphore:
                job = await client.simulate(
                    script(1.0, f"bench scene {i}", interact=None), portrait=False
                )
                with contextlib.suppress(InvalidRequestError):  # already rendered: fine too
                    await client.cancel_simulation(job.job_id)

        await asyncio.gather(*(throwaway(i) for i in range(TOTAL_JOBS - FINISHED_JOBS)))
        ids = [
            (
                await client.simulate(
                    script(1.0, f"bench scene {i}", interact=None), portrait=False
                )
            ).job_id
            for i in range(FINISHED_JOBS)
        ]
        for job_id in ids:
            await client.wait(job_id, timeout=300)


def _widget_count() -> int:
    import ipywidgets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return len(ipywidgets.Widget.widgets)


def _timed_browser() -> tuple[float, float, JobBrowser]:
    from odyssey_jupyter.display.browser import JobBrowser

    started = time.perf_counter()
    browser = JobBrowser(limit=20, auto_refresh=False)
    browser._first_page.wait(60)
    first = time.perf_counter() - started
    browser.wait(120)
    filled = time.perf_counter() - started
    return first, filled, browser


def run() -> None:
    from odyssey_jupyter.display.browser import clear_caches
    from odyssey_jupyter.session.runtime import get_runtime, shutdown_runtime

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        engine = launch_engine(work / "engine", "--workers", "2", "--rate-limit", "100000")
        old_cwd = os.getcwd()
        try:
            os.chdir(work)
            os.environ["ODYSSEY_API_URL"] = engine.url
            os.environ["ODYSSEY_API_KEY"] = engine.api_key
            os.environ["ODYSSEY_HISTORY_PATH"] = str(work / "history.jsonl")
            filling = time.perf_counter()
            asyncio.run(_fill_account(engine.url, engine.api_key))
            fill_s = time.perf_counter() - filling
            shutdown_runtime()
            runtime = get_runtime()

            async def bare() -> int:
                client = await runtime.get_client()
                page = await client.list_simulations(limit=20)
                return page.total

            total = runtime.run(bare(), timeout=60)  # warm the client (token, engine)
            bare_times = []
            for _ in range(10):
                started = time.perf_counter()
                runtime.run(bare(), timeout=60)
                bare_times.append(time.perf_counter() - started)
            baseline = statistics.median(bare_times)

            clear_caches()
            cold_first, cold_filled, cold = _timed_browser()
            cold.close()
            warm_first, warm_filled, browser = _timed_browser()

            widgets_before = _widget_count()
            refresh_times = []
            for _ in range(REFRESHES):
                started = time.perf_counter()
                browser.refresh().result(60)
                browser.wait(60)
                refresh_times.append(time.perf_counter() - started)
            widgets_after = _widget_count()
            browser.close()
            threads = threading.active_count()
        finally:
            os.chdir(old_cwd)
            shutdown_runtime()
            engine.stop()

    rows: list[list[object]] = [
        ["bare list_simulations(limit=20) (baseline)", baseline, 1.0],
        ["browser first page shown, cold caches", cold_first, ratio(cold_first, baseline)],
        ["browser page filled (details+thumbs), cold", cold_filled, ratio(cold_filled, baseline)],
        ["browser first page shown, warm caches", warm_first, ratio(warm_first, baseline)],
        ["browser page filled, warm", warm_filled, ratio(warm_filled, baseline)],
        [
            "one refresh (median of 100)",
            statistics.median(refresh_times),
            ratio(statistics.median(refresh_times), baseline),
        ],
    ]
    print_table(
        f"job browser: {total:,} jobs in the account, page of 20 (seconds)",
        ["measure", "seconds", "x baseline"],
        rows,
        note=f"account filled in {fill_s:.1f} s (not part of any figure)",
    )
    print_table(
        f"job browser: widget count over {REFRESHES} refreshes",
        ["measure", "widgets"],
        [
            ["ipywidgets.Widget.widgets before the refreshes", widgets_before],
            [f"after {REFRESHES} refreshes", widgets_after],
            ["growth", widgets_after - widgets_before],
        ],
        note=f"{threads} threads alive at the end",
    )


if __name__ == "__main__":
    run()
