"""Does one large submission stall the engine's other clients?

While a ~30 MB ``POST /simulation-jobs`` is read, parsed, validated and stored,
a second client polls ``GET /simulation-jobs/{id}`` every 10 ms. The table shows
that poll's latency against the idle engine, for two kinds of 30 MB body: four
start images (mostly base64, cheap to validate) and a batch of many entries
(expensive to validate). A body parsed on the event loop shows up as a status
request that waits as long as the parse takes.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from support.scripts import script

from benchmarks._support import engine, median, percentile
from benchmarks.table import print_table, ratio

ROUNDS = 3
TARGET_BYTES = 30 * 1024 * 1024


def _images_body() -> bytes:
    """Four scripts, each with a ~7.5 MB start image (the engine checks its size, not pixels)."""
    payload = "A" * (TARGET_BYTES // 4 - 200)
    image = f"data:image/png;base64,{payload}"
    scripts = [
        [
            {"timestamp_ms": 0, "start": {"prompt": f"image {i}", "image": image}},
            {"timestamp_ms": 1000, "end": {}},
        ]
        for i in range(4)
    ]
    return json.dumps({"scripts": scripts}).encode()


def _entries_body() -> bytes:
    """Scripts of many interactions each, until the body is ~30 MB (35 s of video each, so
    a batch stays within the engine's default per-job cap of 3600 s and is stored)."""
    prompt = "a long drifting shot over a coastline, " * 6
    script: list[dict[str, Any]] = [{"timestamp_ms": 0, "start": {"prompt": prompt}}]
    script += [{"timestamp_ms": 35 * i, "interact": {"prompt": prompt}} for i in range(1, 999)]
    script.append({"timestamp_ms": 35_000, "end": {}})
    one = len(json.dumps(script))
    count = max(1, min(100, TARGET_BYTES // one))
    return json.dumps({"scripts": [script] * count}).encode()


def _sample_during(client: httpx.Client, job_id: str, post: threading.Thread) -> list[float]:
    times: list[float] = []
    post.start()
    while post.is_alive() or not times:
        started = time.perf_counter()
        client.get(f"/simulation-jobs/{job_id}").raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    post.join()
    return times


def run() -> list[dict[str, Any]]:
    bodies = {"4 start images": _images_body(), "many entries": _entries_body()}
    rows: list[dict[str, Any]] = []
    with engine("--workers", "1") as running:
        headers = {"Authorization": f"Bearer {running.token()}"}
        with httpx.Client(base_url=running.url, headers=headers, timeout=120) as client:
            probe = client.post(
                "/simulation-jobs", json={"script": script(1, "probe", interact=None)}
            )
            job_id = probe.json()["job_id"]
            idle: list[float] = []
            for _ in range(60):
                started = time.perf_counter()
                client.get(f"/simulation-jobs/{job_id}").raise_for_status()
                idle.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)
            rows.append({"case": "idle engine", "mb": 0.0, "post_s": None,
                         "median": median(idle), "max": max(idle)})  # fmt: skip
            for name, body in bodies.items():
                during: list[float] = []
                posts: list[float] = []
                for _ in range(ROUNDS):
                    outcome: dict[str, Any] = {}

                    def post(body: bytes = body, outcome: dict[str, Any] = outcome) -> None:
                        with httpx.Client(headers=headers, timeout=120) as poster:
                            began = time.perf_counter()
                            answer = poster.post(
                                f"{running.url}/simulation-jobs",
                                content=body,
                                headers={"Content-Type": "application/json"},
                            )
                            outcome["seconds"] = time.perf_counter() - began
                            outcome["status"] = answer.status_code

                    during += _sample_during(client, job_id, threading.Thread(target=post))
                    posts.append(float(outcome.get("seconds", float("nan"))))
                    running.cancel_active()
                rows.append(
                    {"case": f"30 MB POST, {name} (HTTP {outcome.get('status')})",
                     "mb": len(body) / 1e6, "post_s": median(posts),
                     "median": median(during), "max": max(during),
                     "p95": percentile(during, 95)}
                )  # fmt: skip
    base = rows[0]["max"]
    print_table(
        f"GET /simulation-jobs/{{id}} latency while a large submission is parsed ({ROUNDS} rounds)",
        ["case", "body MB", "POST s", "status median ms", "status max ms", "max vs idle"],
        [[r["case"], r["mb"], r["post_s"], r["median"], r["max"], ratio(r["max"], base)]
         for r in rows],
        note="a body parsed off the event loop keeps the status max near the idle figure",
    )  # fmt: skip
    return rows


if __name__ == "__main__":
    run()
