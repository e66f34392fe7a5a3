"""Deterministic looks derived from prompt text: colours, motion, a colour grade.

Everything comes from a SHA-256 of the prompt, so the same script always renders
the same video, and two different prompts almost always look different.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


def prompt_rng(prompt: str, salt: str = "") -> np.random.Generator:
    digest = hashlib.sha256(f"{salt}\0{prompt}".encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def rgb_to_yuv(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """BT.601 limited range, as libx264's yuv420p expects."""
    r, g, b = rgb
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return y, u, v


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return 255 * r, 255 * g, 255 * b


@dataclass(frozen=True, slots=True)
class Look:
    """A scene's palette and motion."""

    sky_top: tuple[float, float, float]
    sky_bottom: tuple[float, float, float]
    ground: tuple[float, float, float]
    accent: tuple[float, float, float]
    sky_velocity: tuple[int, int]  # pixels per frame (x, y), even so chroma stays aligned
    ground_velocity: int
    wave: tuple[int, int]  # periods per tile along x and y
    horizon: float  # fraction of the height
    sun_path: tuple[float, float, float]  # start x, end x (fractions), height fraction


@dataclass(frozen=True, slots=True)
class Grade:
    """A colour grade for image scenes: luma gain/lift and a chroma tint."""

    gain: float
    lift: float
    tint_u: float
    tint_v: float


def look_for(prompt: str) -> Look:
    rng = prompt_rng(prompt, "look")
    hue = float(rng.random())
    spread = float(rng.uniform(0.08, 0.4))
    speed = int(rng.integers(1, 4)) * 2
    angle = float(rng.uniform(0, 2 * np.pi))
    vx = round(np.cos(angle) * speed / 2) * 2 or 2
    vy = round(np.sin(angle) * speed / 2) * 2
    return Look(
        sky_top=_hsv(hue, float(rng.uniform(0.4, 0.9)), float(rng.uniform(0.35, 0.7))),
        sky_bottom=_hsv(
            (hue + spread) % 1, float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.7, 1))
        ),
        ground=_hsv((hue + 0.5) % 1, float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.2, 0.5))),
        accent=_hsv((hue + 0.15) % 1, 0.6, 1.0),
        sky_velocity=(vx, vy),
        ground_velocity=int(rng.integers(2, 7)) * 2 * (1 if rng.random() < 0.5 else -1),
        wave=(int(rng.integers(1, 4)), int(rng.integers(1, 3))),
        horizon=float(rng.uniform(0.55, 0.72)),
        sun_path=(
            float(rng.uniform(0.05, 0.4)),
            float(rng.uniform(0.6, 0.95)),
            float(rng.uniform(0.12, 0.35)),
        ),
    )


def grade_for(prompt: str) -> Grade:
    rng = prompt_rng(prompt, "grade")
    return Grade(
        gain=float(rng.uniform(0.8, 1.15)),
        lift=float(rng.uniform(-12, 12)),
        tint_u=float(rng.uniform(-18, 18)),
        tint_v=float(rng.uniform(-18, 18)),
    )


NEUTRAL = Grade(1.0, 0.0, 0.0, 0.0)
