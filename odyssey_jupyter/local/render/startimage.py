"""Decoding a start image from its data URL, with the size and decompression-bomb guards.

Only a render worker decodes one; a submission is checked by size alone
(``http.submit``), so the server process never loads Pillow.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from PIL import Image, UnidentifiedImageError

from odyssey_jupyter.script.rules import MAX_IMAGE_BYTES

MAX_IMAGE_PIXELS = 40_000_000


class ImageDecodeError(ValueError):
    """The start image cannot be used; the message names the problem."""


def decode_data_url(data_url: str) -> Image.Image:
    """The image of a ``data:image/...;base64,...`` URL, fully loaded, or ImageDecodeError."""
    header, _, payload = data_url.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise ImageDecodeError("the start image is not a base64 data:image/ URL")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageDecodeError(f"the start image's base64 data is corrupt ({exc})") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageDecodeError(f"the start image is {len(raw)} bytes (at most {MAX_IMAGE_BYTES})")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageDecodeError(
            f"the start image has too many pixels (at most {MAX_IMAGE_PIXELS}); "
            "refusing it as a possible decompression bomb"
        ) from None
    except UnidentifiedImageError:
        raise ImageDecodeError(
            "the start image cannot be decoded: not a known image format"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"the start image cannot be decoded: {exc}") from None
    if image.width < 1 or image.height < 1:
        raise ImageDecodeError("the start image is empty")
    return image
