"""The ``Range`` check of downloads: RFC 9110's grammar, and Starlette serves what it passes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from odyssey_jupyter.local.http.ranges import MalformedRange, UnsatisfiableRange, byte_ranges

SIZE = 100


@pytest.mark.parametrize(
    ("header", "ranges"),
    [
        ("bytes=0-9", [(0, 10)]),
        ("bytes=90-", [(90, 100)]),
        ("bytes=-30", [(70, 100)]),
        ("bytes=-500", [(0, 100)]),
        ("bytes=95-500", [(95, 100)]),
        ("BYTES = 1-1", [(1, 2)]),
        ("bytes=0-1, 5-9,,", [(0, 2), (5, 10)]),
    ],
)
def test_a_range_names_half_open_spans_of_the_file(header: str, ranges: list[object]) -> None:
    assert byte_ranges(header, SIZE) == ranges


@pytest.mark.parametrize(
    "header",
    [
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes= , ",
        "bytes=abc",
        "bytes=5-2",
        "bytes=+5-",
        "bytes=1_0-20",
        "bytes=٣-5",
        "bytes=0-5,abc",
        "bytes=1-2-3",
        "items=0-10",
        "=0-10",
        "bytes=" + "9" * 5000 + "-",
        "bytes=0-" + "9" * 5000,
    ],
)
def test_an_odd_range_is_malformed(header: str) -> None:
    with pytest.raises(MalformedRange):
        byte_ranges(header, SIZE)


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=0-1,100-200", "bytes=500-1"])
def test_a_range_from_beyond_the_end_cannot_be_satisfied(header: str) -> None:
    with pytest.raises(UnsatisfiableRange) as caught:
        byte_ranges(header, SIZE)
    assert caught.value.size == SIZE


def test_any_range_of_an_empty_file_cannot_be_satisfied() -> None:
    with pytest.raises(UnsatisfiableRange):
        byte_ranges("bytes=0-", 0)


def test_more_parts_than_starlette_reads_are_ignored_whole() -> None:
    header = "bytes=" + ",".join(["0-0"] * (FileResponse.max_ranges + 1))
    assert byte_ranges(header, SIZE) == []


@pytest.mark.parametrize(
    "header",
    ["bytes=0-9", "bytes=90-", "bytes=-30", "bytes=95-500", "BYTES = 1-1", "bytes=0-1, 5-9,,"],
)
def test_starlette_serves_the_bytes_a_passed_range_names(tmp_path: Path, header: str) -> None:
    data = bytes(range(SIZE))
    video = tmp_path / "video.mp4"
    video.write_bytes(data)

    async def serve(request: Request) -> FileResponse:
        return FileResponse(video)

    async def fetch() -> httpx.Response:
        app = Starlette(routes=[Route("/v", serve)])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            return await client.get("/v", headers={"Range": header})

    answer = asyncio.run(fetch())
    ranges = byte_ranges(header, SIZE)
    assert answer.status_code == 206
    if len(ranges) == 1:
        ((start, end),) = ranges
        assert answer.content == data[start:end]
        assert answer.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    else:
        for start, end in ranges:
            assert f"Content-Range: bytes {start}-{end - 1}/{SIZE}".encode() in answer.content


def test_a_range_on_an_artifact_removed_meanwhile_is_not_found(tmp_path: Path) -> None:
    from odyssey_jupyter.local.http.inputs import HTTPProblem, check_range

    with pytest.raises(HTTPProblem) as caught:
        check_range("bytes=0-9", tmp_path / "gone.mp4")  # the header is fine; the file is not
    assert caught.value.status == 404
    assert "malformed" not in str(caught.value)
