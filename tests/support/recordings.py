"""A recording on disk as the downloader leaves it, for display tests (no engine)."""

from __future__ import annotations

from pathlib import Path

from odyssey_jupyter.session.recording import Chapter, LocalRecording


def make_recording(
    tmp_path: Path,
    *,
    size: int = 1000,
    with_thumb: bool = True,
    script_index: int = 0,
    stream_id: str = "s1",
) -> LocalRecording:
    folder = tmp_path / "odyssey_recordings" / "job 1" / stream_id
    folder.mkdir(parents=True)
    video = folder / "video.mp4"
    video.write_bytes(b"\0" * size)
    thumb = folder / "thumbnail.jpg"
    if with_thumb:
        thumb.write_bytes(b"\xff\xd8\xff\xe0jpeg")
    return LocalRecording(
        stream_id=stream_id,
        script_index=script_index,
        video_path=video,
        thumbnail_path=thumb if with_thumb else None,
        duration_seconds=4.0,
        frame_count=96,
        width=704,
        height=1280,
        chapters=(
            Chapter(0.0, "a red fox in snow", "start"),
            Chapter(2.5, 'it jumps <over> "the" fence', "interact"),
        ),
    )
