"""What a hostile server costs the client: time held, memory, disk, where credentials went.

Each attack runs in a fresh interpreter against the tests' scripted hostile
server (``tests/support/scripted_server.py``) on 127.0.0.1, so one attack's memory does
not hide the next one's. ``held s`` is wall time until the call ended (an
outer stop at ``HOLD_CAP`` seconds marks a call still held), ``RSS MB`` the
peak resident-set growth during the attack, ``on disk`` the bytes an aborted
download left behind, ``elsewhere`` whether the key or token reached another
origin.

``ODYSSEY_BENCH_SOURCE=/path/to/older/tree`` runs the same attacks against
another copy of ``odyssey_jupyter`` (to compare before and after a change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.table import print_table

ROOT = Path(__file__).resolve().parents[1]
HOLD_CAP = 45.0
ATTACKS = [
    "trickle-status",
    "trickle-download",
    "json-300mb",
    "gzip-bomb-256mb",
    "png-bomb-144mp",
    "artifact-256mb",
    "redirect-token",
    "redirect-api",
    "nan-duration",
    "dotdot-stream",
]

CHILD = r"""
import asyncio, json, os, resource, sys, tempfile, time, zlib, struct
from pathlib import Path
# an editable install's finder would win over PYTHONPATH: let the chosen tree answer
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
from support.scripted_server import Answer, ScriptedServer, padded_json, zeros
from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.session import config

KEY = "ody_bench_hostile_key_0123456789"
MB = 1024 * 1024
attack, cap = sys.argv[1], float(sys.argv[2])
result = {"outcome": "", "held": None, "rss_mb": None, "disk": None, "elsewhere": None}

def rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def png_bomb(width, height):
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    packer = zlib.compressobj(9)
    row = bytes(width + 1)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", data) + chunk(b"IEND", b"")

def gzip_json(total):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"job_id": "j1", "status": "completed", "pad": "')]
    parts += [packer.compress(b"x" * MB) for _ in range(total // MB)]
    return b"".join(parts) + packer.compress(b'"}') + packer.flush()

def client(api, **kw):
    kw.setdefault("timeout", 5.0)
    kw.setdefault("retry_deadline", 10.0)
    return Odyssey(KEY, api.url, **kw)

async def call(make):
    try:
        value = await asyncio.wait_for(make(), cap)
        return "accepted: " + type(value).__name__
    except Exception as exc:
        if type(exc) in (asyncio.TimeoutError, TimeoutError):  # the outer stop, not the client
            return f"still held at {cap:g} s"
        return type(exc).__name__ + ": " + str(exc)[:70]

import odyssey_jupyter
result["source"] = str(Path(odyssey_jupyter.__file__).parent.parent)
with ScriptedServer() as api, ScriptedServer() as other, tempfile.TemporaryDirectory() as tmp:
    base = rss_kb()
    started = time.monotonic()
    if attack == "trickle-status":
        body = b'{"job_id": "j1", "status": "completed", "pad": "' + b"x" * 400 + b'"}'
        api.route("GET", "/simulation-jobs/j1", Answer.json(body, trickle=0.5))
        c = client(api)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
    elif attack == "trickle-download":
        api.route("GET", "/recordings/s1", Answer.json({"stream_id": "s1", "video_url": "/a/v"}))
        api.route("GET", "/a/v", Answer(body=b"v" * 400, trickle=0.5))
        c = client(api, download_timeout=10.0)
        result["outcome"] = asyncio.run(call(lambda: c.download("s1", tmp, kinds=("video",))))
    elif attack == "json-300mb":
        pad = padded_json({"job_id": "j1"}, 300 * MB)
        api.route("GET", "/simulation-jobs/j1", Answer(body=pad, length=None))
        c = client(api, timeout=60.0)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
    elif attack == "gzip-bomb-256mb":
        bomb = gzip_json(256 * MB)
        base = rss_kb()
        gzipped = Answer.json(bomb, headers=[("Content-Encoding", "gzip")])
        api.route("GET", "/simulation-jobs/j1", gzipped)
        c = client(api, timeout=60.0)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
    elif attack == "png-bomb-144mp":
        from odyssey_jupyter.display.browser.cache import shrink_thumbnail
        bomb = png_bomb(12000, 12000)
        base = rss_kb()
        started = time.monotonic()
        out = shrink_thumbnail(bomb)
        shown = "no thumbnail" if out is None else f"{len(out[0])} B JPEG"
        result["outcome"] = f"{len(bomb) // 1024} KB PNG -> {shown}"
    elif attack == "artifact-256mb":
        config.get_config().max_artifact_mb = 64.0
        api.route("GET", "/recordings/s1", Answer.json({"stream_id": "s1", "video_url": "/a/v"}))
        api.route("GET", "/a/v", Answer(body=zeros(256 * MB), length=None))
        c = client(api, timeout=60.0, download_timeout=60.0)
        result["outcome"] = asyncio.run(call(lambda: c.download("s1", tmp, kinds=("video",))))
        result["disk"] = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    elif attack == "redirect-token":
        api.route("POST", "/auth/token", Answer.redirect(other.url + "/auth/token", 307))
        other.route("GET", "/simulation-jobs", Answer.json({"jobs": [], "total": 0}))
        c = client(api)
        result["outcome"] = asyncio.run(call(lambda: c.list_simulations()))
        result["elsewhere"] = any(KEY.encode() in r.body for r in other.seen)
    elif attack == "redirect-api":
        moved = Answer.redirect(other.url + "/simulation-jobs/j1", 302)
        api.route("GET", "/simulation-jobs/j1", moved)
        fake = Answer.json({"job_id": "j1", "status": "completed"})
        other.route("GET", "/simulation-jobs/j1", fake)
        c = client(api)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
        result["elsewhere"] = any("authorization" in r.headers for r in other.seen)
        result["outcome"] += f" ({len(other.seen)} request(s) to the other origin)"
    elif attack == "nan-duration":
        stream = b'{"stream_id": "s1", "duration_seconds": NaN}'
        body = b'{"job_id": "j1", "status": "completed", "streams": [' + stream + b']}'
        api.route("GET", "/simulation-jobs/j1", Answer.json(body))
        c = client(api)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
    elif attack == "dotdot-stream":
        body = b'{"job_id": "j1", "status": "completed", "streams": [{"stream_id": ".."}]}'
        api.route("GET", "/simulation-jobs/j1", Answer.json(body))
        c = client(api)
        result["outcome"] = asyncio.run(call(lambda: c.get_simulate_status("j1")))
    result["held"] = time.monotonic() - started
    result["rss_mb"] = (rss_kb() - base) / 1024
print("RESULT " + json.dumps(result))
"""


def attack(name: str) -> dict[str, object]:
    source = os.environ.get("ODYSSEY_BENCH_SOURCE", str(ROOT))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, str(ROOT / "tests")])}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(HOLD_CAP)],
        capture_output=True,
        text=True,
        env=env,
        cwd=source,  # ``-c`` puts the working directory first on sys.path
        timeout=HOLD_CAP * 4 + 120,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, object] = json.loads(line[len("RESULT ") :])
            return result
    return {"outcome": f"crashed: {done.stderr.strip().splitlines()[-1:]}"}


def run() -> None:
    wanted = [a for a in ATTACKS if a in os.environ.get("ODYSSEY_BENCH_ATTACKS", a)]
    rows = []
    for name in wanted:
        result = attack(name)
        rows.append(
            [
                name,
                result.get("held"),
                result.get("rss_mb"),
                result.get("disk"),
                result.get("elsewhere"),
                result.get("outcome"),
            ]
        )
    source = os.environ.get("ODYSSEY_BENCH_SOURCE", "this tree")
    print_table(
        f"Client against a hostile server ({source})",
        ["attack", "held s", "RSS MB", "on disk", "elsewhere", "outcome"],
        rows,
        note="Settings: timeout=5, retry_deadline=10 (downloads: download_timeout=10); "
        f"calls still running after {HOLD_CAP:g} s are stopped from outside.",
    )
