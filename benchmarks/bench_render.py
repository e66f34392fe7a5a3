"""Render speed of the local engine's procedural renderer, and status latency under load.

Table 1 renders a 12 s landscape stream (three prompts, two crossfades) into the
full artifact set (video, preview, thumbnail, events) and compares it with real
time and with the encoder alone: the same frames, pre-synthesised in memory, fed
to the same libx264 settings. Goals: at least 8x real time; at most 1.5x the
encoder alone. Table 2 times ``GET /simulation-jobs/{id}`` on an engine whose
workers are all rendering, against the same engine idle.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._support import engine, median, percentile
from benchmarks.table import print_table, ratio

SECONDS = 12
FPS = 24
ROUNDS = 3
PROMPTS = (
    (0, "a harbour at sunrise, gulls over the water"),
    (4000, "a thunderstorm rolls in from the sea"),
    (8000, "night falls and the lighthouse turns on"),
)


def _spec(out: Path, *, portrait: bool = False, image: str | None = None) -> Any:
    from odyssey_jupyter.local.jobs.spec import CueSpec, RenderSpec

    width, height = (704, 1280) if portrait else (1280, 704)
    cues = tuple(
        CueSpec(ms, ms, "start" if ms == 0 else "interact", prompt) for ms, prompt in PROMPTS
    )
    return RenderSpec("bench", str(out), width, height, FPS, 0, SECONDS * 1000, cues, image)


def _image_url() -> str:
    import base64
    import io

    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:900, 0:1600]
    rgb = np.stack([(x * 255 // 1600), (y * 255 // 900), ((x + y) % 256)], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype("uint8")).save(buffer, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _render_seconds(spec: Any) -> float:
    from odyssey_jupyter.local.render import render_stream

    started = time.perf_counter()
    render_stream(spec)
    return time.perf_counter() - started


def _encoder_only_seconds(spec: Any) -> float:
    """The same frames the renderer makes, synthesised first, then only encoded."""
    from odyssey_jupyter.local.render import FADE_SECONDS, build_scenes
    from odyssey_jupyter.local.render.encode import Mp4Writer
    from odyssey_jupyter.local.render.frames import FrameBuffer, blend_into

    scenes = build_scenes(spec)
    fade = max(1, round(FADE_SECONDS * FPS))
    frames: list[FrameBuffer] = []
    index = 0
    for i in range(spec.frame_count):
        while index + 1 < len(scenes) and i >= scenes[index + 1][0]:
            index += 1
        current = FrameBuffer(spec.width, spec.height)
        scenes[index][1].draw(current, i, i - scenes[index][0])
        if index > 0 and i - scenes[index][0] < fade:
            previous = FrameBuffer(spec.width, spec.height)
            scenes[index - 1][1].draw(previous, i, i - scenes[index - 1][0])
            blend_into(current, previous, current, (i - scenes[index][0] + 1) / (fade + 1))
        frames.append(current)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        writer = Mp4Writer(Path(tmp) / "video.mp4", spec.width, spec.height, FPS)
        for frame in frames:
            writer.write(frame)
        writer.close()
        return time.perf_counter() - started


def render_table() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        landscape = _spec(base / "landscape")
        encoder = median([_encoder_only_seconds(landscape) for _ in range(ROUNDS)])
        cases = [
            ("12 s landscape, procedural", landscape),
            ("12 s portrait, procedural", _spec(base / "portrait", portrait=True)),
            ("12 s landscape, start image", _spec(base / "image", image=_image_url())),
        ]
        rows.append(
            {"case": "encoder alone (same 288 frames)", "seconds": encoder,
             "x_realtime": SECONDS / encoder, "vs_encoder": 1.0}
        )  # fmt: skip
        for name, spec in cases:
            seconds = median([_render_seconds(spec) for _ in range(ROUNDS)])
            rows.append(
                {"case": name + " (all artifacts)", "seconds": seconds,
                 "x_realtime": SECONDS / seconds, "vs_encoder": ratio(seconds, encoder)}
            )  # fmt: skip
    print_table(
        f"render speed ({SECONDS} s at {FPS} fps, median of {ROUNDS})",
        ["case", "seconds", "x real time", "vs encoder alone"],
        [[r["case"], r["seconds"], r["x_realtime"], r["vs_encoder"]] for r in rows],
        note="goals: landscape procedural >= 8x real time and <= 1.5x the encoder alone",
    )
    return rows


def latency_table() -> list[dict[str, Any]]:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "busy workers"}},
        {"timestamp_ms": SECONDS * 1000, "end": {}},
    ]
    rows: list[dict[str, Any]] = []
    with engine("--workers", "2") as running:
        headers = {"Authorization": f"Bearer {running.token()}"}
        with httpx.Client(base_url=running.url, headers=headers, timeout=30) as client:
            first = client.post("/simulation-jobs", json={"script": script}).json()["job_id"]
            while client.get(f"/simulation-jobs/{first}").json()["status"] != "completed":
                time.sleep(0.1)

            def sample(n: int = 60) -> list[float]:
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    client.get(f"/simulation-jobs/{first}").raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.01)
                return times

            idle = sample()
            jobs = [
                client.post("/simulation-jobs", json={"script": script}).json()["job_id"]
                for _ in range(4)
            ]
            while client.get(f"/simulation-jobs/{jobs[1]}").json()["status"] != "processing":
                time.sleep(0.05)
            busy = sample()
            running.cancel_active()
    for name, values in (("idle engine", idle), ("both workers rendering", busy)):
        rows.append({"case": name, "median_ms": median(values), "p95_ms": percentile(values, 95)})
    print_table(
        "GET /simulation-jobs/{id} latency (60 requests each)",
        ["case", "median ms", "p95 ms", "p95 vs idle"],
        [[r["case"], r["median_ms"], r["p95_ms"], ratio(r["p95_ms"], rows[0]["p95_ms"])]
         for r in rows],
    )  # fmt: skip
    return rows


def run() -> list[dict[str, Any]]:
    return render_table() + latency_table()


if __name__ == "__main__":
    run()
