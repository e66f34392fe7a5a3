"""Bad start images are refused on this side, with a message naming the file, before upload.

Each case is checked three ways: the image encoder alone, the async client against
a real engine (the engine must not receive a job), and the sync ``simulate()``
handle a notebook gets. The cell parser's own early check is covered for the
cases it can see without decoding (missing, empty, oversized).
"""

from __future__ import annotations

import asyncio
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from odyssey_jupyter.errors import ImageError, ScriptError

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

MB = 1024 * 1024


# --------------------------------------------------------------------------- the cases


def _png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def truncated_png(d: Path) -> Path:
    path = d / "truncated.png"
    data = _png((256, 256))
    path.write_bytes(data[: len(data) // 2])
    return path


def truncated_jpeg(d: Path) -> Path:
    # noise compresses badly, so half the file really misses image data
    noise = Image.frombytes("RGB", (128, 128), os.urandom(128 * 128 * 3))
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=95)
    path = d / "truncated.jpg"
    path.write_bytes(out.getvalue()[: out.tell() // 3])
    return path


def text_named_png(d: Path) -> Path:
    path = d / "notes.png"
    path.write_text("these are my notes, not a picture\n" * 20)
    return path


def pdf_named_jpg(d: Path) -> Path:
    path = d / "scan.jpg"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 10)
    return path


def empty_file(d: Path) -> Path:
    path = d / "empty.png"
    path.write_bytes(b"")
    return path


def bomb_png(d: Path) -> Path:
    """A 20000x20000 one-bit PNG: ~50 kB on disk, 400 megapixels once decoded."""
    path = d / "bomb.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Image.new("1", (20_000, 20_000)).save(path, format="PNG", optimize=True)
    return path


def huge_file(d: Path) -> Path:
    """26 MB: over the 25 MB limit (a valid PNG header followed by filler)."""
    path = d / "huge.png"
    with path.open("wb") as out:
        out.write(_png())
        out.write(b"\0" * (26 * MB))
    return path


def missing_file(d: Path) -> Path:
    return d / "not-there.png"


def directory(d: Path) -> Path:
    path = d / "folder.png"
    path.mkdir()
    return path


BAD: dict[str, Callable[[Path], Path]] = {
    "truncated png": truncated_png,
    "truncated jpeg": truncated_jpeg,
    "text with a .png name": text_named_png,
    "pdf with a .jpg name": pdf_named_jpg,
    "0-byte file": empty_file,
    "decompression bomb": bomb_png,
    "26 MB file": huge_file,
    "missing file": missing_file,
    "directory": directory,
}
EARLY = ("26 MB file", "missing file", "directory")
"""Cases the cell parser refuses without reading the file (the rest fail at submission)."""


def script_with(image: Any) -> list[dict[str, Any]]:
    return [
        {"timestamp_ms": 0, "start": {"prompt": "a red kite over a beach", "image": image}},
        {"timestamp_ms": 1000, "end": {}},
    ]


@pytest.fixture(params=sorted(BAD), ids=lambda name: name.replace(" ", "-"))
def bad_image(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    name: str = request.param
    return name, BAD[name](tmp_path)


def _assert_names_file(error: BaseException, path: Path) -> None:
    text = str(error)
    assert isinstance(error, ImageError), f"{type(error).__name__}: {text}"
    assert path.name in text, f"the message does not name the file: {text}"
    assert error.field == "start.image"
    assert len(text) < 600, "the message should be short"


# --------------------------------------------------------------------------- encoder


def test_the_encoder_refuses_each_bad_image_naming_the_file(bad_image: tuple[str, Path]) -> None:
    from odyssey_jupyter.script.images import to_data_url

    _, path = bad_image
    for form in (path, str(path)):
        with pytest.raises(ImageError) as caught:
            to_data_url(form, portrait=True, entry=0)
        _assert_names_file(caught.value, path)
        assert caught.value.entry == 0


def test_wrong_extension_on_a_real_image_is_read_by_content(tmp_path: Path) -> None:
    """A PNG named .jpg (or .txt) is still a picture: content decides, not the name."""
    from odyssey_jupyter.script.images import to_data_url

    for name, data in (("photo.jpg", _png()), ("photo.txt", _jpeg()), ("noext", _png())):
        path = tmp_path / name
        path.write_bytes(data)
        assert to_data_url(path, portrait=False).startswith("data:image/")


def test_bad_bytes_and_arrays_are_refused() -> None:
    from odyssey_jupyter.script.images import to_data_url

    np = pytest.importorskip("numpy")
    cases: list[Any] = [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 10,
        b"x" * (26 * MB),
        np.zeros((10, 10), dtype=np.float64),
        np.zeros((10, 10, 7), dtype=np.uint8),
        np.zeros((0, 10, 3), dtype=np.uint8),
        "data:image/png;base64,not base64!!",
        "data:text/plain;base64,aGVsbG8=",
        object(),
    ]
    for value in cases:
        with pytest.raises(ImageError) as caught:
            to_data_url(value, portrait=True)
        assert str(caught.value).strip()


# --------------------------------------------------------------------------- cell parser


@pytest.mark.parametrize("name", EARLY)
def test_the_cell_parser_refuses_what_it_can_see_without_reading(name: str, tmp_path: Path) -> None:
    script_text = pytest.importorskip("odyssey_jupyter.script.cell_parser")
    path = BAD[name](tmp_path)
    cell = f'0s start a kite image="{path}"\n1s end\n'
    with pytest.raises(ScriptError) as caught:
        script_text.parse_cell(cell, {})
    assert path.name in str(caught.value), str(caught.value)
    assert caught.value.line == 1


# --------------------------------------------------------------------------- against the engine


def _job_total(url: str, api_key: str) -> int:
    """How many jobs the engine holds, asked directly (not through the code under test)."""
    with httpx.Client(base_url=url, timeout=10) as http:
        token = http.post("/auth/token", json={"api_key": api_key}).json()["access_token"]
        listing = http.get(
            "/simulation-jobs", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        listing.raise_for_status()
        return int(listing.json()["total"])


def test_the_client_refuses_before_upload(engine: Any, bad_image: tuple[str, Path]) -> None:
    client_module = pytest.importorskip("odyssey_jupyter.client.odyssey")
    _, path = bad_image
    before = _job_total(engine.url, engine.api_key)

    async def submit() -> None:
        async with client_module.Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            await client.simulate(script_with(path))

    with pytest.raises(ImageError) as caught:
        asyncio.run(submit())
    _assert_names_file(caught.value, path)
    assert caught.value.entry == 0
    assert _job_total(engine.url, engine.api_key) == before, "the engine received a job"


def test_the_sync_handle_reports_the_image_error(
    engine_env: Any, bad_image: tuple[str, Path]
) -> None:
    jobs = pytest.importorskip("odyssey_jupyter.session.jobs")
    runtime = pytest.importorskip("odyssey_jupyter.session.runtime")
    _, path = bad_image
    before = _job_total(engine_env.url, engine_env.api_key)
    runtime.get_runtime().configure(api_key=engine_env.api_key, api_url=engine_env.url)
    try:
        job = jobs.simulate(script_with(path))
        with pytest.raises(ImageError) as caught:
            job.wait(timeout=30)
        _assert_names_file(caught.value, path)
        assert job.phase == "error" and job.job_id is None
        assert job.error is caught.value
    finally:
        runtime.shutdown_runtime()
    assert _job_total(engine_env.url, engine_env.api_key) == before, "the engine received a job"


def test_a_good_image_still_goes_through(engine: Any, tmp_path: Path) -> None:
    """The control case: the same path with a real picture is accepted by the engine."""
    client_module = pytest.importorskip("odyssey_jupyter.client.odyssey")
    path = tmp_path / "good.png"
    path.write_bytes(_png((320, 200)))
    before = _job_total(engine.url, engine.api_key)

    async def submit() -> str:
        async with client_module.Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            detail = await client.simulate(script_with(path))
            return str(detail.job_id)

    assert asyncio.run(submit())
    assert _job_total(engine.url, engine.api_key) == before + 1
