"""The procedural renderer: a stream -> video.mp4, preview.mp4, thumbnail.jpg, events.jsonl.

Runs inside a worker process. ``should_stop`` is polled every frame so a cancel
stops rendering at once; files are written to ``<dir>.partial`` and renamed into
place only when complete, so a stopped or crashed render leaves nothing half-done.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from odyssey_jupyter.local.jobs.spec import RenderSpec
from odyssey_jupyter.local.render.encode import Mp4Writer, probe_duration
from odyssey_jupyter.local.render.frames import FrameBuffer, blend_into
from odyssey_jupyter.local.render.palette import NEUTRAL, grade_for, look_for
from odyssey_jupyter.local.render.scenes import FittedImage, ImageScene, ProceduralScene, Scene
from odyssey_jupyter.local.render.startimage import ImageDecodeError, decode_data_url
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES

FADE_SECONDS = 0.4
PREVIEW_SECONDS = 4.0
PREVIEW_STEP = 2  # every other frame
PREVIEW_SCALE = 4
THUMBNAIL_SCALE = 2


@dataclass(frozen=True, slots=True)
class RenderResult:
    frame_count: int
    duration_seconds: float
    render_seconds: float


class RenderCancelled(Exception):
    """``should_stop`` said so; the partial files are gone."""


class RenderFailed(Exception):
    """The stream cannot be rendered (e.g. undecodable image); the message says why."""


def cue_frame(offset_ms: int, fps: int) -> int:
    return round(offset_ms * fps / 1000)


def build_scenes(spec: RenderSpec) -> list[tuple[int, Scene]]:
    """(first frame, scene) per cue. Raises RenderFailed when the start image is unusable."""
    fitted: FittedImage | None = None
    if spec.image is not None:
        try:
            fitted = FittedImage(decode_data_url(spec.image), spec.width, spec.height)
        except ImageDecodeError as exc:
            raise RenderFailed(str(exc)) from None
    scenes: list[tuple[int, Scene]] = []
    for cue in spec.cues:
        look = look_for(cue.prompt)
        scene: Scene
        if fitted is not None:
            grade = NEUTRAL if cue.action == "start" else grade_for(cue.prompt)
            scene = ImageScene(fitted, grade, cue.prompt, spec.frame_count, look.accent)
        else:
            scene = ProceduralScene(look, cue.prompt, spec.width, spec.height, spec.fps)
        scenes.append((cue_frame(cue.offset_ms, spec.fps), scene))
    return scenes


def write_events(spec: RenderSpec, path: Path) -> None:
    lines = [
        {
            "timestamp_ms": cue.timestamp_ms,
            "type": cue.action,
            "prompt": cue.prompt,
            "frame": cue_frame(cue.offset_ms, spec.fps),
        }
        for cue in spec.cues
    ]
    lines.append(
        {"timestamp_ms": spec.end_ms, "type": "end", "prompt": None, "frame": spec.frame_count}
    )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def save_thumbnail(frame: FrameBuffer, path: Path) -> None:
    s = THUMBNAIL_SCALE
    y = Image.fromarray(frame.y[::s, ::s].copy())
    size = y.size
    u = Image.fromarray(frame.u.copy()).resize(size, Image.Resampling.BILINEAR)
    v = Image.fromarray(frame.v.copy()).resize(size, Image.Resampling.BILINEAR)
    # limited-range planes -> stretch luma to full range for a JPEG that looks right
    y = y.point(lambda p: max(0, min(255, round((p - 16) * 255 / 219))))
    Image.merge("YCbCr", (y, u, v)).convert("RGB").save(path, "JPEG", quality=85)


def render_stream(
    spec: RenderSpec,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[float], None] = lambda _p: None,
) -> RenderResult:
    """Render one stream into ``spec.out_dir``; RenderCancelled or RenderFailed otherwise."""
    began = time.monotonic()
    final = Path(spec.out_dir)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        result = _render(spec, partial, began, should_stop, on_progress)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return result


class _Mixer:
    """The frame to show at each index: the current scene, cross-faded from the last one."""

    def __init__(self, scenes: list[tuple[int, Scene]], spec: RenderSpec) -> None:
        w, h = spec.width, spec.height
        self.scenes = scenes
        self.starts = [first for first, _ in scenes]
        self.fade = max(1, round(FADE_SECONDS * spec.fps))
        self.index = 0
        self.current, self.previous, self.mixed = (FrameBuffer(w, h) for _ in range(3))

    def frame(self, i: int) -> FrameBuffer:
        """Draw frame ``i`` (frames come in order: a scene left behind is released)."""
        scenes, starts = self.scenes, self.starts
        while self.index + 1 < len(scenes) and i >= starts[self.index + 1]:
            if self.index > 0:
                scenes[self.index - 1][1].release()
            self.index += 1
        first, scene = scenes[self.index]
        scene.draw(self.current, i, i - first)
        since = i - first
        if self.index == 0 or since >= self.fade:
            return self.current
        old_first, old_scene = scenes[self.index - 1]
        old_scene.draw(self.previous, i, i - old_first)
        blend_into(self.mixed, self.previous, self.current, (since + 1) / (self.fade + 1))
        return self.mixed


def _thumbnail_frame(scenes: list[tuple[int, Scene]], total: int) -> int:
    """Halfway through the first scene: the start prompt's picture, settled."""
    first_scene_end = scenes[1][0] if len(scenes) > 1 else total
    return min(total - 1, max(0, first_scene_end // 2))


def _downscale_into(target: FrameBuffer, frame: FrameBuffer) -> None:
    s = PREVIEW_SCALE
    target.y[...] = frame.y[::s, ::s]
    target.u[...] = frame.u[::s, ::s]
    target.v[...] = frame.v[::s, ::s]


def _keep_pace(began: float, frames_done: int, fps: int, should_stop: Callable[[], bool]) -> None:
    """Wait until ``frames_done`` frames' worth of time has passed (``--pace realtime``)."""
    lag = began + frames_done / fps - time.monotonic()
    while lag > 0:
        if should_stop():
            raise RenderCancelled()
        time.sleep(min(lag, 0.1))
        lag = began + frames_done / fps - time.monotonic()


def _render(
    spec: RenderSpec,
    out: Path,
    began: float,
    should_stop: Callable[[], bool],
    on_progress: Callable[[float], None],
) -> RenderResult:
    scenes = build_scenes(spec)
    total, fps, w, h = spec.frame_count, spec.fps, spec.width, spec.height
    mixer = _Mixer(scenes, spec)
    preview_frame = FrameBuffer(w // PREVIEW_SCALE, h // PREVIEW_SCALE)
    preview_frames = min(total, round(PREVIEW_SECONDS * fps))
    thumb_at = _thumbnail_frame(scenes, total)
    last_report = 0.0
    writers: list[Mp4Writer] = []  # every writer opened so far: all are closed on any failure
    try:
        video = Mp4Writer(out / ARTIFACT_FILES["video"], w, h, fps)
        writers.append(video)
        preview = Mp4Writer(
            out / ARTIFACT_FILES["preview"],
            preview_frame.width,
            preview_frame.height,
            fps // PREVIEW_STEP or 1,
        )
        writers.append(preview)
        for i in range(total):
            if should_stop():
                raise RenderCancelled()
            frame = mixer.frame(i)
            video.write(frame)
            if i < preview_frames and i % PREVIEW_STEP == 0:
                _downscale_into(preview_frame, frame)
                preview.write(preview_frame)
            if i == thumb_at:
                save_thumbnail(frame, out / ARTIFACT_FILES["thumbnail"])
            if spec.realtime:
                _keep_pace(began, i + 1, fps, should_stop)
            now = time.monotonic()
            if now - last_report >= 0.2:
                last_report = now
                on_progress((i + 1) / total)
        for writer in writers:
            writer.close()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    write_events(spec, out / ARTIFACT_FILES["events"])
    frames, seconds = probe_duration(out / ARTIFACT_FILES["video"])
    return RenderResult(frames, seconds, time.monotonic() - began)
