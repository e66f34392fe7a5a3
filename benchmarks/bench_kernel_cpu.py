"""Kernel overhead: CPU time of a real IPython kernel while it watches 100 active jobs.

A kernel is started through ``jupyter_client`` (as Jupyter does). 100 jobs of 300 s
streams are submitted to a realtime-paced engine from outside the kernel (two
render, the rest wait in the queue, all stay active). The kernel then follows
them three ways, one after the other, and the CPU seconds of the kernel process
(all its threads, from /proc) are divided by the wall time:

* idle: nothing running in the kernel (the floor: heartbeats, the IOPub thread);
* baseline: 100 Simulate-API-guide loops (``get_simulate_status`` every 5 s) on
  a thread of the kernel, as ``asyncio.run(main())`` in a notebook would run them;
* ``Job.from_id`` for each job: the shared watcher of odyssey_jupyter.

Goal: under 2% of one core for the watcher.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from support.scripts import script

from benchmarks._support import Engine, cpu_seconds, engine
from benchmarks.table import print_table, ratio

JOBS = 100
IDLE = 10.0
GUIDE = 30.0
WATCH = 60.0
SCRIPT = script(300, "clouds drift over a valley", interact=None)

GUIDE_CODE = """
import asyncio, threading
from odyssey_jupyter.client.odyssey import Odyssey
_stop_guides = threading.Event()
async def _guide(client, job_id):
    while not _stop_guides.is_set():
        detail = await client.get_simulate_status(job_id)
        if detail.is_terminal:
            return
        await asyncio.sleep(5)
async def _guides(ids):
    async with Odyssey() as client:
        tasks = [asyncio.create_task(_guide(client, i)) for i in ids]
        while not _stop_guides.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
_guide_thread = threading.Thread(target=lambda: asyncio.run(_guides(IDS)), daemon=True)
_guide_thread.start()
"""

WATCH_CODE = """
from odyssey_jupyter.session.jobs import Job
handles = [Job.from_id(i) for i in IDS]
"""


def _submit(running: Engine, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {running.token()}"}
    ids = []
    with httpx.Client(base_url=running.url, headers=headers, timeout=30) as http:
        for _ in range(count):
            answer = http.post("/simulation-jobs", json={"script": SCRIPT})
            answer.raise_for_status()
            ids.append(answer.json()["job_id"])
    return ids


def _execute(client: Any, code: str) -> None:
    reply = client.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error: {reply['content'].get('evalue')}")


def _cpu_share(pid: int, seconds: float) -> float:
    """Percent of one core the process used over the next ``seconds``."""
    cpu_0, wall_0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - cpu_0) / (time.monotonic() - wall_0)


def run() -> None:
    from jupyter_client.manager import KernelManager

    with (
        tempfile.TemporaryDirectory(prefix="odyssey-bench-kernel-") as tmp,
        engine("--workers", "2", "--pace", "realtime", "--fps", "1") as running,
    ):
        ids = _submit(running, JOBS)
        env = {
            "ODYSSEY_API_URL": running.url,
            "ODYSSEY_API_KEY": running.api_key,
            "ODYSSEY_HISTORY_PATH": str(Path(tmp) / "history.jsonl"),
        }
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=tmp, env={**os.environ, **env})
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            pid = int(manager.provisioner.pid)  # type: ignore[union-attr]
            _execute(client, f"IDS = {ids!r}\nimport odyssey_jupyter.session.jobs")
            time.sleep(2.0)
            idle = _cpu_share(pid, IDLE)
            _execute(client, GUIDE_CODE)
            time.sleep(2.0)
            guide = _cpu_share(pid, GUIDE)
            _execute(client, "_stop_guides.set(); _guide_thread.join(10)")
            _execute(client, WATCH_CODE)
            time.sleep(5.0)  # first ticks and details of 100 new handles
            watch = _cpu_share(pid, WATCH)
            _execute(
                client,
                "assert sum(1 for h in handles if h.status is not None and h.status.is_active)"
                f" == {JOBS}, [h for h in handles if h.status is None or h.status.is_terminal][:3]",
            )
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            running.cancel_active()
    print_table(
        "4. Kernel CPU while following 100 active jobs (goal: watcher < 2% of one core)",
        ["what", "% of one core", "measured over s", "ratio to baseline"],
        [
            ["Job.from_id x100 (shared watcher)", watch, WATCH, ratio(watch, guide)],
            ["baseline: 100 guide loops (5 s) in the kernel", guide, GUIDE, 1.0],
            ["idle kernel (floor)", idle, IDLE, ratio(idle, guide)],
        ],
        note="CPU = utime+stime of the kernel process (all threads) from /proc/<pid>/stat, "
        "divided by wall time; a real ipykernel started by jupyter_client;\n"
        "jobs: 300 s streams on a realtime engine with 2 workers (all 100 active throughout).",
    )


if __name__ == "__main__":
    run()
