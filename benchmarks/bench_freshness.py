"""Status freshness: how late a job handle learns of a status change the engine made.

The engine stamps each change (``started_at``, ``completed_at``); a listener on the
``Job`` handle notes the wall time at which the handle first shows the new
status. Same machine, same clock. Default settings throughout. Baseline: the
Simulate API guide's loop, one per job, polling ``GET /simulation-jobs/{id}``
every 5 s, run at the same time on the same jobs.

Jobs: 3 s streams on a realtime-paced engine with two workers, submitted
1.3 s apart so their changes land at unrelated moments.

Goal: median delay at most 1 s.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks._support import Engine, engine, median, percentile
from benchmarks.table import print_table, ratio

JOBS = 12
GAP = 1.3
GUIDE_INTERVAL = 5.0
SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "a kite climbs"}},
    {"timestamp_ms": 1500, "interact": {"prompt": "the wind turns"}},
    {"timestamp_ms": 3000, "end": {}},
]
TRANSITIONS = (
    ("completed", "completed_at"),
    ("processing", "started_at"),
    ("dispatched", "dispatched_at"),
)
"""Each status and the engine's timestamp of the change into it."""


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Seen:
    """First wall time at which one observer showed each (job id, status)."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def note(self, job_id: str, status: str, when: float) -> None:
        with self._lock:
            self.first.setdefault((job_id, status), when)


async def _guide_loop(client: Any, job_id: str, seen: Seen) -> None:
    """The guide's loop: ask, and while the job is not over, sleep 5 s and ask again."""
    while True:
        detail = await client.get_simulate_status(job_id)
        seen.note(job_id, str(detail.status), time.time())
        if detail.is_terminal:
            return
        await asyncio.sleep(GUIDE_INTERVAL)


def _guide_thread(url: str, key: str, ids: list[str], seen: Seen, done: threading.Event) -> None:
    from odyssey_jupyter.client.odyssey import Odyssey

    async def main() -> None:
        async with Odyssey(api_key=key, api_url=url) as client:
            tasks: list[asyncio.Task[None]] = []
            known = 0
            while not done.is_set() or known < len(ids):
                while known < len(ids):
                    tasks.append(asyncio.create_task(_guide_loop(client, ids[known], seen)))
                    known += 1
                await asyncio.sleep(0.01)
            await asyncio.gather(*tasks)

    asyncio.run(main())


def _delays(seen: Seen, status: str, stamps: dict[str, float | None]) -> list[float]:
    """Observer time minus engine time, for the changes to ``status`` it saw at all."""
    return [
        seen.first[(job_id, status)] - stamp
        for job_id, stamp in stamps.items()
        if stamp is not None and (job_id, status) in seen.first
    ]


def _measure(running: Engine) -> tuple[Seen, Seen, dict[str, dict[str, Any]]]:
    from odyssey_jupyter.session import jobs

    handle_seen, guide_seen = Seen(), Seen()
    ids: list[str] = []
    all_known = threading.Event()
    guide = threading.Thread(
        target=_guide_thread,
        args=(running.url, running.api_key, ids, guide_seen, all_known),
        daemon=True,
    )
    guide.start()

    def listener(job: Any) -> None:
        if job.job_id is not None and job.status is not None:
            handle_seen.note(job.job_id, str(job.status), time.time())

    handles = []
    for _ in range(JOBS):
        job = jobs.simulate(SCRIPT, download=False)
        job.add_listener(listener)
        handles.append(job)
        deadline = time.monotonic() + 30
        while job.job_id is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if job.job_id is None:
            raise RuntimeError(f"submission failed: {job.error}")
        ids.append(job.job_id)
        time.sleep(GAP)
    all_known.set()
    for job in handles:
        job.wait(timeout=120)
    guide.join(timeout=60)
    details = {job_id: running.get(f"/simulation-jobs/{job_id}") for job_id in ids}
    return handle_seen, guide_seen, details


def run() -> None:
    from odyssey_jupyter.session.config import get_config
    from odyssey_jupyter.session.runtime import shutdown_runtime

    with (
        tempfile.TemporaryDirectory(prefix="odyssey-bench-fresh-") as tmp,
        engine("--workers", "2", "--pace", "realtime", "--fps", "6") as running,
    ):
        saved = {k: os.environ.get(k) for k in ("ODYSSEY_API_URL", "ODYSSEY_API_KEY")}
        os.environ["ODYSSEY_API_URL"] = running.url
        os.environ["ODYSSEY_API_KEY"] = running.api_key
        os.environ.setdefault("ODYSSEY_HISTORY_PATH", str(Path(tmp) / "history.jsonl"))
        get_config().recordings_dir = str(Path(tmp) / "recordings")
        try:
            handle_seen, guide_seen, details = _measure(running)
        finally:
            shutdown_runtime()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    rows: list[list[object]] = []
    for status, field in TRANSITIONS:
        stamps = {job_id: _epoch(d.get(field)) for job_id, d in details.items()}
        mine = _delays(handle_seen, status, stamps)
        theirs = _delays(guide_seen, status, stamps)
        speedup = ratio(median(mine), median(theirs))
        rows.append(
            [f"Job handle sees '{status}'", median(mine), percentile(mine, 95), len(mine), speedup]
        )
        guide = f"baseline: 5 s guide loop sees '{status}'"
        rows.append([guide, median(theirs), percentile(theirs, 95), len(theirs), 1.0])
    print_table(
        "2. Status freshness at default settings (goal: median <= 1 s)",
        ["what", "median s", "p95 s", f"seen of {JOBS}", "ratio to baseline"],
        rows,
        note=f"{JOBS} jobs of 3 s streams, realtime engine, 2 workers, submitted {GAP:g} s apart; "
        "delay = wall time the observer first shows the status - the engine's timestamp\n"
        "(completed_at, started_at, dispatched_at). An observer that polls too rarely never "
        "sees a short-lived status: 'seen' counts the changes it did see.",
    )


if __name__ == "__main__":
    run()
