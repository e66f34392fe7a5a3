"""Start images: every accepted input kind, and every refusal names what was wrong."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from odyssey_jupyter.errors import ImageError, ScriptError
from odyssey_jupyter.script.images import sniff, to_data_url
from odyssey_jupyter.script.rules import MAX_IMAGE_BYTES


def decode(url: str) -> Image.Image:
    head, _, payload = url.partition(",")
    assert head.startswith("data:image/") and head.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def png_bytes(size: tuple[int, int] = (320, 200), mode: str = "RGB") -> bytes:
    colour = (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims enormous dimensions (the classic decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("portrait", "size"), [(True, (704, 1280)), (False, (1280, 704))])
def test_file_path_is_cover_fitted_to_the_frame(
    tmp_path: Path, portrait: bool, size: tuple[int, int]
) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (3000, 1000), (200, 30, 30)).save(path, quality=95)
    for given in (path, str(path)):
        url = to_data_url(given, portrait=portrait)
        assert url.startswith("data:image/jpeg;base64,")
        assert decode(url).size == size


def test_bytes_pil_and_arrays_of_every_shape() -> None:
    assert decode(to_data_url(png_bytes(), portrait=False)).size == (1280, 704)
    assert decode(to_data_url(Image.new("RGB", (64, 64)), portrait=True)).size == (704, 1280)
    rgb = np.zeros((90, 160, 3), dtype=np.uint8)
    rgb[:, :, 1] = 255
    image = decode(to_data_url(rgb, portrait=False))
    pixel = image.getpixel((640, 352))
    assert image.mode == "RGB" and isinstance(pixel, tuple) and pixel[1] > 240
    for array in (
        np.full((50, 50, 4), 200, dtype=np.uint8),  # RGBA
        np.full((50, 50), 128, dtype=np.uint8),  # grayscale
        np.full((50, 50, 1), 128, dtype=np.uint8),  # grayscale with a channel axis
    ):
        url = to_data_url(array, portrait=True)
        assert url.startswith("data:image/jpeg;base64,")
        assert decode(url).mode == "RGB"


def test_png_with_alpha_stays_png_and_opaque_png_becomes_jpeg() -> None:
    assert to_data_url(png_bytes(mode="RGBA"), portrait=True).startswith("data:image/png;")
    assert to_data_url(png_bytes(mode="RGB"), portrait=True).startswith("data:image/jpeg;")


def test_existing_data_url_passes_through_unchanged() -> None:
    url = "data:image/png;base64," + base64.b64encode(png_bytes((8, 8))).decode()
    assert to_data_url(url, portrait=True) == url


@pytest.mark.parametrize(
    "bad",
    [
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png;base64,@@@not-base64@@@",
        "data:image/png;base64," + base64.b64encode(b"hello, not an image").decode(),
        "data:image/png,rawdata",
    ],
)
def test_malformed_data_urls_are_refused(bad: str) -> None:
    with pytest.raises(ImageError, match="data URL"):
        to_data_url(bad, portrait=True)


def test_missing_file_and_directory_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cat.png"
    with pytest.raises(ImageError) as info:
        to_data_url(missing, portrait=True, entry=3, script_index=1)
    error = info.value
    assert "cat.png" in str(error) and "no such file" in str(error)
    assert (error.entry, error.script_index, error.field) == (3, 1, "start.image")
    assert isinstance(error, ScriptError) and isinstance(error, ValueError)
    with pytest.raises(ImageError, match="directory"):
        to_data_url(tmp_path, portrait=True)


def test_too_large_file_and_bytes_are_refused_before_decoding(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with open(big, "wb") as handle:
        handle.truncate(MAX_IMAGE_BYTES + 1)
    with pytest.raises(ImageError, match=r"huge\.png.*MB"):
        to_data_url(big, portrait=False)
    with pytest.raises(ImageError, match="MB"):
        to_data_url(b"\x89PNG" + bytes(MAX_IMAGE_BYTES), portrait=False)


def test_undecodable_inputs(tmp_path: Path) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is text, not a picture")
    with pytest.raises(ImageError, match=r"notes\.jpg.*cannot be decoded"):
        to_data_url(fake, portrait=True)
    with pytest.raises(ImageError, match="empty"):
        to_data_url(b"", portrait=True)
    with pytest.raises(ImageError, match="not an image"):
        to_data_url(12345, portrait=True)


def test_decompression_bomb_is_refused_without_decoding() -> None:
    with pytest.raises(ImageError, match="pixels"):
        to_data_url(huge_png_header(100_000, 100_000), portrait=True, entry=0)


def test_bad_arrays_say_how_to_fix_them() -> None:
    with pytest.raises(ImageError, match="uint8"):
        to_data_url(np.zeros((10, 10, 3), dtype=np.float32), portrait=True)
    with pytest.raises(ImageError, match="shape"):
        to_data_url(np.zeros((10, 10, 5), dtype=np.uint8), portrait=True)


def test_sniff_knows_common_formats() -> None:
    assert sniff(png_bytes((4, 4))) == "png"
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="JPEG")
    assert sniff(buffer.getvalue()) == "jpeg"
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="WEBP")
    assert sniff(buffer.getvalue()) == "webp"
    assert sniff(b"plain text") is None
