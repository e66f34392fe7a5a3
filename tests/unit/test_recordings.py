"""Recordings on disk: MP4 box reader, chapters from events, cache layout, fetch + repair."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from odyssey_jupyter.errors import InvalidRequestError, InvalidResponseError
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES
from odyssey_jupyter.protocol.types import SimulationJobDetail, SimulationStream
from odyssey_jupyter.session import recordings
from odyssey_jupyter.session.mp4_info import Mp4Info, read_mp4_info
from odyssey_jupyter.session.recording import Chapter, chapters_from_events


def make_mp4(path: Path, width: int = 64, height: int = 48, frames: int = 6, fps: int = 12) -> Path:
    """A real (tiny) H.264 MP4 written with PyAV."""
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(frames):
            image = np.full((height, width, 3), index * 30 % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def recordings_config(sandbox: Path) -> Path:
    return sandbox / "recs"


def test_mp4_reader_gets_size_duration_and_frames(tmp_path: Path) -> None:
    video = make_mp4(tmp_path / "v.mp4", 64, 48, frames=6, fps=12)
    info = read_mp4_info(video)
    assert (info.width, info.height) == (64, 48)
    assert info.frame_count == 6
    assert info.duration_seconds is not None and 0.4 <= info.duration_seconds <= 0.6


def test_mp4_reader_portrait_and_garbage(tmp_path: Path) -> None:
    info = read_mp4_info(make_mp4(tmp_path / "p.mp4", 48, 80, frames=2))
    assert (info.width, info.height) == (48, 80)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x01nope" + b"x" * 50)
    assert read_mp4_info(junk) == Mp4Info()
    assert read_mp4_info(tmp_path / "missing.mp4") == Mp4Info()


def test_chapters_relative_to_first_start(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = [
        {"timestamp_ms": 1000, "type": "start", "prompt": "a cat", "frame": 0},
        "not json",
        {"timestamp_ms": 2500, "type": "interact", "prompt": "it jumps", "frame": 36},
        {"timestamp_ms": 4000, "type": "end", "prompt": None, "frame": 72},
    ]
    events.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines), encoding="utf-8"
    )
    assert chapters_from_events(events) == (
        Chapter(0.0, "a cat", "start"),
        Chapter(1.5, "it jumps", "interact"),
    )
    assert chapters_from_events(tmp_path / "none.jsonl") == ()


def test_a_byte_that_is_not_utf8_spoils_only_its_own_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    start = {"timestamp_ms": 0, "type": "start", "prompt": "a cat", "frame": 0}
    events.write_bytes(json.dumps(start).encode() + b"\n\xff\xfe broken\n")
    assert chapters_from_events(events) == (Chapter(0.0, "a cat", "start"),)


def test_a_time_that_is_not_a_finite_number_spoils_only_its_own_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"timestamp_ms": NaN, "type": "start", "prompt": "never"}\n'
        '{"timestamp_ms": 1000, "type": "start", "prompt": "a cat"}\n'
        '{"timestamp_ms": Infinity, "type": "interact", "prompt": "lost"}\n'
        '{"timestamp_ms": "1e400", "type": "interact", "prompt": "lost too"}\n'
        '{"timestamp_ms": 2500, "type": "interact", "prompt": "it jumps"}\n',
        encoding="utf-8",
    )
    assert chapters_from_events(events) == (
        Chapter(0.0, "a cat", "start"),
        Chapter(1.5, "it jumps", "interact"),
    )


def test_recording_dir_layout_and_bad_ids(recordings_config: Path) -> None:
    assert recordings.recording_dir("job1", "s1") == recordings_config.absolute() / "job1" / "s1"
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            recordings.recording_dir(bad, "s1")


def test_every_id_the_answers_accept_is_a_directory_that_can_be_made(
    recordings_config: Path,
) -> None:
    for fits in ("a" * 255, "é" * 127, "v" * 100 + "\U0001f600" * 38):
        job = SimulationJobDetail.from_json({"job_id": fits, "status": "completed"})
        recordings.recording_dir(job.job_id, fits).mkdir(parents=True)
    for too_long in ("a" * 256, "é" * 128, "\U0001f600" * 64):
        with pytest.raises(InvalidResponseError, match="255 bytes"):
            SimulationJobDetail.from_json({"job_id": too_long, "status": "completed"})
        with pytest.raises(InvalidRequestError):
            recordings.recording_dir("j1", too_long)


class FakeDownloader:
    """Stands in for Odyssey.download: writes the files it is asked for, counts calls."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    async def download(
        self, stream_id: str, dest_dir: Path, kinds: tuple[str, ...]
    ) -> dict[str, Path]:
        self.calls.append((stream_id, tuple(kinds)))
        out = {}
        for kind in kinds:
            target = Path(dest_dir) / ARTIFACT_FILES[kind]
            if kind == "video":
                target.write_bytes(self.source.read_bytes())
            elif kind == "events":
                target.write_text(
                    json.dumps({"timestamp_ms": 0, "type": "start", "prompt": "p", "frame": 0})
                )
            else:
                target.write_bytes(b"x")
            out[kind] = target
        return out


def test_fetch_downloads_only_missing_files(recordings_config: Path, tmp_path: Path) -> None:
    import asyncio

    fake = FakeDownloader(make_mp4(tmp_path / "src.mp4"))
    files = asyncio.run(recordings.fetch(fake, "j", "s", ("video", "events")))  # type: ignore[arg-type]
    assert set(files) == {"video", "events"} and fake.calls == [("s", ("video", "events"))]
    asyncio.run(recordings.fetch(fake, "j", "s", ("video", "events")))  # type: ignore[arg-type]
    assert len(fake.calls) == 1  # cached
    files["video"].unlink()
    asyncio.run(recordings.fetch(fake, "j", "s", ("video", "events")))  # type: ignore[arg-type]
    assert fake.calls[-1] == ("s", ("video",))
    rec = recordings.load("j", SimulationStream(stream_id="s", duration_seconds=2.0))
    assert rec is not None
    assert rec.path == rec.video_path and rec.width == 64 and rec.height == 48
    assert rec.duration_seconds == 2.0 and rec.frame_count == 6
    assert rec.chapters == (Chapter(0.0, "p", "start"),)
    assert "64x48" in repr(rec)
