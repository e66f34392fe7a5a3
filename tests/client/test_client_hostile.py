"""The client against a hostile or broken server, over real HTTP on 127.0.0.1.

Each test attacks one promise of the client: credentials go only to the origin
they belong to (no redirect on the token exchange, none across origins for API
calls, artifacts fetched with no credential at all), every call ends by its
deadline however slowly the server trickles, bodies are read under a size cap
(declared, undeclared, lied about or compressed), server images are decoded
under a pixel cap, and values of the wrong type or out of range raise an
``InvalidResponseError`` naming the field.
"""

from __future__ import annotations

import asyncio
import struct
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.scripted_server import TOKEN, Answer, ScriptedServer, padded_json, zeros

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import (
    InvalidRequestError,
    InvalidResponseError,
    OdysseyConnectionError,
    OdysseyError,
    OdysseyTimeoutError,
    RedirectRefusedError,
    ResponseTooLargeError,
    ServerError,
)
from odyssey_jupyter.session.config import OdysseyJupyter, get_config, set_config
from odyssey_jupyter.session.watcher import Watcher
from odyssey_jupyter.text.redaction import scrub

T = TypeVar("T")
KEY = "ody_hostile_test_key_0123456789"
MB = 1024 * 1024
DETAIL = {"job_id": "j1", "status": "completed", "streams": []}


def run(api: ScriptedServer, body: Callable[[Odyssey], Awaitable[T]], **kw: Any) -> T:
    kw.setdefault("max_retries", 1)
    kw.setdefault("retry_backoff", 0.02)
    kw.setdefault("retry_backoff_max", 0.05)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("retry_deadline", 5.0)

    async def main() -> T:
        async with Odyssey(KEY, api.url, **kw) as client:
            return await body(client)

    return asyncio.run(main())


@pytest.fixture
def recs_config(sandbox: Path) -> Path:
    return sandbox / "recs"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_token_exchange_never_follows_a_redirect(
    api: ScriptedServer, elsewhere: ScriptedServer, status: int
) -> None:
    api.route("POST", "/auth/token", Answer.redirect(elsewhere.url + "/auth/token", status))
    with pytest.raises(RedirectRefusedError) as caught:
        run(api, lambda c: c.list_simulations())
    error = caught.value
    assert (error.from_origin, error.to_origin) == (api.url, elsewhere.url)
    assert api.url in str(error) and elsewhere.url in str(error)
    assert error.status_code == status and isinstance(error, OdysseyError)
    assert elsewhere.seen == []  # the key never left for the other host
    assert len(api.requests("/auth/token")) == 1  # refused at once, not retried


def test_the_token_exchange_refuses_even_a_same_origin_redirect(api: ScriptedServer) -> None:
    api.route("POST", "/auth/token", Answer.redirect("/auth/token/again", 308))
    with pytest.raises(RedirectRefusedError):
        run(api, lambda c: c.list_simulations())
    assert api.requests("/auth/token/again") == []


def test_api_calls_refuse_a_redirect_to_another_origin(
    api: ScriptedServer, elsewhere: ScriptedServer
) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.redirect(elsewhere.url + "/steal", 302))
    with pytest.raises(RedirectRefusedError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"))
    assert api.url in str(caught.value) and elsewhere.url in str(caught.value)
    assert elsewhere.seen == []  # neither the token nor the request went there


def test_api_calls_follow_a_redirect_within_their_origin(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.redirect("/v2/simulation-jobs/j1", 307))
    api.route("GET", "/v2/simulation-jobs/j1", Answer.json(DETAIL))
    detail = run(api, lambda c: c.get_simulate_status("j1"))
    assert detail.job_id == "j1"
    [moved] = api.requests("/v2/")
    assert moved.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_same_origin_redirect_loop_ends(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.redirect("/simulation-jobs/j1", 307))
    with pytest.raises(RedirectRefusedError, match="more than 5 redirects"):
        run(api, lambda c: c.get_simulate_status("j1"))


def test_artifacts_follow_redirects_anywhere_and_carry_no_credential(
    api: ScriptedServer, elsewhere: ScriptedServer, tmp_path: Path
) -> None:
    recording = {"stream_id": "s1", "video_url": "/artifacts/s1/video.mp4"}
    api.route("GET", "/recordings/s1", Answer.json(recording))
    api.route("GET", "/artifacts/s1/video.mp4", Answer.redirect(elsewhere.url + "/cdn/v", 302))
    elsewhere.route("GET", "/cdn/v", Answer(body=b"\0\0\0\x18ftypisom" + b"v" * 1000))
    paths = run(api, lambda c: c.download("s1", tmp_path, kinds=("video",)))
    assert paths["video"].read_bytes().startswith(b"\0\0\0\x18ftyp")
    [api_call] = api.requests("/recordings/")
    assert api_call.headers["authorization"] == f"Bearer {TOKEN}"
    artifact_requests = api.requests("/artifacts/") + elsewhere.requests("/cdn/")
    assert len(artifact_requests) == 2
    for request in artifact_requests:
        assert "authorization" not in request.headers and "cookie" not in request.headers
        assert KEY not in str(request) and TOKEN not in str(request)


def test_an_artifact_redirect_loop_ends_without_reading_redirect_bodies(
    api: ScriptedServer, tmp_path: Path
) -> None:
    api.route("GET", "/recordings/s1", Answer.json({"stream_id": "s1", "video_url": "/a/v"}))
    # a redirect whose body never ends: it must be dropped unread, not buffered
    api.route(
        "GET",
        "/a/v",
        Answer(status=302, headers=[("Location", "/a/v")], body=zeros(1 << 40), length=None),
    )
    with pytest.raises(RedirectRefusedError, match="more than 10 redirects"):
        run(api, lambda c: c.download("s1", tmp_path, kinds=("video",)))
    assert len(api.requests("/a/v")) == 11 and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- scrubbing


SECRET = "olt_Secret/Token+Value_0123456789"


@pytest.mark.parametrize(
    ("shown", "left"),
    [
        (SECRET, ""),
        (SECRET.upper(), ""),
        (SECRET.lower(), ""),
        ("olt_Secret%2FToken%2BValue_0123456789", ""),  # URL-encoded
        ("olt_Secret%2fToken%2bValue", ""),  # URL-encoded, lower-case hex, cut short
        ("olt_Secret/To", ""),  # cut short
        ("OLT_SECRET/T…", "…"),  # cut short, upper-cased, with an ellipsis after it
    ],
)
def test_scrubbing_catches_a_secret_however_it_is_echoed(shown: str, left: str) -> None:
    text = scrub(f"the server said: bad token {shown} (try again)", [SECRET])
    assert text == f"the server said: bad token ***{left} (try again)"


def test_scrubbing_leaves_short_lookalikes_and_other_text_alone() -> None:
    assert scrub("olt_Sec is a prefix of 7", [SECRET]) == "olt_Sec is a prefix of 7"
    assert scrub("nothing here", [SECRET, None, ""]) == "nothing here"


def test_an_echoed_token_in_any_form_never_reaches_the_error(api: ScriptedServer) -> None:
    from urllib.parse import quote

    def echo(request: Any) -> Answer:
        token = request.headers["authorization"].removeprefix("Bearer ")
        forms = [quote(token, safe=""), token.upper(), token[:12], KEY.upper(), quote(KEY)]
        return Answer.json({"detail": "refused: " + " | ".join(forms)}, status=400)

    api.route("GET", "/simulation-jobs/j1", echo)
    with pytest.raises(InvalidRequestError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"))
    message = str(caught.value) + repr(caught.value.detail)
    assert "refused:" in message
    for secret in (TOKEN, KEY):
        assert secret[:8].lower() not in message.lower()


def test_a_token_smuggled_into_a_bad_value_is_scrubbed_from_its_error(api: ScriptedServer) -> None:
    def smuggle(request: Any) -> Answer:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return Answer.json({"job_id": f"../{token}", "status": "completed"})

    api.route("GET", "/simulation-jobs/j1", smuggle)
    with pytest.raises(InvalidResponseError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"))
    assert caught.value.field == "job_id" and "***" in str(caught.value)
    assert TOKEN[:8] not in str(caught.value)


# --------------------------------------------------------------------------- deadlines


@pytest.mark.timeout(120)
def test_a_trickling_server_cannot_hold_a_status_call(api: ScriptedServer) -> None:
    body = b'{"job_id": "j1", "status": "completed", "pad": "' + b"x" * 300 + b'"}'
    api.route("GET", "/simulation-jobs/j1", Answer.json(body, trickle=0.25))
    # Each byte arrives well inside the 2 s read timeout; only the overall deadline ends it.
    with pytest.raises(OdysseyTimeoutError, match="overall deadline"):
        run(api, lambda c: c.get_simulate_status("j1"), timeout=2.0, retry_deadline=3.0)
    assert api.sent_bytes < len(body)  # the call ended long before the body did


@pytest.mark.timeout(120)
def test_a_trickling_token_exchange_counts_against_the_calls_deadline(api: ScriptedServer) -> None:
    grant = b'{"access_token": "' + TOKEN.encode() + b'", "expires_in": 3600}'
    api.route("POST", "/auth/token", Answer.json(grant, trickle=0.1))  # about 6 s in all
    api.route("GET", "/simulation-jobs/j1", Answer.json(DETAIL, trickle=0.1))  # about 6 s more
    with pytest.raises(OdysseyTimeoutError):
        run(api, lambda c: c.get_simulate_status("j1"), timeout=2.0, retry_deadline=8.0)
    # the exchange finished within the budget, and the call's rest of it ran out
    assert len(api.requests("/auth/token")) == 1


@pytest.mark.timeout(120)
def test_a_trickling_artifact_host_cannot_hold_a_download(
    api: ScriptedServer, tmp_path: Path
) -> None:
    api.route("GET", "/recordings/s1", Answer.json({"stream_id": "s1", "video_url": "/a/v"}))
    api.route("GET", "/a/v", Answer(body=b"v" * 400, trickle=0.25))
    with pytest.raises(OdysseyConnectionError, match="could not download the video"):
        run(
            api,
            lambda c: c.download("s1", tmp_path, kinds=("video",)),
            timeout=2.0,
            retry_deadline=3.0,
            download_timeout=2.0,
        )
    assert leftovers(tmp_path) == []  # no video, no temporary file


# --------------------------------------------------------------------------- size caps


def peak_while(work: Callable[[], object]) -> int:
    """Peak Python allocation (bytes) while ``work`` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MB of JSON-ish padding, gzip-compressed to well under 1 MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"job_id": "j1", "pad": "')]
    block = b"x" * MB
    parts += [packer.compress(block) for _ in range(256)]
    parts.append(packer.compress(b'"}') + packer.flush())
    return b"".join(parts)


def status_refused_as_too_large(api: ScriptedServer) -> tuple[list[ResponseTooLargeError], int]:
    """Ask for job j1's status: the ResponseTooLargeError it raised, and the memory peak."""
    caught: list[ResponseTooLargeError] = []

    def attack() -> None:
        try:
            run(api, lambda c: c.get_simulate_status("j1"))
        except ResponseTooLargeError as exc:
            caught.append(exc)

    return caught, peak_while(attack)


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_a_huge_json_answer_is_refused_without_filling_memory(
    api: ScriptedServer, declared: bool
) -> None:
    size = 64 * MB
    pad = padded_json({"job_id": "j1", "status": "completed"}, size)
    length = sum(len(c) for c in pad()) if declared else None
    api.route("GET", "/simulation-jobs/j1", Answer(body=pad, length=length))
    caught, peak = status_refused_as_too_large(api)
    [error] = caught
    assert "max_json_mb" in str(error) and error.limit == 16 * MB
    assert peak < 3 * 16 * MB  # today: +900 MB for a 300 MB answer


def test_a_compressed_json_bomb_is_refused(api: ScriptedServer, gzip_bomb: bytes) -> None:
    api.route(
        "GET",
        "/simulation-jobs/j1",
        Answer.json(gzip_bomb, headers=[("Content-Encoding", "gzip")]),
    )
    caught, peak = status_refused_as_too_large(api)
    assert len(caught) == 1 and peak < 3 * 16 * MB


def test_a_small_json_cap_is_a_setting(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer(body=padded_json(DETAIL, 200_000)))
    previous = get_config()
    set_config(OdysseyJupyter(max_json_mb=0.1))
    try:
        with pytest.raises(ResponseTooLargeError, match="max_json_mb"):
            run(api, lambda c: c.get_simulate_status("j1"))
    finally:
        set_config(previous)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(body=zeros(4 * MB)),  # undeclared, larger than the cap
        Answer(body=bytes(4 * MB)),  # declared larger than the cap
        # declares 2 bytes, sends a chunked body far longer than that
        Answer(
            body=b"400\r\n" + b"v" * 1024 + b"\r\n0\r\n\r\n",
            headers=[("Transfer-Encoding", "chunked")],
            length=2,
        ),
    ],
    ids=["undeclared", "declared", "longer-than-declared"],
)
def test_an_oversized_or_lying_artifact_stops_and_leaves_no_file(
    api: ScriptedServer, tmp_path: Path, answer: Answer
) -> None:
    api.route("GET", "/recordings/s1", Answer.json({"stream_id": "s1", "video_url": "/a/v"}))
    api.route("GET", "/a/v", answer)
    with pytest.raises(ResponseTooLargeError):
        run(
            api,
            lambda c: c.download("s1", tmp_path, kinds=("video",)),
            max_artifact_bytes=1 * MB,
        )
    assert leftovers(tmp_path) == []
    assert len(api.requests("/a/v")) == 1  # not retried: it would only happen again


def test_kinds_read_whole_and_error_bodies_have_the_json_cap(
    api: ScriptedServer, tmp_path: Path
) -> None:
    recording = {"stream_id": "s1", "video_url": "/a/v", "events_url": "/a/e"}
    api.route("GET", "/recordings/s1", Answer.json(recording))
    api.route("GET", "/a/e", Answer(body=zeros(2 * MB)))  # an events log the kernel reads whole
    api.route("GET", "/a/v", Answer(status=451, body=zeros(64 * MB), length=None))
    previous = get_config()
    set_config(OdysseyJupyter(max_json_mb=1.0))
    try:
        with pytest.raises(ResponseTooLargeError, match=r"events.*max_json_mb"):
            run(api, lambda c: c.download("s1", tmp_path, kinds=("events",)))
        with pytest.raises(ResponseTooLargeError, match=r"451 answer.*max_json_mb"):
            run(api, lambda c: c.download("s1", tmp_path, kinds=("video",)))
    finally:
        set_config(previous)
    assert leftovers(tmp_path) == []


def test_a_deeply_nested_answer_is_a_server_error_not_a_crash(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.json(b"[" * 200_000))
    with pytest.raises(ServerError, match="without JSON"):
        run(api, lambda c: c.get_simulate_status("j1"), max_retries=0)


# --------------------------------------------------------------------------- pixel caps


def png_bomb(width: int, height: int) -> bytes:
    """A valid grayscale PNG of ``width`` x ``height`` zeros: tiny on disk, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_thumbnail_is_never_decoded(
    api: ScriptedServer, recs_config: Path
) -> None:
    pytest.importorskip("PIL")
    from odyssey_jupyter.display.browser.fetch import fetch_thumbnail
    from odyssey_jupyter.protocol.types import SimulationJobDetail

    bomb = png_bomb(12_000, 12_000)  # 144 megapixels in about 140 KB
    assert len(bomb) < 400_000
    stream = {"stream_id": "s1", "thumbnail_url": "/a/thumb"}
    api.route("GET", "/recordings/s1", Answer.json(stream))
    api.route("GET", "/a/thumb", Answer(body=bomb))
    detail = SimulationJobDetail.from_json(
        {"job_id": "j1", "status": "completed", "streams": [stream]}
    )
    thumb = run(api, lambda c: fetch_thumbnail(c, detail))
    assert thumb is None  # no thumbnail rather than 144 MP (432 MB as RGB) in the kernel
    assert (recs_config / "j1" / "s1" / "thumbnail.jpg").is_file()  # downloaded, not decoded


def test_a_normal_thumbnail_still_shrinks() -> None:
    pytest.importorskip("PIL")
    import io

    from PIL import Image

    from odyssey_jupyter.display.browser.cache import THUMB_PX, shrink_thumbnail

    out = io.BytesIO()
    Image.new("RGB", (704, 1280), (10, 200, 30)).save(out, format="JPEG")
    shrunk = shrink_thumbnail(out.getvalue())
    assert shrunk is not None
    with Image.open(io.BytesIO(shrunk[0])) as small:
        assert small.size == (THUMB_PX, THUMB_PX)
    assert shrink_thumbnail(b"not an image") is None


def test_image_headers_are_read_without_decoding() -> None:
    pytest.importorskip("PIL")
    import io

    from PIL import Image

    from odyssey_jupyter.script.images import header_size

    assert header_size(png_bomb(12_000, 12_000)) == (12_000, 12_000)
    for fmt in ("PNG", "GIF", "JPEG"):
        out = io.BytesIO()
        Image.new("RGB", (321, 123), (1, 2, 3)).save(out, format=fmt)
        assert header_size(out.getvalue()) == (321, 123), fmt
    assert header_size(b"not an image") is None
    assert header_size(b"\xff\xd8\xff\xe0\x00") is None  # a JPEG cut short


def test_without_pillow_a_bomb_is_not_passed_to_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from odyssey_jupyter.display.browser.cache import shrink_thumbnail

    small = png_bomb(64, 48)
    monkeypatch.setitem(sys.modules, "PIL", None)  # ``from PIL import ...`` now fails
    assert shrink_thumbnail(png_bomb(12_000, 12_000)) is None
    assert shrink_thumbnail(small) == (small, "jpeg")  # within the cap: shown as it came


# --------------------------------------------------------------------------- values


def detail_with(**fields: str) -> bytes:
    """A job detail as raw JSON text, so NaN, Infinity and huge literals go on the wire."""
    stream = fields.pop("stream", '{"stream_id": "s1"}')
    base = {"job_id": '"j1"', "status": '"completed"', "streams": f"[{stream}]", **fields}
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}").encode()


BAD_VALUES = [
    (
        detail_with(stream='{"stream_id": "s1", "duration_seconds": NaN}'),
        "streams[0].duration_seconds",
    ),
    (
        detail_with(stream='{"stream_id": "s1", "duration_seconds": Infinity}'),
        "streams[0].duration_seconds",
    ),
    (
        detail_with(stream='{"stream_id": "s1", "duration_seconds": 1e400}'),
        "streams[0].duration_seconds",
    ),
    (
        detail_with(stream='{"stream_id": "s1", "duration_seconds": -1}'),
        "streams[0].duration_seconds",
    ),
    (
        detail_with(stream='{"stream_id": "s1", "frame_count": 1000000000000000000000000000000}'),
        "streams[0].frame_count",
    ),
    (detail_with(stream='{"stream_id": "s1", "frame_count": 2.5}'), "streams[0].frame_count"),
    (detail_with(stream='{"stream_id": "s1", "script_index": "0"}'), "streams[0].script_index"),
    (detail_with(stream='{"stream_id": ".."}'), "streams[0].stream_id"),
    (detail_with(stream='{"stream_id": "../../../etc"}'), "streams[0].stream_id"),
    (detail_with(stream='{"stream_id": "a\\\\b"}'), "streams[0].stream_id"),
    (detail_with(stream='{"stream_id": 7}'), "streams[0].stream_id"),
    (
        detail_with(stream='{"stream_id": "s1", "video_url": "file:///etc/passwd"}'),
        "streams[0].video_url",
    ),
    (detail_with(stream='"just a string"'), "streams[0]."),
    (detail_with(job_id='".."'), "job_id"),
    (detail_with(job_id='"a/b"'), "job_id"),
    (detail_with(job_id="12345"), "job_id"),
    (detail_with(job_id="null"), "job_id"),
    (detail_with(job_id='"bad\\u0000id"'), "job_id"),
    (detail_with(status='{"s": 1}'), "status"),
    (detail_with(streams='"many"'), "streams"),
    (detail_with(progress="NaN"), "progress"),
    (detail_with(retry_count="true"), "retry_count"),
    (detail_with(estimated_wait_minutes="-Infinity"), "estimated_wait_minutes"),
    (detail_with(error_message='{"html": "<b>"}'), "error_message"),
    (b'["not", "an", "object"]', "the answer"),
]


@pytest.mark.parametrize(("body", "field"), BAD_VALUES, ids=[f for _, f in BAD_VALUES])
def test_a_bad_value_names_its_field(api: ScriptedServer, body: bytes, field: str) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.json(body))
    with pytest.raises(InvalidResponseError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"))
    error = caught.value
    assert field in str(error)
    if not field.endswith("."):
        assert error.field in (field, None if field == "the answer" else field)
    assert len(api.requests("/simulation-jobs/j1")) == 1  # not retried


def test_a_good_detail_still_parses(api: ScriptedServer) -> None:
    body = detail_with(
        stream='{"stream_id": "s-1_x", "duration_seconds": 2, "frame_count": 48.0,'
        ' "video_url": "https://cdn.example/v.mp4?sig=1"}',
        progress="1.0000001",
        retry_count="0",
    )
    api.route("GET", "/simulation-jobs/j1", Answer.json(body))
    detail = run(api, lambda c: c.get_simulate_status("j1"))
    stream = detail.streams[0]
    assert (stream.stream_id, stream.duration_seconds, stream.frame_count) == ("s-1_x", 2.0, 48)
    assert detail.progress == 1.0


@pytest.mark.parametrize(
    ("grant", "field"),
    [
        (b'{"access_token": "olt_abc.def", "expires_in": NaN}', "expires_in"),
        (b'{"access_token": "olt_abc.def", "expires_in": 1e400}', "expires_in"),
        (b'{"access_token": "olt_abc\\r\\nX-Evil: 1", "expires_in": 60}', "access_token"),
        (b'{"access_token": 12345678}', "access_token"),
    ],
    ids=["nan-lifetime", "endless-lifetime", "header-injection", "not-a-string"],
)
def test_a_bad_token_grant_names_its_field(api: ScriptedServer, grant: bytes, field: str) -> None:
    api.route("POST", "/auth/token", Answer.json(grant))
    with pytest.raises(InvalidResponseError) as caught:
        run(api, lambda c: c.list_simulations())
    assert caught.value.field == field
    assert "olt_abc" not in str(caught.value)
    assert api.requests("/simulation-jobs") == []  # nothing sent with a bad token


@pytest.mark.parametrize("header", ["nan", "inf", "-inf", "1e999"])
def test_a_poisoned_retry_after_is_ignored(api: ScriptedServer, header: str) -> None:
    from odyssey_jupyter.client.retry import parse_retry_after
    from odyssey_jupyter.errors import RateLimitError

    assert parse_retry_after(header) is None
    body = (
        b'{"error": "RATE_LIMITED", "message": "slow down",'
        b' "details": {"retry_after_seconds": NaN}}'
    )
    limited = Answer.json(body, status=429, headers=[("Retry-After", header)])
    api.route("GET", "/simulation-jobs/j1", limited)
    with pytest.raises(RateLimitError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"), max_retries=0)
    assert caught.value.retry_after is None  # never NaN or endless, which the poller would sleep on


def test_a_recordings_path_never_leaves_its_directory(recs_config: Path) -> None:
    from odyssey_jupyter.session import recordings

    for bad in ("..", ".", "a/b", "..\\x", "", "nul\0byte"):
        with pytest.raises(InvalidRequestError):
            recordings.recording_dir("j1", bad)
        with pytest.raises(InvalidRequestError):
            recordings.recording_dir(bad, "s1")


def test_a_bad_value_shows_on_a_watched_job_instead_of_crashing_it(
    api: ScriptedServer, recs_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from odyssey_jupyter.display.job.status_html import panel_html
    from odyssey_jupyter.display.job.status_view import snapshot
    from odyssey_jupyter.session.jobs import Job
    from odyssey_jupyter.session.runtime import shutdown_runtime

    api.route(
        "GET",
        "/simulation-jobs/j1",
        Answer.json(detail_with(stream='{"stream_id": "s1", "duration_seconds": NaN}')),
    )
    monkeypatch.setenv("ODYSSEY_API_URL", api.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", KEY)
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(tmp_path / "history.jsonl"))
    shutdown_runtime()
    try:
        job = Job.from_id("j1")
        deadline = time.monotonic() + 60
        while job.error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert isinstance(job.error, InvalidResponseError)
        assert job.error.field == "streams[0].duration_seconds"
        assert "odyssey-status-panel" in panel_html(snapshot(job))  # the display still renders
        assert job.detail is None  # nothing of the bad answer reached it
        assert job.phase == "error"  # given up on, not polled again and again
        assert job not in Watcher.of(job.runtime).jobs
    finally:
        shutdown_runtime()


def test_a_header_of_latin_1_bytes_does_not_fail_the_call(api: ScriptedServer) -> None:
    # a proxy or server may send any byte above 127 in a header value (obs-text)
    api.route("GET", "/simulation-jobs/j1", Answer.json(DETAIL, headers=[("Server", "caf\u00e9")]))
    detail = run(api, lambda c: c.get_simulate_status("j1"))
    assert detail.job_id == "j1"


@pytest.mark.parametrize("header", ["Odyssey-Max-Active", "Odyssey-Render-Slots"])
def test_a_declared_count_that_is_no_ascii_number_is_ignored(
    api: ScriptedServer, header: str
) -> None:
    # "\u00b2" is a digit to str.isdigit() but not to int()
    from odyssey_jupyter.protocol.declarations import parse_count

    assert parse_count("\u00b2") is None
    api.route("GET", "/simulation-jobs/j1", Answer.json(DETAIL, headers=[(header, "\u00b2")]))
    detail = run(api, lambda c: c.get_simulate_status("j1"))
    assert detail.job_id == "j1"


@pytest.mark.parametrize("loc", [5, None, {"a": 1}, "body"])
def test_a_field_error_whose_loc_is_no_list_still_reads(api: ScriptedServer, loc: Any) -> None:
    body = {"detail": [{"loc": loc, "msg": "prompt is too long"}]}
    api.route("GET", "/simulation-jobs/j1", Answer.json(body, status=422))
    with pytest.raises(InvalidRequestError) as caught:
        run(api, lambda c: c.get_simulate_status("j1"), max_retries=0)
    assert "prompt is too long" in str(caught.value)
