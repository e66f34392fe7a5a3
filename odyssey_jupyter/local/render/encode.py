"""H.264 writing with PyAV: streamable MP4 (moov first), yuv420p, no audio."""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from odyssey_jupyter.local.render.frames import FrameBuffer

X264_OPTIONS = {"preset": "ultrafast", "crf": "26", "tune": "fastdecode"}


class Mp4Writer:
    """Frames in, an MP4 file out; ``close`` flushes the encoder and writes the index."""

    def __init__(
        self, path: Path, width: int, height: int, fps: int, *, keyframe_s: float = 2.0
    ) -> None:
        self.path = path
        self._container: Any = av.open(
            str(path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        try:
            stream: Any = self._container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.codec_context.gop_size = max(1, round(fps * keyframe_s))
            stream.options = dict(X264_OPTIONS)
        except BaseException:
            self.abort()  # the file is open already: release it before giving up
            raise
        self._stream = stream
        self._pts = 0

    def write(self, frame: FrameBuffer) -> None:
        # No copy into a new frame: libx264 copies the picture before encode() returns,
        # so the buffer may be drawn over for the next frame straight away.
        video = av.VideoFrame.from_numpy_buffer(frame.data, format="yuv420p")
        video.pts = self._pts
        self._pts += 1
        for packet in self._stream.encode(video):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        """Release the file whatever state the encoder is in (the caller deletes it)."""
        with contextlib.suppress(Exception):
            self._container.close()


def probe_duration(path: Path) -> tuple[int, float]:
    """(frame count, duration in seconds) as read back from a written file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = int(stream.frames)
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = float(container.duration or 0) / 1_000_000
    return frames, round(seconds, 6)
