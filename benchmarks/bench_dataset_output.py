"""Sweeps writing to an S3-compatible server (moto's, on 127.0.0.1): upload, wall time, resume.

1. Upload: ``UPLOAD_MB`` of recordings copied to the server by ``Store.put_file``
   (chunked, whole-or-nothing) against fsspec's own ``put`` of the same files, each
   in a fresh process: throughput, and peak memory above the process at rest.
2. A ``SWEEP_ITEMS``-item sweep with ``output="s3://..."`` against the same sweep
   with no output (recordings on this disk only), on one fast engine.
3. Resume: a child running a sweep to S3 is SIGKILLed at half its items; the sweep
   is reopened here and finished. Objects uploaded twice (uploads by the resume of
   keys that were already whole in the bucket) and recordings regenerated (jobs on
   the server beyond one per item).

``ODYSSEY_BENCH_DATASETS=quick`` scales the sizes down (each table says which ran).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.s3 import BUCKET, S3Server, s3_server

from benchmarks._support import engine
from benchmarks.table import print_table, ratio

QUICK = os.environ.get("ODYSSEY_BENCH_DATASETS", "full") == "quick"
UPLOAD_MB = 60 if QUICK else 300
FILE_MB = 20
SWEEP_ITEMS = 30 if QUICK else 100
RESUME_ITEMS = 20 if QUICK else 100

_UPLOAD = """
import json, os, sys, time
from pathlib import Path
from support.procfs import status_kb
import fsspec
from odyssey_jupyter.sweeps.storage import Store
files = sorted(Path(sys.argv[2]).iterdir())
store = Store.open(sys.argv[3], None)
store.check_writable("warm-up")  # the client is made and connected before measuring
fs, root = fsspec.core.url_to_fs(sys.argv[3], skip_instance_cache=True)
fs.ls(root.split("/")[0])
before = status_kb(os.getpid(), "VmRSS")
start = time.perf_counter()
if sys.argv[1] == "store":
    for f in files:
        store.put_file(f, "store/" + f.name)
else:
    fs.put([str(f) for f in files], [root + "/fsspec/" + f.name for f in files])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "growth_kb": status_kb(os.getpid(), "VmHWM") - before}))
"""


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    history = str(Path(tempfile.gettempdir()) / f"odyssey-bench-history-{os.getpid()}.jsonl")
    return dict(os.environ, **extra, PYTHONPATH=tests, ODYSSEY_HISTORY_PATH=history)


def _upload(server: S3Server, folder: Path, how: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _UPLOAD, how, str(folder), f"s3://{BUCKET}/bench"],
        env=_child_env(server.env()),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_upload(server: S3Server, tmp: Path) -> None:
    folder = tmp / "recordings"
    folder.mkdir()
    for index in range(UPLOAD_MB // FILE_MB):
        (folder / f"{index:03d}.mp4").write_bytes(os.urandom(FILE_MB * 1024 * 1024))
    # alternated, best of two each: the server and this machine are shared
    runs: dict[str, list[dict[str, float]]] = {"fsspec": [], "store": []}
    for _ in range(2):
        for how, found in runs.items():
            found.append(_upload(server, folder, how))
    baseline = min(runs["fsspec"], key=lambda r: r["seconds"])
    ours = min(runs["store"], key=lambda r: r["seconds"])
    mb = UPLOAD_MB
    rows = [
        [
            "fsspec put (baseline)",
            f"{mb / baseline['seconds']:.1f} MB/s",
            "1.00x",
            f"{baseline['growth_kb'] / 1024:.1f} MB",
        ],
        [
            "Store.put_file",
            f"{mb / ours['seconds']:.1f} MB/s",
            f"{ratio(baseline['seconds'], ours['seconds']) or 0:.2f}x",
            f"{ours['growth_kb'] / 1024:.1f} MB",
        ],
    ]
    print_table(
        f"Upload of {mb} MB ({mb // FILE_MB} files) to the S3 server",
        ["Copy", "Throughput", "vs fsspec", "Peak memory growth"],
        rows,
        note="goal: >= 0.8x fsspec's throughput, memory growth < 50 MB",
    )


def _sweep_seconds(env: dict[str, str], output: str | None, name: str, cwd: Path) -> float:
    params = {"n": list(range(SWEEP_ITEMS))}
    spec = {"template": "0s start a scene {n}\n1s end", "params": params, "name": name}
    if output:
        spec["output"] = output
    (cwd / f"{name}.json").write_text(json.dumps(spec))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", "run", f"{name}.json"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def bench_wall_time(server: S3Server, tmp: Path) -> None:
    with engine("--workers", "2") as running:
        env = _child_env(
            {**server.env(), "ODYSSEY_API_URL": running.url, "ODYSSEY_API_KEY": running.api_key}
        )
        # alternated, best of two each: the first run of a fresh engine pays its warm-up
        local, remote = float("inf"), float("inf")
        for turn in range(2):
            local = min(local, _sweep_seconds(env, None, f"local_only{turn}", tmp))
            remote = min(remote, _sweep_seconds(env, f"s3://{BUCKET}/wall", f"to_s3{turn}", tmp))
    print_table(
        f"A {SWEEP_ITEMS}-item sweep (1 s items, fast engine, 2 workers), CLI wall time, best of 2",
        ["Output", "Wall time", "vs local"],
        [
            ["local recordings only (baseline)", f"{local:.1f} s", "1.00x"],
            ["output=s3://...", f"{remote:.1f} s", f"{ratio(remote, local) or 0:.2f}x"],
        ],
        note="goal: <= 1.1x",
    )


def _completed(ledger: Path) -> int:
    try:
        db = sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT COUNT(*) FROM items WHERE state='completed'").fetchone()
            return int(row[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def bench_resume(server: S3Server, tmp: Path) -> None:
    with engine("--workers", "2", "--pace", "realtime") as running:
        env = _child_env(
            {**server.env(), "ODYSSEY_API_URL": running.url, "ODYSSEY_API_KEY": running.api_key}
        )
        spec = {
            "template": "0s start a scene {n}\n1s end",
            "params": {"n": list(range(RESUME_ITEMS))},
            "name": "halfway",
            "output": f"s3://{BUCKET}/resume",
        }
        (tmp / "halfway.json").write_text(json.dumps(spec))
        command = [sys.executable, "-m", "odyssey_jupyter", "sweep", "run", "halfway.json"]
        child = subprocess.Popen(command, cwd=tmp, env=env, stderr=subprocess.DEVNULL)
        ledger = tmp / "odyssey_recordings" / "sweeps" / "halfway.sqlite"
        while _completed(ledger) < RESUME_ITEMS // 2 and child.poll() is None:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_at = _completed(ledger)
        before = server.objects("resume/halfway/")
        resumed = subprocess.run(
            [sys.executable, "-c", _RESUME],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        uploads = int(resumed.stdout.strip().splitlines()[-1])
        after = server.objects("resume/halfway/")
        jobs = int(running.get("/simulation-jobs", limit=1)["total"])  # type: ignore[call-overload]
    new_keys = len(set(after) - set(before))
    print_table(
        f"Resume of a {RESUME_ITEMS}-item sweep to S3 killed at {killed_at} completed",
        ["Figure", "Measured", "Goal"],
        [
            ["objects uploaded twice", uploads - new_keys, 0],
            ["recordings regenerated (jobs beyond one per item)", jobs - RESUME_ITEMS, 0],
            ["objects in the bucket after", len(after), "3 per item + manifest"],
        ],
    )


_RESUME = """
from odyssey_jupyter.sweeps import Sweep
s = Sweep.open("halfway")
s.wait()
print(s.output.uploads)
"""


def run() -> None:
    with s3_server(access_control=False) as server, tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        bench_upload(server, tmp)
        bench_wall_time(server, tmp)
        bench_resume(server, tmp)
