"""The caption bar: the current prompt, rasterised once per scene and pasted per frame."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from odyssey_jupyter.local.render.frames import FrameBuffer, Plane

BAR_Y = 22  # near-black, limited range
TEXT_Y = 235  # white, limited range
MAX_LINES = 3
BAR_BOTTOM = 0.85
"""Where the caption bar ends, as a share of the frame height (above player controls)."""


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    printable = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    words = " ".join("".join(c if c.isprintable() else " " for c in printable).split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if not current or font.getlength(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
        if len(lines) > MAX_LINES:
            break
    if current and len(lines) <= MAX_LINES:
        lines.append(current)
    lines = [_cut(line, font, width) for line in lines]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = _cut(lines[-1] + " …", font, width, force=True)
    return lines


def _cut(
    line: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    *,
    force: bool = False,
) -> str:
    """``line`` if it fits, else its longest prefix that fits with an ellipsis (binary search)."""
    if not force and font.getlength(line) <= width:
        return line
    base = line.removesuffix(" …")
    low, high = 0, len(base)
    while low < high:
        mid = (low + high + 1) // 2
        if font.getlength(base[:mid].rstrip() + "…") <= width:
            low = mid
        else:
            high = mid - 1
    return base[:low].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Caption:
    """A pre-rendered bar: its top row and its Y, U, V pixels."""

    top: int
    y: Plane
    u: Plane
    v: Plane

    def paste(self, frame: FrameBuffer) -> None:
        rows = self.y.shape[0]
        frame.y[self.top : self.top + rows] = self.y
        half = self.top // 2
        frame.u[half : half + rows // 2] = self.u
        frame.v[half : half + rows // 2] = self.v


def make_caption(
    text: str, width: int, height: int, accent: tuple[float, float, float] = (128.0, 128.0, 128.0)
) -> Caption:
    """Rasterise ``text`` in a bar across the lower part of a ``width`` x ``height`` frame."""
    size = max(18, round(min(width, height) * 0.045))
    font = _font(size)
    margin = size
    lines = _wrap(text, font, width - 2 * margin)
    line_height = round(size * 1.3)
    bar = len(lines) * line_height + size
    bar += bar % 2
    stripe = 4
    image = Image.new("L", (width, bar), 0)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, size // 2 + i * line_height), line, fill=255, font=font)
    mask = np.asarray(image, dtype=np.uint16)
    y = (BAR_Y + (mask * (TEXT_Y - BAR_Y) + 127) // 255).astype(np.uint8)
    u = np.full((bar // 2, width // 2), 128, dtype=np.uint8)
    v = np.full((bar // 2, width // 2), 128, dtype=np.uint8)
    ay, au, av = accent
    y[:stripe] = int(ay)
    u[: stripe // 2] = int(au)
    v[: stripe // 2] = int(av)
    # The bar ends at 85% of the height: players draw their controls over the last ~15%.
    top = max(0, round(height * BAR_BOTTOM) - bar)
    top -= top % 2
    return Caption(top=top, y=y, u=u, v=v)
