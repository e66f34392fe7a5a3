"""The engine's artifacts: signed URLs (no bearer, expiry, tampering, Range) and the
recordings themselves, decoded with PyAV and Pillow."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import av
import httpx
import numpy as np
import pytest
from PIL import Image
from support.engine_http import client_for, run_job
from support.engines import RunningEngine

SCENES: list[dict[str, Any]] = [
    {"timestamp_ms": 0, "start": {"prompt": "a quiet harbour at sunrise"}},
    {"timestamp_ms": 1000, "interact": {"prompt": "a thunderstorm rolls over the water"}},
    {"timestamp_ms": 2000, "end": {}},
]


@pytest.fixture(scope="module")
def api(engine: RunningEngine) -> Iterator[httpx.Client]:
    client = client_for(engine)
    yield client
    client.close()


@pytest.fixture(scope="module")
def landscape(api: httpx.Client) -> dict[str, Any]:
    """One finished two-scene landscape stream, shared by the tests of this module."""
    done = run_job(api, {"script": SCENES, "portrait": False})
    assert done["status"] == "completed", done
    stream: dict[str, Any] = done["streams"][0]
    return stream


def fetch(url: str, **kwargs: Any) -> httpx.Response:
    """No bearer header: signed URLs must work on their own, like presigned ones."""
    return httpx.get(url, timeout=30, **kwargs)


def decode_frames(data: bytes) -> tuple[Any, list[np.ndarray]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        info = {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "frames": stream.frames,
            "duration": float(stream.duration * stream.time_base),
            "audio": len(container.streams.audio),
            "fps": float(stream.average_rate),
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return info, frames


def box_order(data: bytes) -> list[bytes]:
    """Top-level MP4 box types in file order."""
    order, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        order.append(data[offset + 4 : offset + 8])
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return order


# --------------------------------------------------------------------------- signed URLs


def test_artifacts_need_no_bearer_and_have_types(landscape: dict[str, Any]) -> None:
    expected = {
        "video_url": "video/mp4",
        "preview_url": "video/mp4",
        "thumbnail_url": "image/jpeg",
        "events_url": "application/x-ndjson",
    }
    for key, media in expected.items():
        answer = fetch(landscape[key])
        assert answer.status_code == 200, key
        assert answer.headers["content-type"].startswith(media), key
        assert answer.content


def test_range_requests(landscape: dict[str, Any]) -> None:
    full = fetch(landscape["video_url"]).content
    part = fetch(landscape["video_url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(full)}"
    assert part.content == full[100:200]
    tail = fetch(landscape["video_url"], headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == full[-50:]
    assert fetch(landscape["video_url"]).headers["accept-ranges"] == "bytes"


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_tampered_and_foreign_paths(landscape: dict[str, Any], engine: RunningEngine) -> None:
    url = landscape["video_url"]
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    forged = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    assert fetch(_with_query(url, signature=forged)).status_code == 403
    later = str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 3600)
    assert fetch(_with_query(url, expires=later)).status_code == 403
    assert fetch(url.split("?")[0]).status_code == 403
    # the same signature on another artifact of the stream
    other = url.replace("/video.mp4?", "/preview.mp4?")
    answer = fetch(other)
    assert answer.status_code == 403 and answer.json()["detail"]
    # anything outside the recordings directory
    base = engine.url
    query = urlsplit(url).query
    for path in (
        "/artifacts/%2e%2e/engine.db",
        "/artifacts/..%2fengine.db",
        "/artifacts/a/b/engine.db",
        "/artifacts/secret.key",
    ):
        answer = httpx.get(f"{base}{path}?{query}", timeout=10)
        assert answer.status_code == 404, path
        assert answer.json()["detail"]


def test_urls_expire(start_engine: Any) -> None:
    engine = start_engine("--url-ttl", "1", "--workers", "1")
    client = client_for(engine)
    script = [{"timestamp_ms": 0, "start": {"prompt": "brief"}}, {"timestamp_ms": 500, "end": {}}]
    done = run_job(client, {"script": script})
    stream = done["streams"][0]
    time.sleep(2.2)
    expired = fetch(stream["thumbnail_url"])
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]
    fresh = client.get(f"/recordings/{stream['stream_id']}").json()
    assert fetch(fresh["thumbnail_url"]).status_code == 200
    client.close()


# --------------------------------------------------------------------------- the recordings


def test_video_is_what_the_script_says(landscape: dict[str, Any]) -> None:
    data = fetch(landscape["video_url"]).content
    order = box_order(data)
    assert b"moov" in order and order.index(b"moov") < order.index(b"mdat")  # streamable
    info, frames = decode_frames(data)
    assert (info["width"], info["height"]) == (1280, 704)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["audio"] == 0
    assert info["frames"] == len(frames) == 48 == landscape["frame_count"]
    assert info["duration"] == pytest.approx(2.0) == landscape["duration_seconds"]
    assert info["fps"] == pytest.approx(24)
    # the scene moves, and the interaction changes the scene within half a second
    first, second = frames[6].astype(int), frames[18].astype(int)
    after = frames[24 + 12].astype(int)
    assert np.abs(first - second).mean() > 0.5
    assert np.abs(second - after).mean() > 10
    # a caption bar (dark band with light text) sits low, above where players draw controls
    band = frames[18][int(704 * 0.76) : int(704 * 0.84)]
    assert (band.max(axis=2) < 40).mean() > 0.3 and (band.min(axis=2) > 200).any()


def test_thumbnail_preview_and_events(landscape: dict[str, Any]) -> None:
    thumbnail = Image.open(io.BytesIO(fetch(landscape["thumbnail_url"]).content))
    thumbnail.load()
    assert thumbnail.format == "JPEG" and thumbnail.width > thumbnail.height
    preview_info, preview_frames = decode_frames(fetch(landscape["preview_url"]).content)
    assert preview_frames and preview_info["width"] < 1280
    assert preview_info["duration"] <= 4.0
    lines = fetch(landscape["events_url"]).text.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["start", "interact", "end"]
    assert [e["timestamp_ms"] for e in events] == [0, 1000, 2000]
    assert [e["frame"] for e in events] == [0, 24, 48]
    assert events[1]["prompt"] == SCENES[1]["interact"]["prompt"] and events[2]["prompt"] is None


def test_same_script_same_bytes(api: httpx.Client, landscape: dict[str, Any]) -> None:
    again = run_job(api, {"script": SCENES, "portrait": False})
    first = hashlib.sha256(fetch(landscape["video_url"]).content).hexdigest()
    second = hashlib.sha256(fetch(again["streams"][0]["video_url"]).content).hexdigest()
    assert first == second


def test_start_image_portrait(api: httpx.Client) -> None:
    picture = Image.new("RGB", (300, 200), (220, 30, 30))
    picture.paste((30, 30, 220), (0, 0, 150, 200))  # left half blue, right half red
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a flag", "image": url}},
        {"timestamp_ms": 700, "interact": {"prompt": "dramatic grade"}},
        {"timestamp_ms": 1500, "end": {}},
    ]
    done = run_job(api, {"script": script})
    assert done["status"] == "completed", done
    info, frames = decode_frames(fetch(done["streams"][0]["video_url"]).content)
    assert (info["width"], info["height"]) == (704, 1280) and len(frames) == 36
    top = frames[0][100:300]  # the picture fills the frame (cover-fit), above the caption
    assert top[:, :200].mean(axis=(0, 1))[2] > 150 and top[:, -200:].mean(axis=(0, 1))[0] > 150
    assert np.abs(frames[10].astype(int) - frames[35].astype(int)).mean() > 3  # re-graded


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (base64.b64encode(b"definitely not an image").decode(), "cannot be decoded"),
        ("!!!!", "base64"),
    ],
)
def test_bad_images_fail_the_stream(api: httpx.Client, payload: str, needle: str) -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "x", "image": f"data:image/png;base64,{payload}"}},
        {"timestamp_ms": 500, "end": {}},
    ]
    done = run_job(api, {"script": script})
    assert done["status"] == "failed"
    assert needle in done["streams"][0]["error_message"] and needle in done["error_message"]


def test_decompression_bomb_is_refused(api: httpx.Client) -> None:
    bomb = Image.new("1", (9000, 9000))  # 81 MP, a few KB as PNG
    buffer = io.BytesIO()
    bomb.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "x", "image": url}},
        {"timestamp_ms": 500, "end": {}},
    ]
    done = run_job(api, {"script": script})
    assert done["status"] == "failed" and "decompression bomb" in done["error_message"]


def test_oversized_image_is_refused_at_submit(api: httpx.Client) -> None:
    payload = "A" * (26 * 1024 * 1024 * 4 // 3)
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "x", "image": f"data:image/png;base64,{payload}"}},
        {"timestamp_ms": 500, "end": {}},
    ]
    answer = api.post("/simulation-jobs", json={"script": script})
    assert answer.status_code == 422 and "entry 0" in answer.json()["detail"]
