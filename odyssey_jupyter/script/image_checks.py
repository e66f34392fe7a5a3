"""The start images of a parsed cell, checked before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import ImageError
from odyssey_jupyter.script.cell import CellScripts, located_error
from odyssey_jupyter.script.images import is_image_data
from odyssey_jupyter.script.rules import DATA_URL_PREFIX, MAX_IMAGE_BYTES, MAX_IMAGE_MB

IMAGE_HEAD_BYTES = 64 * 1024
"""How much of an image file the cell parser reads to tell whether it is an image."""


def check_images(parsed: CellScripts) -> None:
    """Refuse missing, unreadable, oversized or non-image start images before sending."""
    for si, script in enumerate(parsed.scripts):
        for ei, entry in enumerate(script):
            if "start" not in entry or "image" not in entry["start"]:
                continue
            line = parsed.line_of(si, ei)
            problem = _image_problem(entry["start"]["image"])
            if problem is not None:
                what, hint = problem
                raise located_error(
                    what,
                    hint,
                    parsed=parsed,
                    line=line,
                    script_index=si,
                    entry=ei,
                    field="start.image",
                    cls=ImageError,
                )


_IMAGE_KINDS = "use a PNG, JPEG, GIF or WebP file"


def _file_content_problem(path: Path, image: Any) -> tuple[str, str] | None:
    """An image file that is empty, unreadable or not an image, told from its first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(IMAGE_HEAD_BYTES)
            if head and not is_image_data(head):
                head += handle.read()  # some formats keep their header further in
    except OSError as exc:
        return f"image file {image} cannot be read ({exc.strerror})", "check its permissions"
    if not head:
        return f"image file {image} is empty", "read the file again; it holds no data"
    if not is_image_data(head):
        return f"image file {image} is not a recognised image", _IMAGE_KINDS
    return None


def _image_problem(image: Any) -> tuple[str, str] | None:
    if isinstance(image, (bytes, bytearray, memoryview)):
        if len(image) == 0:
            return "the image bytes are empty", "read the file again; it holds no data"
        if len(image) > MAX_IMAGE_BYTES:
            return (
                f"the image is {len(image) / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
                "use a smaller image",
            )
        if not is_image_data(bytes(image)):
            return "the image bytes are not a recognised image", _IMAGE_KINDS
        return None
    if isinstance(image, str) and image.startswith(DATA_URL_PREFIX):
        return None
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if not path.is_file():
            return (
                f"image file not found: {image}",
                f"check the path; relative paths start at {Path.cwd()}",
            )
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return (
                f"the image file is {size / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
                "use a smaller image",
            )
        return _file_content_problem(path, image)
    module = type(image).__module__.split(".")[0]
    if module in {"PIL", "numpy"}:
        return None
    if "numpy" in sys.modules and hasattr(image, "__array_interface__"):
        return None
    return (
        f"the image is a {type(image).__name__}, not a path, bytes, a PIL image or an array",
        "pass a file path, the file's bytes, a PIL image or a NumPy RGB array",
    )
