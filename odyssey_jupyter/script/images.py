"""Start images for image-to-video: anything image-like becomes a ``data:`` URL.

Accepted: a file path (``str`` or ``Path``), raw bytes, a PIL image, a NumPy
``uint8`` array (RGB, RGBA or grayscale) or an existing ``data:image/...`` URL.
Everything is checked before a request leaves the machine: too large (25 MB),
undecodable, or absurd pixel counts (decompression bombs) give an
:class:`~odyssey_jupyter.errors.ImageError` naming the file or the script entry.
Pictures are cover-fitted to the frame the job renders (1280x704 landscape,
704x1280 portrait) so a large photo does not travel at full size, and re-encoded
as JPEG (quality 90); a PNG with transparency stays PNG.

Pillow is imported lazily: data URLs pass through without it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.errors import ImageError
from odyssey_jupyter.script.rules import MAX_IMAGE_BYTES, MAX_IMAGE_MB

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_PIXELS = 64_000_000
"""Refuse images above this many pixels before decoding them (decompression bombs)."""
LANDSCAPE = (1280, 704)
PORTRAIT = (704, 1280)
JPEG_QUALITY = 90

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


def target_size(portrait: bool) -> tuple[int, int]:
    """(width, height) of the frame a job renders."""
    return PORTRAIT if portrait else LANDSCAPE


def sniff(data: bytes) -> str | None:
    """The image type from its first bytes (``png``, ``jpeg``, ``webp``...), or ``None``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


class _Where:
    """Where an image came from, for error messages."""

    def __init__(self, what: str, entry: int | None, script_index: int | None) -> None:
        self.what = what
        self.entry = entry
        self.script_index = script_index

    def fail(self, problem: str, hint: str) -> ImageError:
        return ImageError(
            f"{self.what}: {problem}",
            hint=hint,
            entry=self.entry,
            script_index=self.script_index,
            field="start.image",
        )


def to_data_url(
    image: Any,
    *,
    portrait: bool,
    entry: int | None = None,
    script_index: int | None = None,
) -> str:
    """``image`` as a ``data:image/<type>;base64,...`` URL fitted to the job's frame.

    ``entry``/``script_index`` only locate errors (the script entry holding the image).
    """
    if isinstance(image, str) and image.startswith("data:"):
        return _check_data_url(image, _Where("the image data URL", entry, script_index))
    if isinstance(image, (str, os.PathLike)):
        path = Path(os.fspath(image)).expanduser()
        where = _Where(f"image file {str(path)!r}", entry, script_index)
        return _encode_bytes(_read_file(path, where), portrait, where)
    if isinstance(image, (bytes, bytearray, memoryview)):
        where = _Where("the image bytes", entry, script_index)
        return _encode_bytes(bytes(image), portrait, where)
    if _is_pil(image):
        where = _Where("the PIL image", entry, script_index)
        return _encode_pil(image, portrait, where, source_format=None)
    if _is_ndarray(image):
        where = _Where("the image array", entry, script_index)
        return _encode_pil(_from_array(image, where), portrait, where, source_format=None)
    where = _Where(f"the image ({type(image).__name__})", entry, script_index)
    raise where.fail(
        "this kind of object is not an image",
        "pass a file path, bytes, a PIL image, a NumPy uint8 array or a data: URL",
    )


# --------------------------------------------------------------------------- inputs


def _read_file(path: Path, where: _Where) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise where.fail(
            "no such file", "check the path (relative paths start at the working directory)"
        ) from None
    except OSError as exc:
        raise where.fail(
            f"cannot be read ({exc.strerror})", "check the path and its permissions"
        ) from None
    if path.is_dir():
        raise where.fail("is a directory", "give the path of an image file")
    if size > MAX_IMAGE_BYTES:
        raise where.fail(
            f"is {size / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
            "use a smaller image",
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise where.fail(
            f"cannot be read ({exc.strerror})", "check the file's permissions"
        ) from None


def _check_data_url(url: str, where: _Where) -> str:
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
        raise where.fail(
            "is not of the form data:image/<type>;base64,<data>",
            "encode the image as base64 with an image MIME type",
        )
    if len(payload) * 3 // 4 > MAX_IMAGE_BYTES:
        raise where.fail(f"holds more than {MAX_IMAGE_MB} MB", "use a smaller image")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise where.fail("has invalid base64 data", "re-encode the image") from None
    if not data or (sniff(data) is None and not _pil_decodes(data)):
        raise where.fail("does not hold a readable image", "re-encode the image")
    return url


# --------------------------------------------------------------------------- encoding


def _pil() -> Any:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        return None
    return Image, ImageOps


def _is_pil(value: Any) -> bool:
    module = type(value).__module__
    if not module.startswith("PIL."):
        return False
    mods = _pil()
    return mods is not None and isinstance(value, mods[0].Image)


def _is_ndarray(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def is_image_data(data: bytes) -> bool:
    """True when ``data`` starts like an image this side can send: a known signature, or
    a header Pillow identifies (nothing is decoded). The cell parser asks this in the
    kernel, so a text file named ``.png`` is refused on its line before a job is shown."""
    if sniff(data) is not None:
        return True
    mods = _pil()
    if mods is None:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mods[0].open(io.BytesIO(data)):
                return True
    except mods[0].DecompressionBombError:
        return True  # an image, too large: the encoder names that
    except Exception:
        return False


def _pil_decodes(data: bytes) -> bool:
    mods = _pil()
    if mods is None:
        return False
    try:
        with mods[0].open(io.BytesIO(data)) as img:
            img.verify()
    except Exception:
        return False
    return True


def _encode_bytes(data: bytes, portrait: bool, where: _Where) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise where.fail(
            f"is {len(data) / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
            "use a smaller image",
        )
    if not data:
        raise where.fail("is empty", "give a non-empty image")
    mods = _pil()
    if mods is None:
        kind = sniff(data)
        if kind is None:
            raise where.fail("is not a recognised image", "use a PNG, JPEG, GIF or WebP file")
        # Without Pillow the picture travels as it is; the server resizes it.
        return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
    image_mod = mods[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image_mod.DecompressionBombWarning)
            img = image_mod.open(io.BytesIO(data))
            _check_pixels(img.size, where)
            img.load()
    except ImageError:
        raise
    except (image_mod.DecompressionBombError, image_mod.DecompressionBombWarning):
        raise where.fail("has too many pixels to be safe", "use a smaller image") from None
    except Exception as exc:
        raise where.fail(
            f"cannot be decoded as an image ({type(exc).__name__})",
            "use a PNG, JPEG, GIF or WebP file",
        ) from None
    return _encode_pil(img, portrait, where, source_format=img.format)


def _check_pixels(size: tuple[int, int], where: _Where) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise where.fail(f"has no pixels ({width}x{height})", "use a real image")
    if width * height > MAX_PIXELS:
        raise where.fail(
            f"is {width}x{height} pixels (at most {MAX_PIXELS // 1_000_000} megapixels)",
            "use a smaller image",
        )


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by a PNG, GIF or JPEG header, read without decoding;
    ``None`` for other formats or a header that cannot be read."""
    kind = sniff(data)
    if kind == "png" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if kind == "gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if kind != "jpeg":
        return None
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + length
    return None


def open_capped(data: bytes, max_pixels: int) -> PILImage | None:
    """A Pillow image of ``data``, opened but not decoded, whose header declares at most
    ``max_pixels``; ``None`` when Pillow is missing, the bytes are no image, or it is larger.

    For images from a server (thumbnails): Pillow reads the size from the header
    without decoding, so a small file declaring a huge canvas (a decompression
    bomb) is refused before a single pixel is allocated.
    """
    mods = _pil()
    if mods is None:
        return None
    image_mod = mods[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image_mod.DecompressionBombWarning)
            img: PILImage = image_mod.open(io.BytesIO(data))
    except Exception:
        return None
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        img.close()
        return None
    return img


def _from_array(array: Any, where: _Where) -> PILImage:
    mods = _pil()
    if mods is None:
        raise where.fail("needs Pillow to be encoded", "pip install pillow")
    if str(array.dtype) != "uint8":
        raise where.fail(
            f"has dtype {array.dtype}, not uint8",
            "convert it, e.g. (arr * 255).clip(0, 255).astype('uint8') for floats in 0..1",
        )
    shape = tuple(int(n) for n in array.shape)
    if len(shape) == 3 and shape[2] == 1:
        array = array[:, :, 0]
        shape = shape[:2]
    if len(shape) == 2:
        mode = "L"
    elif len(shape) == 3 and shape[2] in (3, 4):
        mode = "RGB" if shape[2] == 3 else "RGBA"
    else:
        raise where.fail(f"has shape {shape}", "use HxWx3 (RGB), HxWx4 (RGBA) or HxW (grayscale)")
    _check_pixels((shape[1], shape[0]), where)
    img: PILImage = mods[0].fromarray(array.copy(order="C"), mode=mode)
    return img


def _encode_pil(img: PILImage, portrait: bool, where: _Where, source_format: str | None) -> str:
    mods = _pil()
    if mods is None:  # pragma: no cover - a PIL image implies Pillow
        raise where.fail("needs Pillow to be encoded", "pip install pillow")
    image_mod, image_ops = mods
    _check_pixels(img.size, where)
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the picture
        img = image_ops.exif_transpose(img) or img
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    keep_png = source_format == "PNG" and has_alpha
    img = img.convert("RGBA" if keep_png else "RGB")
    fitted = image_ops.fit(img, target_size(portrait), method=image_mod.Resampling.LANCZOS)
    out = io.BytesIO()
    if keep_png:
        fitted.save(out, format="PNG", optimize=True)
        mime = "png"
    else:
        fitted.save(out, format="JPEG", quality=JPEG_QUALITY)
        mime = "jpeg"
    return f"data:image/{mime};base64,{base64.b64encode(out.getvalue()).decode('ascii')}"
