"""What a worker is asked to render: plain, picklable, free of heavy imports.

The engine process builds these from stored scripts; only workers import the
renderer (NumPy, PyAV, Pillow), which keeps the HTTP side quick to start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from odyssey_jupyter.script.rules import plan_streams


@dataclass(frozen=True, slots=True)
class CueSpec:
    offset_ms: int
    timestamp_ms: int
    action: str
    prompt: str


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """Everything a worker needs to render one stream."""

    stream_id: str
    out_dir: str
    width: int
    height: int
    fps: int
    start_ms: int
    end_ms: int
    cues: tuple[CueSpec, ...]
    image: str | None = field(default=None, repr=False)
    realtime: bool = False

    @property
    def frame_count(self) -> int:
        return frame_count(self.end_ms - self.start_ms, self.fps)


def frame_count(duration_ms: int, fps: int) -> int:
    return round(duration_ms * fps / 1000)


def spec_for(
    script: list[dict[str, Any]],
    *,
    script_index: int,
    plan_index: int,
    stream_id: str,
    out_dir: str,
    width: int,
    height: int,
    fps: int,
    realtime: bool,
) -> RenderSpec:
    plan = plan_streams(script, script_index=script_index)[plan_index]
    cues = tuple(CueSpec(c.offset_ms, c.timestamp_ms, c.action, c.prompt) for c in plan.cues)
    return RenderSpec(
        stream_id=stream_id,
        out_dir=out_dir,
        width=width,
        height=height,
        fps=fps,
        start_ms=plan.start_ms,
        end_ms=plan.end_ms,
        cues=cues,
        image=plan.image,
        realtime=realtime,
    )
