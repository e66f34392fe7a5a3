"""Polling cost: HTTP requests per minute while 1, 10 and 100 jobs are active and watched.

The runtime (the shared watcher behind every ``Job`` handle) talks to the engine
through one counting proxy; the baseline, one Simulate-API-guide loop per job
(``GET /simulation-jobs/{id}`` every 5 s), talks through another, at the same
time, for the same jobs. Jobs are 120 s streams on a realtime-paced engine (two
workers, so two render and the rest wait in the queue), cancelled afterwards.

Each count covers a 20 s window that starts 8 s after the last submission, scaled
to a minute: short, to keep ``make bench`` short. It includes the watcher's
behaviour for young jobs (polled faster in their first seconds) only partly.

Goal: with 100 jobs, at least 50 times fewer requests than the baseline.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

from support.scripts import script

from benchmarks._proxies import CountingProxy
from benchmarks._support import Engine, engine
from benchmarks.table import print_table, ratio

COUNTS = (1, 10, 100)
WARM_UP = 8.0
WINDOW = 20.0
GUIDE_INTERVAL = 5.0
SCRIPT = script(120, "a long slow sunrise", interact=None)


class GuideLoops:
    """One guide-style polling loop per job, on a thread of its own with its own client."""

    def __init__(self, url: str, key: str, job_ids: list[str]) -> None:
        self._url, self._key, self._ids = url, key, job_ids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _loop(self, client: object, job_id: str) -> None:
        from odyssey_jupyter.client.odyssey import Odyssey

        assert isinstance(client, Odyssey)
        while not self._stop.is_set():
            detail = await client.get_simulate_status(job_id)
            if detail.is_terminal:
                return
            await asyncio.sleep(GUIDE_INTERVAL)

    async def _main(self) -> None:
        from odyssey_jupyter.client.odyssey import Odyssey

        async with Odyssey(api_key=self._key, api_url=self._url) as client:
            tasks = [asyncio.create_task(self._loop(client, i)) for i in self._ids]
            while not self._stop.is_set():
                await asyncio.sleep(0.05)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> GuideLoops:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _one(count: int, running: Engine, mine: CountingProxy, guide: CountingProxy) -> list[object]:
    from odyssey_jupyter.session import jobs
    from odyssey_jupyter.session.runtime import get_runtime
    from odyssey_jupyter.session.watcher import Watcher

    handles = [jobs.simulate(SCRIPT, download=False) for _ in range(count)]
    deadline = time.monotonic() + 120
    while any(job.job_id is None for job in handles):
        failed = [job for job in handles if job.phase == "error"]
        if failed or time.monotonic() > deadline:
            raise RuntimeError(f"submission failed: {failed[0].error if failed else 'timeout'}")
        time.sleep(0.05)
    ids = [str(job.job_id) for job in handles]
    with GuideLoops(guide.url, running.api_key, ids):
        time.sleep(WARM_UP)
        mine_0, guide_0 = mine.requests(), guide.requests()
        time.sleep(WINDOW)
        mine_n, guide_n = mine.requests() - mine_0, guide.requests() - guide_0
    running.cancel_active()
    watcher = Watcher.of(get_runtime())
    deadline = time.monotonic() + 30
    while watcher.jobs and time.monotonic() < deadline:
        time.sleep(0.1)
    scale = 60.0 / WINDOW
    return [count, mine_n * scale, guide_n * scale, ratio(guide_n, mine_n)]


def run() -> None:
    from odyssey_jupyter.session.config import get_config
    from odyssey_jupyter.session.runtime import shutdown_runtime

    with (
        tempfile.TemporaryDirectory(prefix="odyssey-bench-polling-") as tmp,
        engine("--workers", "2", "--pace", "realtime", "--fps", "1") as running,
        CountingProxy(running.url) as mine,
        CountingProxy(running.url) as guide,
    ):
        saved = {k: os.environ.get(k) for k in ("ODYSSEY_API_URL", "ODYSSEY_API_KEY")}
        os.environ["ODYSSEY_API_URL"] = mine.url
        os.environ["ODYSSEY_API_KEY"] = running.api_key
        os.environ.setdefault("ODYSSEY_HISTORY_PATH", str(Path(tmp) / "history.jsonl"))
        get_config().recordings_dir = str(Path(tmp) / "recordings")
        try:
            rows = [_one(count, running, mine, guide) for count in COUNTS]
        finally:
            shutdown_runtime()
            running.cancel_active()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    print_table(
        "3. Polling cost while watching active jobs (goal: 100 jobs, >= 50x fewer than baseline)",
        ["active jobs", "watcher req/min", "baseline req/min", "times fewer"],
        rows,
        note=f"Counted at two proxies over a {WINDOW:g} s window starting {WARM_UP:g} s after "
        "the last submission, scaled x3 to a minute.\n"
        "Baseline: one guide-style loop per job (GET /simulation-jobs/{id} every 5 s). "
        "Jobs: 120 s streams, realtime engine, 2 workers (2 render, the rest queue).",
    )


if __name__ == "__main__":
    run()
