"""A reusable yuv420p frame buffer and the one blend the renderer needs.

Frames are synthesised straight into the encoder's pixel format (planar Y, U, V),
so no per-frame colour conversion ever happens.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Plane = NDArray[np.uint8]


class FrameBuffer:
    """One ``(H*3/2, W)`` uint8 array with ``y``, ``u`` and ``v`` plane views into it."""

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError("yuv420p needs even width and height")
        self.width, self.height = width, height
        self.data: Plane = np.zeros((height * 3 // 2, width), dtype=np.uint8)
        quarter = height // 4
        self.y: Plane = self.data[:height]
        self.u: Plane = self.data[height : height + quarter].reshape(height // 2, width // 2)
        self.v: Plane = self.data[height + quarter :].reshape(height // 2, width // 2)


def blend_into(out: FrameBuffer, old: FrameBuffer, new: FrameBuffer, weight: float) -> None:
    """``out = old * (1 - weight) + new * weight`` with 8-bit fixed-point weights."""
    w = round(min(max(weight, 0.0), 1.0) * 256)
    mixed = old.data.astype(np.uint16) * (256 - w)
    mixed += new.data.astype(np.uint16) * w
    mixed >>= 8
    out.data[...] = mixed
