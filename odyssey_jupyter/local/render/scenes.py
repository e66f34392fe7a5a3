"""Scenes: what one prompt looks like, drawn frame by frame into a ``FrameBuffer``.

Procedural scenes pre-compute a horizontally periodic sky and ground once; a frame
is then two slice copies (integer pans, which the encoder predicts perfectly), a
small sun sprite and the caption. Image scenes pan and zoom a pre-fitted picture
and grade it with per-plane lookup tables.
"""

from __future__ import annotations

import math
from typing import Protocol

import av
import numpy as np
from PIL import Image

from odyssey_jupyter.local.render.caption import Caption, make_caption
from odyssey_jupyter.local.render.frames import FrameBuffer, Plane
from odyssey_jupyter.local.render.palette import Grade, Look, rgb_to_yuv

TILE = 256  # horizontal period of the textures, in luma pixels


class Scene(Protocol):
    """Draws itself; builds what it needs on first draw and drops it on ``release``
    (a script may hold hundreds of prompts: only the current two are kept in memory)."""

    def draw(self, frame: FrameBuffer, stream_frame: int, scene_frame: int) -> None: ...

    def release(self) -> None: ...


def _ramp(top: float, bottom: float, rows: int) -> Plane:
    return np.linspace(top, bottom, rows, dtype=np.float32)


class ProceduralScene:
    """A sky drifting over a ground moving at another speed, a sun crossing, a caption."""

    def __init__(self, look: Look, caption: str, width: int, height: int, fps: int) -> None:
        self.look, self.width, self.height, self.fps = look, width, height, fps
        self.text = caption
        self.horizon = int(height * look.horizon) // 2 * 2
        self.built = False

    def release(self) -> None:
        if self.built:
            del self.sky, self.ground, self.u, self.v, self.caption
            self.built = False

    def _build(self) -> None:
        self.built = True
        self.caption: Caption = make_caption(
            self.text, self.width, self.height, rgb_to_yuv(self.look.accent)
        )
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
        if not self.built:
            self._build()
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
    """A start image fitted to cover the frame with room to zoom, as full-range YCbCr planes."""

    ZOOM = 1.18

    def __init__(self, image: Image.Image, width: int, height: int) -> None:
        self.width, self.height = width, height
        scale = max(width / image.width, height / image.height) * self.ZOOM
        fw = max(width, round(image.width * scale)) // 4 * 4
        fh = max(height, round(image.height * scale)) // 4 * 4
        fitted = image.convert("RGB").resize((fw, fh), Image.Resampling.BILINEAR)
        y, u, v = fitted.convert("YCbCr").split()
        half = (fw // 2, fh // 2)
        self.y: Plane = np.asarray(y)
        self.u: Plane = np.asarray(u.resize(half, Image.Resampling.BILINEAR))
        self.v: Plane = np.asarray(v.resize(half, Image.Resampling.BILINEAR))
        self.size = (fw, fh)


def _lut_luma(grade: Grade) -> Plane:
    values = 16 + np.arange(256, dtype=np.float32) * (219 / 255)
    values = (values - 128) * grade.gain + 128 + grade.lift
    lut: Plane = np.clip(values, 16, 235).astype(np.uint8)
    return lut


def _lut_chroma(tint: float) -> Plane:
    values = 128 + (np.arange(256, dtype=np.float32) - 128) * (224 / 255) + tint
    lut: Plane = np.clip(values, 16, 240).astype(np.uint8)
    return lut


class ImageScene:
    """The start image with a slow zoom and pan over the whole stream, in this scene's grade.

    The grade is applied once to the whole fitted picture; each frame is then an
    integer crop (even offsets keep chroma aligned) scaled by libswscale.
    """

    def __init__(
        self,
        fitted: FittedImage,
        grade: Grade,
        caption: str,
        total_frames: int,
        accent: tuple[float, float, float],
    ) -> None:
        self.fitted, self.grade, self.text, self.accent = fitted, grade, caption, accent
        self.total = max(1, total_frames)
        self._graded: tuple[Plane, Plane, Plane] | None = None
        self._caption: Caption | None = None

    def release(self) -> None:
        self._graded = self._caption = None

    def _prepare(self) -> tuple[tuple[Plane, Plane, Plane], Caption]:
        if self._graded is None or self._caption is None:
            f = self.fitted
            self._graded = (
                _lut_luma(self.grade)[f.y],
                _lut_chroma(self.grade.tint_u)[f.u],
                _lut_chroma(self.grade.tint_v)[f.v],
            )
            self._caption = make_caption(self.text, f.width, f.height, rgb_to_yuv(self.accent))
        return self._graded, self._caption

    def crop_box(self, stream_frame: int) -> tuple[int, int, int, int]:
        """(left, top, width, height) of the source crop: shrinking (zoom in) and drifting."""
        f = self.fitted
        t = stream_frame / self.total
        zoom = 1.0 + (f.ZOOM - 1.0) * t
        fw, fh = f.size
        cw = min(fw, max(f.width, round(fw / zoom / 2) * 2))
        ch = min(fh, max(f.height, round(fh / zoom / 4) * 4))
        left = round((fw - cw) * (0.2 + 0.6 * t) / 2) * 2
        top = round((fh - ch) * (0.5 + 0.3 * math.sin(t * math.pi)) / 2) * 2
        return left, top, cw, ch

    def draw(self, frame: FrameBuffer, stream_frame: int, scene_frame: int) -> None:
        (y, u, v), caption = self._prepare()
        left, top, cw, ch = self.crop_box(stream_frame)
        packed = np.empty((ch * 3 // 2, cw), dtype=np.uint8)
        packed[:ch] = y[top : top + ch, left : left + cw]
        ct, cl = top // 2, left // 2
        quarter = ch // 4
        packed[ch : ch + quarter] = u[ct : ct + ch // 2, cl : cl + cw // 2].reshape(quarter, cw)
        packed[ch + quarter :] = v[ct : ct + ch // 2, cl : cl + cw // 2].reshape(quarter, cw)
        source = av.VideoFrame.from_ndarray(packed, format="yuv420p")
        scaled = source.reformat(width=frame.width, height=frame.height, interpolation="BILINEAR")
        frame.data[...] = scaled.to_ndarray()
        caption.paste(frame)
