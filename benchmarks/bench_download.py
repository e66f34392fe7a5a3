"""Download throughput and peak memory of ``Odyssey.download()`` for a 300 MB artifact.

The artifact is served by a tiny stand-in API in its own process: it answers the
token exchange, ``GET /recordings/{id}`` (whose ``video_url`` points back at
itself, as a presigned URL would) and serves the file with ``sendfile``. A stand-in
rather than the engine because the engine's recordings are short renders of a few
MB; the client code path (token, recording lookup, streamed write to a temporary
file and rename) is the real one. The baseline is a plain ``httpx`` stream of the
same URL to a file, on the same event loop, alternating with the measured runs.

Goals: at least 0.8x the baseline's throughput; peak RSS growth under 50 MB.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from support.procfs import status_kb

from benchmarks._support import median
from benchmarks.table import print_table, ratio

SIZE = 300 * 1024 * 1024
ROUNDS = 3
KEY = "ody_bench_download_key"

SERVER = r"""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

path = sys.argv[1]
size = os.path.getsize(path)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/auth/token":
            self._json(200, {"access_token": "bench-token", "expires_in": 3600})
        else:
            self._json(404, {"detail": "not found"})
    def do_GET(self):
        host = self.headers.get("Host")
        if self.path.startswith("/recordings/"):
            sid = self.path.rsplit("/", 1)[1]
            self._json(200, {"stream_id": sid, "video_url": f"http://{host}/files/video.mp4",
                             "events_url": None, "thumbnail_url": None, "preview_url": None,
                             "frame_count": None, "duration_seconds": None})
        elif self.path == "/files/video.mp4":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with open(path, "rb") as f:
                self.connection.sendfile(f)
        else:
            self._json(404, {"detail": "not found"})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"""


class PeakRss:
    """Samples this process's RSS every 2 ms on a thread; ``growth_mb`` is peak minus start."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.start_kb = status_kb(os.getpid(), "VmRSS")
        self.peak_kb = self.start_kb
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(pid, "VmRSS"))
            self._stop.wait(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.start_kb) / 1024


def _make_artifact(directory: Path) -> Path:
    path = directory / "artifact.bin"
    block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
    with path.open("wb") as out:
        for _ in range(SIZE // len(block)):
            out.write(block)
    return path


async def _measure(
    action: Callable[[], Awaitable[Path]],
) -> tuple[float, float]:
    """(MB/s, peak RSS growth in MB) of one download; the file is removed afterwards."""
    with PeakRss() as rss:
        started = time.perf_counter()
        result = await action()
        elapsed = time.perf_counter() - started
    size = result.stat().st_size
    if size != SIZE:
        raise RuntimeError(f"downloaded {size} bytes, expected {SIZE}")
    result.unlink()
    return SIZE / elapsed / 1e6, rss.growth_mb


async def _bench(base: str, work: Path) -> dict[str, list[tuple[float, float]]]:
    from odyssey_jupyter.client.odyssey import Odyssey

    results: dict[str, list[tuple[float, float]]] = {"client": [], "httpx": []}
    async with Odyssey(api_key=KEY, api_url=base) as client, httpx.AsyncClient() as plain:
        await client.get_recording("warm-up")  # token exchange and connection outside the clock

        async def with_client() -> Path:
            files = await client.download("stream-1", work / "client", kinds=("video",))
            return files["video"]

        async def with_httpx() -> Path:
            dest = work / "plain.mp4"
            async with plain.stream("GET", f"{base}/files/video.mp4", timeout=300) as answer:
                answer.raise_for_status()
                with dest.open("wb") as out:
                    async for chunk in answer.aiter_bytes():
                        out.write(chunk)
            return dest

        await _measure(with_httpx)  # warm the page cache once
        for _ in range(ROUNDS):
            results["httpx"].append(await _measure(with_httpx))
            results["client"].append(await _measure(with_client))
    return results


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="odyssey-bench-download-") as tmp:
        work = Path(tmp)
        artifact = _make_artifact(work)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(artifact)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            results = asyncio.run(_bench(base, work))
        finally:
            server.terminate()
            server.wait(10)
    client_speed = median([r[0] for r in results["client"]])
    plain_speed = median([r[0] for r in results["httpx"]])
    client_peak = max(r[1] for r in results["client"])
    plain_peak = max(r[1] for r in results["httpx"])
    print_table(
        "6. Download of a 300 MB artifact (goal: >= 0.8x baseline throughput, < 50 MB peak growth)",
        ["what", "MB/s (median)", "peak RSS growth MB (max)", "throughput ratio"],
        [
            ["Odyssey.download()", client_speed, client_peak, ratio(client_speed, plain_speed)],
            ["baseline: plain httpx stream to a file", plain_speed, plain_peak, 1.0],
        ],
        note=f"{ROUNDS} alternating rounds each, 300 MiB over 127.0.0.1 from a stand-in "
        "artifact host in another process (sendfile);\n"
        "RSS sampled every 2 ms; 1 MB = 10^6 bytes for throughput, 2^20 for memory.",
    )


if __name__ == "__main__":
    run()
