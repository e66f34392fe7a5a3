"""Finding a running engine: what the identity proof costs a kernel's launcher.

``find_engine`` on a data directory an engine already serves, as every kernel
without a key does before its first call and before every later key exchange: it
reads ``engine.json``, checks the process and sends a fresh nonce to ``GET
/health?challenge=``, then checks the HMAC. Baseline, in the same run: the unproven
``GET /health`` the launcher used to trust, through a fresh ``httpx.get``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks._support import median, percentile
from benchmarks.table import print_table, ratio
from odyssey_jupyter.local.launch.launcher import ensure_engine, find_engine
from odyssey_jupyter.local.launch.manage import stop_engine

ROUNDS = 100


def _times(call: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "engine"
        info = ensure_engine(data_dir)
        try:
            proven = _times(lambda: find_engine(data_dir))
            plain = _times(lambda: httpx.get(f"{info.url}/health", timeout=10))
        finally:
            stop_engine(data_dir)
    rows: list[list[object]] = [
        ["find_engine (identity proven)", median(proven) * 1000, percentile(proven, 95) * 1000],
        ["GET /health, unproven (baseline)", median(plain) * 1000, percentile(plain, 95) * 1000],
        ["ratio", ratio(median(proven), median(plain)), ratio(percentile(proven, 95),
         percentile(plain, 95))],
    ]  # fmt: skip
    print_table(
        f"finding a running engine ({ROUNDS} rounds each)",
        ["what", "median ms", "p95 ms"],
        rows,
        note="find_engine reuses one TLS context per process; a fresh httpx.get loads the "
        "CA store on every call.",
    )
