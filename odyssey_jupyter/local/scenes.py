"""Scenes: what one prompt looks like, drawn frame by frame into a ``FrameBuffer``.

Procedural scenes pre-compute a horizontally periodic sky and ground once; a frame
is then two slice copies (integer pans, which the encoder predicts perfectly), a
small sun sprite and the caption. Image scenes pan and zoom a pre-fitted picture
and grade it with per-plane lookup tables.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from PIL import Image

from odyssey_jupyter.local.caption import Caption, make_caption
from odyssey_jupyter.local.frames import FrameBuffer, Plane
from odyssey_jupyter.local.palette import Grade, Look, rgb_to_yuv

TILE = 256  # horizontal period of the textures, in luma pixels


class Scene(Protocol):
    def draw(self, frame: FrameBuffer, stream_frame: int, scene_frame: int) -> None: ...


def _ramp(top: float, bottom: float, rows: int) -> Plane:
    return np.linspace(top, bottom, rows, dtype=np.float32)


class ProceduralScene:
    """A sky drifting over a ground moving at another speed, a sun crossing, a caption."""

    def __init__(self, look: Look, caption: str, width: int, height: int, fps: int) -> None:
        self.look, self.width, self.height, self.fps = look, width, height, fps
        self.horizon = int(height * look.horizon) // 2 * 2
        self.caption: Caption = make_caption(caption, width, height, rgb_to_yuv(look.accent))
        self._build()

    def _build(self) -> None:
        w, h, hz = self.width, self.height, self.horizon
        look = self.look
        span = w + TILE
        x = np.arange(span, dtype=np.float32) * (2 * math.pi / TILE)
        # sky: vertical gradient modulated by slow periodic waves (periodic in x over TILE)
        ty, _, _ = rgb_to_yuv(look.sky_top)
        by, _, _ = rgb_to_yuv(look.sky_bottom)
        rows = _ramp(ty, by, hz)[:, None]
        yy = np.linspace(0, 2 * math.pi * look.wave[1], hz, dtype=np.float32)[:, None]
        wave = np.sin(x[None, :] * look.wave[0] + yy) * 14 + np.sin(x[None, :] * 2 + yy * 0.5) * 6
        self.sky: Plane = np.clip(rows + wave, 16, 235).astype(np.uint8)
        # ground: furrows converging toward the horizon
        gy, _, _ = rgb_to_yuv(look.ground)
        depth = np.linspace(0.2, 1.0, h - hz, dtype=np.float32)[:, None]
        furrow = np.sin(x[None, :] * 4 + depth * 9.0) * 22 * depth
        self.ground: Plane = np.clip(gy * (0.6 + 0.6 * depth) + furrow, 16, 235).astype(np.uint8)
        # chroma does not move: static planes, copied per frame
        _, tu, tv = rgb_to_yuv(look.sky_top)
        _, bu, bv = rgb_to_yuv(look.sky_bottom)
        _, gu, gv = rgb_to_yuv(look.ground)
        half_w, half_hz, half_h = w // 2, hz // 2, h // 2
        self.u: Plane = np.empty((half_h, half_w), dtype=np.uint8)
        self.v: Plane = np.empty((half_h, half_w), dtype=np.uint8)
        self.u[:half_hz] = _ramp(tu, bu, half_hz).astype(np.uint8)[:, None]
        self.v[:half_hz] = _ramp(tv, bv, half_hz).astype(np.uint8)[:, None]
        self.u[half_hz:] = int(gu)
        self.v[half_hz:] = int(gv)
        # the sun: a soft disc, pasted where its mask is set
        radius = max(8, int(min(w, h) * 0.07)) // 2 * 2
        grid = np.arange(-radius, radius, dtype=np.float32) + 0.5
        dist = np.sqrt(grid[:, None] ** 2 + grid[None, :] ** 2)
        self.sun_mask = dist <= radius
        self.sun_mask_c = self.sun_mask[::2, ::2]
        ay, au, av = rgb_to_yuv(look.accent)
        self.sun_y = np.clip(ay + 20 * (1 - dist / radius), 16, 235).astype(np.uint8)
        self.sun_u, self.sun_v = int(au), int(av)
        self.radius = radius

    def draw(self, frame: FrameBuffer, stream_frame: int, scene_frame: int) -> None:
        w, hz, look = self.width, self.horizon, self.look
        sky_x = (scene_frame * look.sky_velocity[0]) % TILE
        ground_x = (scene_frame * look.ground_velocity) % TILE
        frame.y[:hz] = self.sky[:, sky_x : sky_x + w]
        frame.y[hz:] = self.ground[:, ground_x : ground_x + w]
        frame.u[...] = self.u
        frame.v[...] = self.v
        # sun: moves across the sky over ten seconds, bobbing with the vertical velocity
        x0, x1, height = look.sun_path
        progress = min(1.0, scene_frame / (10.0 * self.fps))
        bob = math.sin(scene_frame * 0.05) * look.sky_velocity[1] * 4
        cx = int((x0 + (x1 - x0) * progress) * w) // 2 * 2
        cy = int(height * hz + bob) // 2 * 2
        r = self.radius
        top, left = max(0, cy - r), max(0, cx - r)
        if top + 2 * r <= hz and left + 2 * r <= w:
            np.copyto(
                frame.y[top : top + 2 * r, left : left + 2 * r], self.sun_y, where=self.sun_mask
            )
            ct, cl = top // 2, left // 2
            frame.u[ct : ct + r, cl : cl + r][self.sun_mask_c] = self.sun_u
            frame.v[ct : ct + r, cl : cl + r][self.sun_mask_c] = self.sun_v
        self.caption.paste(frame)


class FittedImage:
    """A start image fitted to cover the frame with room to zoom, as ``L`` planes."""

    ZOOM = 1.18

    def __init__(self, image: Image.Image, width: int, height: int) -> None:
        self.width, self.height = width, height
        scale = max(width / image.width, height / image.height) * self.ZOOM
        size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
        fitted = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        ycc = fitted.convert("YCbCr")  # full range; mapped to limited range by the grade LUT
        self.y, self.u, self.v = ycc.split()
        self.size = size


def _lut_luma(grade: Grade) -> list[int]:
    values = 16 + np.arange(256, dtype=np.float32) * (219 / 255)
    values = (values - 128) * grade.gain + 128 + grade.lift
    return [int(v) for v in np.clip(values, 16, 235)]


def _lut_chroma(tint: float) -> list[int]:
    values = 128 + (np.arange(256, dtype=np.float32) - 128) * (224 / 255) + tint
    return [int(v) for v in np.clip(values, 16, 240)]


class ImageScene:
    """The start image with a slow zoom and pan over the whole stream, in this scene's grade."""

    def __init__(
        self,
        fitted: FittedImage,
        grade: Grade,
        caption: str,
        total_frames: int,
        accent: tuple[float, float, float],
    ) -> None:
        self.fitted = fitted
        self.total = max(1, total_frames)
        self.caption = make_caption(caption, fitted.width, fitted.height, rgb_to_yuv(accent))
        self.lut_y = _lut_luma(grade)
        self.lut_u = _lut_chroma(grade.tint_u)
        self.lut_v = _lut_chroma(grade.tint_v)

    def draw(self, frame: FrameBuffer, stream_frame: int, scene_frame: int) -> None:
        f = self.fitted
        t = stream_frame / self.total
        zoom = 1.0 + (f.ZOOM - 1.0) * t  # 1 .. ZOOM: the crop shrinks, the picture grows
        src_w, src_h = f.size[0] / f.ZOOM * (f.ZOOM / zoom), f.size[1] / f.ZOOM * (f.ZOOM / zoom)
        src_w, src_h = min(src_w, f.size[0]), min(src_h, f.size[1])
        left = (f.size[0] - src_w) * (0.2 + 0.6 * t)
        top = (f.size[1] - src_h) * (0.5 + 0.3 * math.sin(t * math.pi))
        box = (left, top, left + src_w, top + src_h)
        w, h = f.width, f.height
        y = f.y.resize((w, h), Image.Resampling.BILINEAR, box=box).point(self.lut_y)
        u = f.u.resize((w // 2, h // 2), Image.Resampling.BILINEAR, box=box).point(self.lut_u)
        v = f.v.resize((w // 2, h // 2), Image.Resampling.BILINEAR, box=box).point(self.lut_v)
        frame.y[...] = np.asarray(y)
        frame.u[...] = np.asarray(u)
        frame.v[...] = np.asarray(v)
        self.caption.paste(frame)
