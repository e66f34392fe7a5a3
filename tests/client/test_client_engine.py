"""The async client against the real local engine over HTTP: every method, every error status."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from PIL import Image
from support.engines import RunningEngine
from support.faultproxy import FaultProxy

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import (
    AuthenticationError,
    ConcurrentLimitError,
    ConfigurationError,
    ImageError,
    InvalidRequestError,
    JobCancelledError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    ScriptError,
)
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail

T = TypeVar("T")


def short(prompt: str = "A kite over a beach", seconds: float = 1.0) -> list[dict[str, Any]]:
    end = int(seconds * 1000)
    return [
        {"timestamp_ms": 0, "start": {"prompt": prompt}},
        {"timestamp_ms": end // 2, "interact": {"prompt": "The wind picks up"}},
        {"timestamp_ms": end, "end": {}},
    ]


LONG = [
    {"timestamp_ms": 0, "start": {"prompt": "A very long drive"}},
    {"timestamp_ms": 240_000, "end": {}},
]


def make(engine: RunningEngine, url: str | None = None, **kw: Any) -> Odyssey:
    kw.setdefault("retry_backoff", 0.05)
    kw.setdefault("retry_backoff_max", 0.2)
    return Odyssey(engine.api_key, url or engine.url, **kw)


def run(engine: RunningEngine, body: Callable[[Odyssey], Awaitable[T]], **kw: Any) -> T:
    async def main() -> T:
        async with make(engine, **kw) as client:
            return await body(client)

    return asyncio.run(main())


def test_simulate_wait_recording_download(engine: RunningEngine, tmp_path: Path) -> None:
    seen: list[str] = []
    progress: list[tuple[str, int, int | None]] = []

    async def body(
        client: Odyssey,
    ) -> tuple[SimulationJobDetail, SimulationJobDetail, dict[str, Path]]:
        job = await client.simulate(script=short(), portrait=False)

        async def on_update(detail: SimulationJobDetail) -> None:
            seen.append(str(detail.status))

        done = await client.wait(job.job_id, timeout=60, on_update=on_update, poll_interval=0.1)
        stream = done.streams[0]
        recording = await client.get_recording(stream.stream_id)
        assert recording.stream_id == stream.stream_id
        assert recording.video_url and recording.thumbnail_url and recording.events_url
        assert recording.frame_count and recording.duration_seconds == pytest.approx(1.0)
        paths = await client.download(
            stream.stream_id, tmp_path, progress=lambda k, d, t: progress.append((k, d, t))
        )
        return job, done, paths

    job, done, paths = run(engine, body)
    assert job.status == "pending" and job.streams == ()
    assert done.status == JobStatus.COMPLETED and done.job_id == job.job_id
    assert seen[-1] == "completed" and seen.count("completed") == 1  # changes only, once each
    assert set(paths) == {"video", "thumbnail", "preview", "events"}
    assert paths["video"].name == "video.mp4" and paths["video"].read_bytes()[4:8] == b"ftyp"
    width, height = Image.open(paths["thumbnail"]).size
    assert width > height  # landscape
    events = [json.loads(line) for line in paths["events"].read_text().splitlines()]
    assert events[0]["type"] == "start" and events[0]["prompt"] == "A kite over a beach"
    assert not list(tmp_path.glob(".*.part"))
    assert {k for k, _, _ in progress} == set(paths)
    video_sizes = [d for k, d, t in progress if k == "video"]
    assert video_sizes[-1] == paths["video"].stat().st_size


def test_wait_accepts_a_sync_callback_and_returns_terminal_detail(engine: RunningEngine) -> None:
    statuses: list[JobStatus] = []

    async def body(client: Odyssey) -> SimulationJobDetail:
        job = await client.simulate(short("A sync callback"))
        return await client.wait(job.job_id, on_update=lambda d: statuses.append(d.status))

    done = run(engine, body)
    assert done.is_terminal and statuses[-1] == done.status


def test_batch_scripts_become_streams_with_their_index(engine: RunningEngine) -> None:
    async def body(client: Odyssey) -> SimulationJobDetail:
        job = await client.simulate(scripts=[short("First of a pair"), short("Second of a pair")])
        return await client.wait(job.job_id, timeout=60, poll_interval=0.1)

    done = run(engine, body)
    assert done.status == "completed"
    assert sorted(s.script_index for s in done.streams) == [0, 1]


def test_every_kind_of_start_image_is_accepted(engine: RunningEngine, tmp_path: Path) -> None:
    path = tmp_path / "start.png"
    Image.new("RGB", (300, 200), (0, 90, 200)).save(path)
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 80), (255, 0, 0, 120)).save(buffer, format="PNG")
    import base64

    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    images: list[Any] = [
        str(path),
        path,
        path.read_bytes(),
        Image.open(path),
        np.zeros((64, 64, 3), dtype=np.uint8),
        np.zeros((64, 64, 4), dtype=np.uint8),
        np.zeros((64, 64), dtype=np.uint8),
        data_url,
    ]
    scripts = [
        [
            {"timestamp_ms": 0, "start": {"prompt": f"Image kind {i}", "image": image}},
            {"timestamp_ms": 500, "end": {}},
        ]
        for i, image in enumerate(images)
    ]

    async def body(client: Odyssey) -> SimulationJobDetail:
        job = await client.simulate(scripts=scripts, portrait=False)
        return await client.wait(job.job_id, timeout=90, poll_interval=0.2)

    done = run(engine, body)
    assert done.status == "completed", done.error_message
    assert len(done.streams) == len(images)


def test_bad_image_is_refused_with_its_entry_before_sending(engine: RunningEngine) -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "ok"}},
        {"timestamp_ms": 500, "end": {}},
        {"timestamp_ms": 500, "start": {"prompt": "broken", "image": b"not a picture"}},
        {"timestamp_ms": 900, "end": {}},
    ]
    with FaultProxy(engine.url) as proxy:
        with pytest.raises(ImageError) as info:
            run(engine, lambda c: c.simulate(scripts=[short(), script]), url=proxy.url)
        assert proxy.count(path="/simulation-jobs") == 0
    assert (info.value.script_index, info.value.entry) == (1, 2)


def test_list_pagination_and_filters(engine: RunningEngine) -> None:
    async def body(client: Odyssey) -> None:
        ids = []
        for n in range(3):
            job = await client.simulate(short(f"Listing job {n}", 0.5))
            ids.append(job.job_id)
        for job_id in ids:
            await client.wait(job_id, timeout=60, poll_interval=0.1)
        first = await client.list_simulations(limit=2)
        assert len(first.jobs) == 2 and first.limit == 2 and first.offset == 0
        assert first.total >= 3
        assert first.jobs[0].job_id == ids[-1]  # newest first
        second = await client.list_simulations(limit=2, offset=1)
        assert second.jobs[0].job_id == first.jobs[1].job_id
        done = await client.list_simulations(status="completed", limit=100)
        assert done.jobs and all(j.status == "completed" for j in done.jobs)
        assert set(ids) <= {j.job_id for j in done.jobs}
        by_enum = await client.list_simulations(status=JobStatus.COMPLETED, limit=1)
        assert by_enum.total == done.total
        active = await client.list_simulations(active=True)
        assert all(j.status.is_active for j in active.jobs)
        recordings = await client.list_stream_recordings(limit=1)
        assert recordings.total >= 3 and len(recordings.recordings) == 1
        row = recordings.recordings[0]
        assert row.stream_id and row.width and row.height and row.duration_seconds
        page = await client.list_stream_recordings(limit=1, offset=1)
        assert page.recordings[0].stream_id != row.stream_id

    run(engine, body)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("list_simulations", {"limit": 0}),
        ("list_simulations", {"limit": 101}),
        ("list_simulations", {"offset": -1}),
        ("list_simulations", {"limit": True}),
        ("list_stream_recordings", {"limit": 500}),
        ("list_stream_recordings", {"offset": -5}),
    ],
)
def test_out_of_range_pages_are_refused_before_sending(
    engine: RunningEngine, call: str, args: dict[str, Any]
) -> None:
    with FaultProxy(engine.url) as proxy:
        with pytest.raises(InvalidRequestError, match=r"limit|offset") as info:
            run(engine, lambda c: getattr(c, call)(**args), url=proxy.url)
        assert proxy.counts.total() == 0
    assert isinstance(info.value, ValueError)


def test_cancel_and_cancelled_wait(engine: RunningEngine) -> None:
    async def body(client: Odyssey) -> None:
        job = await client.simulate(LONG)
        info = await client.cancel_simulation(job.job_id)
        assert info.job_id == job.job_id and info.status == "cancelled"
        with pytest.raises(InvalidRequestError) as again:
            await client.cancel_simulation(job.job_id)
        assert again.value.status_code == 400 and "cancel" in str(again.value.detail)
        with pytest.raises(JobCancelledError) as ended:
            await client.wait(job.job_id, raise_on_failure=True)
        assert ended.value.detail is not None and ended.value.job_id == job.job_id
        quiet = await client.wait(job.job_id)  # the guide's way: no exception, just the detail
        assert quiet.status == "cancelled"

    run(engine, body)


def test_wait_timeout_leaves_the_job_running(engine: RunningEngine) -> None:
    async def body(client: Odyssey) -> None:
        job = await client.simulate(LONG)
        try:
            with pytest.raises(JobTimeoutError) as info:
                await client.wait(
                    job.job_id, timeout=0.2, raise_on_failure=True, poll_interval=0.05
                )
            assert info.value.detail is not None and info.value.detail.is_active
            detail = await client.wait(job.job_id, timeout=0.1)
            assert detail.is_active
        finally:
            await client.cancel_simulation(job.job_id)

    run(engine, body)


def test_documented_error_statuses(engine: RunningEngine, tmp_path: Path) -> None:
    async def body(client: Odyssey) -> None:
        with pytest.raises(NotFoundError) as missing:
            await client.get_simulate_status("no-such-job")
        assert missing.value.status_code == 404 and missing.value.detail
        with pytest.raises(NotFoundError):
            await client.get_recording("no-such-stream")
        with pytest.raises(NotFoundError):
            await client.cancel_simulation("no-such-job")
        with pytest.raises(NotFoundError):
            await client.download("no-such-stream", tmp_path)
        with pytest.raises(InvalidRequestError) as bad_url:  # the engine cannot fetch it: 422
            await client.simulate(script_url="http://127.0.0.1:9/script.json")
        assert bad_url.value.status_code == 422 and "script_url" in str(bad_url.value)

    run(engine, body)

    async def wrong_key() -> None:
        async with Odyssey("ody_wrong_key", engine.url, max_retries=0) as client:
            await client.list_simulations()

    with pytest.raises(AuthenticationError, match="ODYSSEY_API_KEY") as refused:
        asyncio.run(wrong_key())
    assert refused.value.status_code == 401


def test_too_large_body_is_invalid_request(engine: RunningEngine) -> None:
    # 50 entries with a 1 MB data URL of noise each: fine for the client, too big for the server.
    noise = np.random.default_rng(0).integers(0, 255, (700, 500, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    import base64

    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    scripts = [
        [
            {"timestamp_ms": 0, "start": {"prompt": "noise", "image": url}},
            {"timestamp_ms": 100, "end": {}},
        ]
    ] * 50
    with pytest.raises(InvalidRequestError) as info:
        run(engine, lambda c: c.simulate(scripts=scripts), max_retries=0)
    assert info.value.status_code == 413


def test_someone_elses_job_is_permission_denied(
    start_engine: Callable[..., RunningEngine], tmp_path: Path
) -> None:
    data_dir = tmp_path / "shared"
    first = start_engine("--workers", "1", data_dir=data_dir, api_key="ody_owner_one_key")
    job = run(first, lambda c: c.simulate(LONG))
    first.stop()
    second = start_engine("--workers", "1", data_dir=data_dir, api_key="ody_owner_two_key")
    with pytest.raises(PermissionDeniedError) as info:
        run(second, lambda c: c.get_simulate_status(job.job_id))
    assert info.value.status_code == 403 and "another" in str(info.value)


def test_usage_limit_is_raised_at_once_not_retried(
    start_engine: Callable[..., RunningEngine],
) -> None:
    limited = start_engine("--workers", "1", "--max-active", "1")
    with FaultProxy(limited.url) as proxy:

        async def body(client: Odyssey) -> None:
            job = await client.simulate(LONG)
            try:
                with pytest.raises(ConcurrentLimitError) as info:
                    await client.simulate(LONG)
                assert info.value.code == "CONCURRENT_LIMIT_REACHED" and info.value.action
            finally:
                await client.cancel_simulation(job.job_id)

        run(limited, body, url=proxy.url)
        assert proxy.count(method="POST", path="/simulation-jobs") == 2


def test_download_fetches_fresh_urls_when_they_expire(
    start_engine: Callable[..., RunningEngine], tmp_path: Path
) -> None:
    quick = start_engine("--workers", "1", "--url-ttl", "1")
    with FaultProxy(quick.url) as proxy:

        async def body(client: Odyssey) -> dict[str, Path]:
            job = await client.simulate(short("Expiring links"))
            done = await client.wait(job.job_id, timeout=60, poll_interval=0.1)
            stream_id = done.streams[0].stream_id
            slept = False

            async def slow_progress(kind: str, done_bytes: int, total: int | None) -> None:
                nonlocal slept
                if not slept:  # let every other URL of this recording expire
                    slept = True
                    await asyncio.sleep(2.2)

            return await client.download(stream_id, tmp_path, progress=slow_progress)

        paths = run(quick, body, url=proxy.url)
        refused = [entry for entry in proxy.log if entry[1].startswith("/artifacts/")]
        assert len(paths) == 4 and all(p.stat().st_size > 0 for p in paths.values())
        assert proxy.count(path="/recordings/") >= 2  # the first answer, then fresh URLs
        assert len(refused) > 4  # some artifact requests were refused as expired, then redone


def test_missing_optional_artifacts_are_skipped_not_errors(
    engine: RunningEngine, tmp_path: Path
) -> None:
    async def body(client: Odyssey) -> dict[str, Path]:
        job = await client.simulate(short("Only the video"))
        done = await client.wait(job.job_id, timeout=60, poll_interval=0.1)
        return await client.download(done.streams[0].stream_id, tmp_path, kinds=("video",))

    paths = run(engine, body)
    assert list(paths) == ["video"] and (tmp_path / "video.mp4").exists()
    with pytest.raises(ValueError, match="unknown artifact"):
        run(engine, lambda c: c.download("x", tmp_path, kinds=("audio",)))


def test_one_client_across_two_event_loops(engine: RunningEngine) -> None:
    client = make(engine)

    async def once() -> int:
        return (await client.list_simulations(limit=1)).total

    assert asyncio.run(once()) >= 0
    assert asyncio.run(once()) >= 0  # a fresh AsyncClient for the second loop
    assert client._tokens.exchanges == 1  # the token outlives the loop


def test_script_errors_stop_before_anything_is_sent(engine: RunningEngine) -> None:
    wrong: list[dict[str, Any]] = [
        {},
        {"script": short(), "scripts": [short()]},
        {"script": [{"timestamp_ms": 0, "start": {}}]},
        {"script": [short(), short()]},
        {"scripts": []},
        {"script_url": "ftp://example.com/x.json"},
    ]
    with FaultProxy(engine.url) as proxy:
        for kwargs in wrong:

            async def submit(c: Odyssey, kw: dict[str, Any] = kwargs) -> object:
                return await c.simulate(**kw)

            with pytest.raises(ScriptError):
                run(engine, submit, url=proxy.url)
        assert proxy.counts.total() == 0


def test_configuration_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    monkeypatch.setenv("ODYSSEY_API_URL", "http://127.0.0.1:1/")
    with pytest.raises(ConfigurationError, match="ODYSSEY_API_KEY"):
        Odyssey()
    monkeypatch.delenv("ODYSSEY_API_URL")
    hosted = Odyssey(api_key="ody_config_rules_key")
    assert hosted.api_url == "https://api.odyssey.ml" and not hosted.is_local
    assert "ody_config_rules_key" not in repr(hosted) and "key set" in repr(hosted)
    explicit = Odyssey("ody_k", "http://example.test:8080///")
    assert explicit.api_url == "http://example.test:8080"
    monkeypatch.setenv("ODYSSEY_API_KEY", "ody_from_env")
    monkeypatch.setenv("ODYSSEY_API_URL", "http://env.test/")
    assert Odyssey().api_url == "http://env.test"
    with pytest.raises(ConfigurationError):
        Odyssey("ody_k", "not a url")
    monkeypatch.delenv("ODYSSEY_API_KEY")
    monkeypatch.delenv("ODYSSEY_API_URL")
    local = Odyssey()
    assert local.is_local and local.api_url is None and "local" in repr(local)


def test_the_engines_rate_limit_is_waited_out(
    start_engine: Callable[..., RunningEngine],
) -> None:
    limited = start_engine("--workers", "1", "--rate-limit", "4")
    with FaultProxy(limited.url) as proxy:

        async def body(client: Odyssey) -> list[int]:
            pages = await asyncio.gather(*(client.list_simulations(limit=1) for _ in range(8)))
            return [page.limit for page in pages]

        assert run(limited, body, url=proxy.url) == [1] * 8
        assert proxy.count(method="GET") > 8  # some were refused with 429 and asked again
