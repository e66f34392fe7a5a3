"""Sweeps: throughput against the ideal schedule, polling cost, footprint, resume after a kill.

At the issue's sizes by default; ``ODYSSEY_BENCH_SWEEPS=quick`` scales the
throughput and resume runs down (each table says which sizes it ran):

1. Throughput: ``ITEMS`` items of ``SECONDS`` s against ``--workers 2
   --max-queued 10 --pace realtime`` (the issue: 300 items of 4 s). Wall time
   against the ideal schedule (items x length / render slots) and slot use.
2. Polling cost of that sweep (every request at a counting proxy) against the
   guide's way for the same jobs: a ``GET /simulation-jobs/{id}`` every 5 s
   per job while it is active, counted at a second proxy, plus the same POSTs.
3. Footprint: CPU and memory of a Python process that holds a 1,000-item sweep
   with 10 in flight (60 s streams, so nothing finishes in the window), against
   the same process idle before the sweep.
4. Resume: a child process running a ``RESUME_ITEMS``-item sweep is SIGKILLed
   halfway; the sweep is reopened here and finished (the issue: 100 items).
   Jobs on the server against items: equal means no duplicate and none lost.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from support.procfs import status_kb

from benchmarks._proxies import CountingProxy
from benchmarks._support import Engine, cpu_seconds, engine
from benchmarks.table import print_table, ratio
from odyssey_jupyter.local.jobs.dispatcher import SESSION_STARTUP_SECONDS

QUICK = os.environ.get("ODYSSEY_BENCH_SWEEPS", "full") == "quick"
ITEMS = 40 if QUICK else 300
SECONDS = 2 if QUICK else 4
FOOTPRINT_ITEMS = 1000
FOOTPRINT_WINDOW = 20.0
RESUME_ITEMS = 30 if QUICK else 100
GUIDE_INTERVAL = 5.0


def _env(url: str, key: str, tmp: Path) -> dict[str, str | None]:
    saved = {k: os.environ.get(k) for k in ("ODYSSEY_API_URL", "ODYSSEY_API_KEY")}
    os.environ["ODYSSEY_API_URL"] = url
    os.environ["ODYSSEY_API_KEY"] = key
    os.environ.setdefault("ODYSSEY_HISTORY_PATH", str(tmp / "history.jsonl"))
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class GuidePolling:
    """The guide's polling for the sweep's own jobs: each active job every 5 s."""

    def __init__(self, url: str, token: str, sweep: Any) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        self.sweep = sweep
        self._last: dict[str, float] = {}
        self._done: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for item in self.sweep.items:
                job_id = item.job_id
                if job_id is None or job_id in self._done:
                    continue
                if now - self._last.get(job_id, 0.0) >= GUIDE_INTERVAL:
                    self._last[job_id] = now
                    body = self.client.get(f"/simulation-jobs/{job_id}").json()
                    if body.get("status") in ("completed", "failed", "cancelled"):
                        self._done.add(job_id)
            self._stop.wait(0.2)

    def __enter__(self) -> GuidePolling:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.client.close()


def throughput_and_polling(tmp: Path) -> tuple[list[list[object]], list[list[object]]]:
    from odyssey_jupyter.session.config import get_config
    from odyssey_jupyter.session.runtime import shutdown_runtime
    from odyssey_jupyter.sweeps import sweep

    with (
        engine("--workers", "2", "--max-queued", "10", "--pace", "realtime") as running,
        CountingProxy(running.url) as mine,
        CountingProxy(running.url) as guide,
    ):
        saved = _env(mine.url, running.api_key, tmp)
        get_config().recordings_dir = str(tmp / "recs-throughput")
        try:
            started = time.monotonic()
            s = sweep(
                f"0s start a lighthouse, take {{seed}}\n{SECONDS}s end",
                {"seed": range(ITEMS)},
                name="bench_throughput",
                download=False,
            )
            ended: dict[int, float] = {}  # item -> when the sweep first saw it end

            def note_ends(changed: Any) -> None:
                now, counts = time.monotonic(), changed.counts
                if counts["completed"] + counts["failed"] + counts["cancelled"] > len(ended):
                    for item in changed.items:  # a copy of each: only when one more ended
                        if item.state in ("completed", "failed", "cancelled"):
                            ended.setdefault(item.index, now)

            s.add_listener(note_ends)
            with GuidePolling(guide.url, running.token(), s):
                counts = s.wait(ITEMS * SECONDS * 4 + 120)
            wall = time.monotonic() - started
            mine_requests = mine.requests()
            guide_requests = guide.requests() + ITEMS  # + the same submissions
            # the baseline: a loop submits every item at once, then polls each every
            # 5 s until it ends (here: when it ended in this run)
            ends = sorted(t - started for t in ended.values())
            naive = sum(1 + math.ceil(end / GUIDE_INTERVAL) for end in ends)
        finally:
            shutdown_runtime()
            _restore(saved)
    slots = 2
    ideal = ITEMS * SECONDS / slots
    rendered = ITEMS * SECONDS
    with_startup = ideal + SESSION_STARTUP_SECONDS
    throughput: list[list[object]] = [
        [
            ITEMS,
            counts["completed"],
            wall,
            ideal,
            ratio(wall, ideal),
            ratio(wall, with_startup),
            rendered / (wall * slots),
        ]
    ]
    minutes = wall / 60.0
    polling: list[list[object]] = [
        [
            mine_requests / minutes,
            guide_requests / minutes,
            ratio(guide_requests, mine_requests),
            naive / minutes,
            ratio(naive, mine_requests),
        ]
    ]
    return throughput, polling


FOOTPRINT_CHILD = """
import sys, time
from odyssey_jupyter.session.config import OdysseyJupyter, set_config
set_config(OdysseyJupyter(recordings_dir=sys.argv[1]))
from odyssey_jupyter.sweeps import sweep
from odyssey_jupyter.session.runtime import get_runtime
get_runtime()
print("idle", flush=True)
sys.stdin.readline()
s = sweep("0s start a slow tide, take {seed}\\n60s end", {"seed": range(int(sys.argv[2]))},
          name="bench_footprint", download=False)
while s.in_flight() < 10 or s.counts["queued"] + s.counts["running"] < 10:
    time.sleep(0.1)
print("busy", flush=True)
sys.stdin.readline()
s.cancel(active=True)
s.wait(60)
print("done", flush=True)
"""


def footprint(tmp: Path) -> list[list[object]]:
    with engine(
        "--workers", "2", "--max-queued", "10", "--pace", "realtime", "--fps", "1"
    ) as running:
        env = dict(os.environ, ODYSSEY_API_URL=running.url, ODYSSEY_API_KEY=running.api_key)
        env["ODYSSEY_HISTORY_PATH"] = str(tmp / "footprint-history.jsonl")
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                FOOTPRINT_CHILD,
                str(tmp / "recs-footprint"),
                str(FOOTPRINT_ITEMS),
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "idle"
            cpu0, t0 = cpu_seconds(child.pid), time.monotonic()
            time.sleep(FOOTPRINT_WINDOW)
            idle_cpu = (cpu_seconds(child.pid) - cpu0) / (time.monotonic() - t0)
            idle_rss = status_kb(child.pid, "VmRSS") / 1024
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "busy"
            cpu1, t1 = cpu_seconds(child.pid), time.monotonic()
            time.sleep(FOOTPRINT_WINDOW)
            busy_cpu = (cpu_seconds(child.pid) - cpu1) / (time.monotonic() - t1)
            busy_rss = status_kb(child.pid, "VmRSS") / 1024
            peak = status_kb(child.pid, "VmHWM") / 1024
            child.stdin.write("\n")
            child.stdin.flush()
            child.stdout.readline()
        finally:
            child.kill()
            child.wait(10)
            running.cancel_active()
    return [
        ["idle (imported, loop thread up)", 100 * idle_cpu, idle_rss, None],
        [f"{FOOTPRINT_ITEMS} items, 10 in flight", 100 * busy_cpu, busy_rss, peak - idle_rss],
    ]


RESUME_CHILD = """
import sys
from odyssey_jupyter.session.config import OdysseyJupyter, set_config
set_config(OdysseyJupyter(recordings_dir=sys.argv[1]))
from odyssey_jupyter.sweeps import sweep
s = sweep("0s start a comet, take {seed}\\n1s end", {"seed": range(int(sys.argv[2]))},
          name="bench_resume", max_in_flight=4, download=False)
s.wait()
"""


def _completed(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    db = sqlite3.connect(str(path), timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM items WHERE state='completed'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def _server_jobs(running: Engine) -> int:
    page = running.get("/simulation-jobs", limit=1)
    total = page["total"]
    assert isinstance(total, int)
    return total


def resume(tmp: Path) -> list[list[object]]:
    from odyssey_jupyter.session.config import get_config
    from odyssey_jupyter.session.runtime import shutdown_runtime
    from odyssey_jupyter.sweeps import Sweep

    recs = tmp / "recs-resume"
    ledger = recs / "sweeps" / "bench_resume.sqlite"
    with engine("--workers", "2") as running:
        env = dict(os.environ, ODYSSEY_API_URL=running.url, ODYSSEY_API_KEY=running.api_key)
        env["ODYSSEY_HISTORY_PATH"] = str(tmp / "resume-history.jsonl")
        child = subprocess.Popen(
            [sys.executable, "-c", RESUME_CHILD, str(recs), str(RESUME_ITEMS)], env=env
        )
        deadline = time.monotonic() + 300
        while _completed(ledger) < RESUME_ITEMS // 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        at_kill = _completed(ledger)
        saved = _env(running.url, running.api_key, tmp)
        get_config().recordings_dir = str(recs)
        try:
            started = time.monotonic()
            s = Sweep.open("bench_resume")
            counts = s.wait(300)
            finish = time.monotonic() - started
            ids = {r["job_id"] for r in s.results()}
        finally:
            shutdown_runtime()
            _restore(saved)
        on_server = _server_jobs(running)
    return [[RESUME_ITEMS, at_kill, counts["completed"], len(ids), on_server, finish]]


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="odyssey-bench-sweeps-") as name:
        tmp = Path(name)
        throughput, polling = throughput_and_polling(tmp)
        print_table(
            "8. Sweep throughput against the ideal schedule (goal: wall <= 1.1x ideal)",
            [
                "items",
                "completed",
                "wall s",
                "ideal s",
                "wall/ideal",
                "wall/(ideal+start-up)",
                "slot use",
            ],
            throughput,
            note=f"{ITEMS} items of {SECONDS} s (the issue: 300 x 4 s), engine --workers 2 "
            "--max-queued 10 --pace realtime; ideal = items x length / 2 render slots.\n"
            f"The realtime engine holds each stream {SESSION_STARTUP_SECONDS:g} s in a session "
            "start-up before it renders, beside the rendering of others; only the first "
            "start-up cannot overlap, so the third ratio adds it once to the ideal.",
        )
        print_table(
            "9. Sweep polling cost (goal: >= 20x fewer requests than the guide's polling)",
            ["sweep req/min", "guide (same jobs)", "times fewer", "loop + 5 s", "times fewer"],
            polling,
            note="Sweep: every request of the run at a counting proxy (token, POSTs, the "
            "watcher's list + details).\nGuide (same jobs), measured: GET /simulation-jobs/{id} "
            "every 5 s per job of the sweep while it is in flight, plus the same POSTs.\n"
            "Loop + 5 s, modelled: every item submitted at once, each polled every 5 s until "
            "it ended when it did in this run.",
        )
        print_table(
            "10. Sweep footprint (goal: < 2% of a core, < 100 MB above idle)",
            ["process", "CPU % of a core", "RSS MB", "peak MB above idle"],
            footprint(tmp),
            note="A Python process running the same code a kernel would, over "
            f"{FOOTPRINT_WINDOW:g} s windows; 60 s streams at --fps 1 keep 10 in flight.",
        )
        print_table(
            "11. Sweep resume after SIGKILL (goal: jobs on the server = items)",
            [
                "items",
                "completed at kill",
                "completed",
                "distinct jobs",
                "jobs on server",
                "finish s",
            ],
            resume(tmp),
            note=f"{RESUME_ITEMS} items (the issue: 100), 1 s streams, fast engine, "
            "max_in_flight 4; the child running the sweep is SIGKILLed halfway.",
        )


if __name__ == "__main__":
    run()
