"""Validated scripts -> timeline text, the form a cell or a job page shows them in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odyssey_jupyter.script.rules import DATA_URL_PREFIX, Script, seconds_text


def describe_image(image: Any) -> str:
    """A short text for an image of any accepted kind (never the data itself)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return f"<{len(image) / 1000:.1f} kB of image bytes>"
    if isinstance(image, str) and image.startswith(DATA_URL_PREFIX):
        return f"<data URL, {len(image) / 1000:.1f} kB>"
    if isinstance(image, (str, Path)):
        return image_path_text(str(image))
    size = getattr(image, "size", None)
    shape = getattr(image, "shape", None)
    if shape is not None:
        return f"<array {'x'.join(str(s) for s in shape)}>"
    if isinstance(size, tuple):
        return f"<{type(image).__name__} {size[0]}x{size[1]}>"
    return f"<{type(image).__name__}>"


def format_ms(ms: int) -> str:
    """``1500`` -> ``1.5s``: a timestamp as a timeline line writes it."""
    return f"{seconds_text(ms)}s"


def escape_text(text: str) -> str:
    r"""``text`` as a timeline line reads it back: braces doubled, ``#`` written ``\#``."""
    return text.replace("{", "{{").replace("}", "}}").replace("#", "\\#")


def image_path_text(path: str) -> str:
    """``path`` as the value of a timeline line's ``image=``, read back as the same path.

    ``#`` and braces are escaped as in a prompt; a path with whitespace, or one that
    begins with a quote, is quoted (in ``'`` when it holds a ``"``).
    """
    text = escape_text(path)
    if re.search(r"\s", text) or text[:1] in "\"'":
        mark = "'" if '"' in text else '"'
        return f"{mark}{text}{mark}"
    return text


def format_timeline(scripts: Sequence[Script]) -> str:
    """The timeline text form of validated script(s); ``---`` between batch scripts."""
    blocks: list[str] = []
    for script in scripts:
        rows: list[str] = []
        for entry in script:
            stamp = format_ms(int(entry["timestamp_ms"]))
            if "start" in entry:
                row = f"{stamp} start {escape_text(entry['start']['prompt'])}"
                if "image" in entry["start"]:
                    row += f" image={describe_image(entry['start']['image'])}"
            elif "interact" in entry:
                row = f"{stamp} interact {escape_text(entry['interact']['prompt'])}"
            else:
                row = f"{stamp} end"
            rows.append(row)
        blocks.append("\n".join(rows))
    return "\n---\n".join(blocks)
