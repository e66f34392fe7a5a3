"""What several benchmarks need: a local engine process, statistics, process memory and CPU.

The engine is started by the tests' own launcher (``tests/support/engines.py``, free of
pytest), exactly as a user would (``python -m odyssey_jupyter.local serve``): one launch
loop with one ready-line wait for the tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from support.engines import RunningEngine
from support.engines import launch_engine as launch_test_engine


@dataclass
class Engine(RunningEngine):
    """A running engine process started by a benchmark, with direct HTTP access to it."""

    _token: str | None = field(default=None, repr=False)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal the whole process group: a benchmark leaves no worker behind."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        return super().stop(sig, timeout)

    # direct HTTP access, bypassing the code being measured
    def token(self) -> str:
        if self._token is None:
            answer = httpx.post(
                f"{self.url}/auth/token", json={"api_key": self.api_key}, timeout=10
            )
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return self._token

    def get(self, path: str, **params: object) -> dict[str, object]:
        query: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
        answer = httpx.get(
            f"{self.url}{path}",
            params=query,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
        )
        answer.raise_for_status()
        result: dict[str, object] = answer.json()
        return result

    def delete(self, path: str) -> int:
        answer = httpx.delete(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token()}"}, timeout=30
        )
        return answer.status_code

    def cancel_active(self) -> int:
        """Cancel every active job (long benchmark scripts must not outlive the benchmark)."""
        cancelled = 0
        while True:
            page = self.get("/simulation-jobs", active="true", limit=100)
            jobs = page.get("jobs") or []
            assert isinstance(jobs, list)
            if not jobs:
                return cancelled
            for row in jobs:
                if self.delete(f"/simulation-jobs/{row['job_id']}") == 200:
                    cancelled += 1
            if cancelled > 10_000:  # pragma: no cover - a runaway engine
                return cancelled


def launch_engine(
    data_dir: Path | None, *extra: str, api_key: str | None = None, timeout: float = 60.0
) -> Engine:
    """Start the engine in its own process group (its log dropped) and wait until it is ready."""
    directory = data_dir or Path(tempfile.mkdtemp(prefix="odyssey-bench-engine-"))
    key = api_key or f"ody_bench_{secrets.token_hex(12)}"
    running = launch_test_engine(directory, *extra, api_key=key, timeout=timeout, quiet=True)
    return Engine(running.url, running.api_key, running.data_dir, running.process, running.args)


@contextlib.contextmanager
def engine(*extra: str, api_key: str | None = None) -> Iterator[Engine]:
    running = launch_engine(None, *extra, api_key=api_key)
    try:
        yield running
    finally:
        running.close()


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (its own threads, not its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def machine_line() -> str:
    from benchmarks.__main__ import machine

    return machine()
