"""Reading one answer from a server that may be hostile: a deadline, a size cap, one origin.

httpx's own timeouts bound each read, not the whole answer: a server that
trickles a byte every half second never trips a 5 s read timeout and holds the
caller for as long as it likes. Here the whole attempt (connect, headers, every
redirect hop and the entire body) runs under one deadline, and the body is
counted as it arrives (after decompression), so neither a slow server nor a
huge or lying one can hold a call or fill memory and disk.

Redirects are followed by hand: an API call may follow one to its own origin,
never to another (its bearer token would go along, and the client would trust
that host's answer); the token exchange follows none at all; an artifact
download (no credential) follows any, up to a bound. No redirect body is read.
An ``httpx.Auth`` flow is driven by hand too, for the same reason: httpx reads
every answer a flow passes over (a 401 before the retry) whole.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Awaitable
from typing import Literal, TypeVar

import httpx

from odyssey_jupyter.errors import (
    InvalidResponseError,
    OdysseyError,
    RedirectRefusedError,
    ResponseTooLargeError,
)

T = TypeVar("T")

MAX_SAME_ORIGIN_REDIRECTS = 5
"""Hops an API call follows within its own origin (a trailing-slash redirect needs one)."""
MAX_ARTIFACT_REDIRECTS = 10
"""Hops an artifact download follows (a CDN may bounce a presigned URL a few times)."""
ACCEPT_ENCODING = "gzip, deflate"
"""The only encodings asked for, and the only ones read (decoded here, a bounded step at a time)."""
DECODE_STEP = 1 << 20
"""Most bytes one decompression step may produce: a 64 KB chunk of a gzip bomb is 64 MB."""


def origin(url: httpx.URL | str) -> str:
    """``scheme://host[:port]`` of ``url``, the default port left out (as browsers compare)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


async def within(work: Awaitable[T], seconds: float, request: httpx.Request) -> T:
    """``work`` under an overall deadline; overrunning it is a read timeout like httpx's own.

    Raising ``httpx.ReadTimeout`` lets the caller's retry rules treat a trickling
    server exactly like a silent one.
    """
    try:
        return await asyncio.wait_for(work, timeout=max(0.0, seconds))
    except asyncio.TimeoutError as exc:
        if isinstance(exc, OdysseyError):
            raise
        raise httpx.ReadTimeout(
            f"no complete answer within {seconds:.3g} s (the overall deadline of the attempt)",
            request=request,
        ) from None


Redirects = Literal["none", "same-origin", "anywhere"]
"""Which redirects a request follows: the token exchange none, an API call its own origin's,
an artifact download any (it carries no credential)."""


async def send_following(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    redirects: Redirects,
    method: str,
    path: str,
    max_hops: int = MAX_SAME_ORIGIN_REDIRECTS,
) -> httpx.Response:
    """Send ``request`` (streamed), following only the redirects ``redirects`` allows.

    Each hop is followed by hand, its body left unread (httpx would read a
    redirect's body whole, however large). The returned response is open: the
    caller reads and closes it.
    """
    home = origin(request.url)
    response = await http.send(request, stream=True, follow_redirects=False)
    hops = 0
    while response.next_request is not None:
        target = response.next_request
        status = response.status_code
        await response.aclose()
        there = origin(target.url)
        why = ""
        if redirects == "none":
            why = "the token exchange never follows a redirect (the API key would go along)"
        elif redirects == "same-origin" and there != home:
            why = "an API call never follows a redirect to another origin (its token would)"
        elif hops >= max_hops:
            why = f"more than {max_hops} redirects"
        if why:
            raise RedirectRefusedError(
                f"{method} {path}: {origin(response.url)} answered {status} redirecting to "
                f"{there}; refused: {why}."
                + (" Check ODYSSEY_API_URL." if redirects != "anywhere" else ""),
                from_origin=origin(response.url),
                to_origin=there,
                status_code=status,
                method=method,
                path=path,
            )
        hops += 1
        response = await http.send(target, stream=True, follow_redirects=False)
    return response


async def send_authorized(
    http: httpx.AsyncClient,
    request: httpx.Request,
    auth: httpx.Auth | None,
    *,
    redirects: Redirects,
    method: str,
    path: str,
) -> httpx.Response:
    """:func:`send_following` under ``auth``'s flow: each request the flow yields is
    sent, and each answer it passes over (a 401 it answers with a fresh token) is
    closed unread. The returned response is open: the caller reads and closes it."""
    if auth is None:
        return await send_following(http, request, redirects=redirects, method=method, path=path)
    flow = auth.async_auth_flow(request)
    try:
        outgoing = await flow.__anext__()
        while True:
            response = await send_following(
                http, outgoing, redirects=redirects, method=method, path=path
            )
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return response
            except BaseException:
                await response.aclose()  # the flow failed (its exchange did): the answer too
                raise
            await response.aclose()
    finally:
        await flow.aclose()


def declared_length(response: httpx.Response) -> int | None:
    """The ``Content-Length`` the server declared, when it is a plain number."""
    text = response.headers.get("Content-Length", "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def too_large(what: str, limit: int, setting: str, *, declared: int | None = None) -> str:
    size = f"declares {declared} bytes" if declared is not None else "goes on past the cap"
    return f"{what} {size}; at most {limit} bytes are read (the {setting} setting)"


async def capped_chunks(
    response: httpx.Response, limit: int, setting: str, *, what: str, chunk: int | None = None
) -> AsyncIterator[bytes]:
    """The decoded body in chunks, stopping with ResponseTooLargeError past ``limit`` bytes
    or past the declared ``Content-Length`` (a server that lies about its length)."""
    declared = declared_length(response)
    if declared is not None and declared > limit:
        raise ResponseTooLargeError(
            too_large(what, limit, setting, declared=declared),
            limit=limit,
            status_code=response.status_code,
        )
    done = 0
    async for part in _decoded(response, chunk):
        done += len(part)
        if done > limit:
            raise ResponseTooLargeError(
                too_large(what, limit, setting), limit=limit, status_code=response.status_code
            )
        if declared is not None and response.num_bytes_downloaded > declared:
            raise ResponseTooLargeError(
                f"{what} is longer than the {declared} bytes its Content-Length declared",
                limit=limit,
                status_code=response.status_code,
            )
        yield part


async def _decoded(response: httpx.Response, chunk: int | None) -> AsyncIterator[bytes]:
    """The body decoded in steps of at most ``DECODE_STEP`` bytes.

    httpx's own decoders inflate each network chunk whole, so a compression bomb
    would be in memory before any cap could count it.
    """
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        async for raw in response.aiter_raw(chunk):
            yield raw
        return
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    else:
        raise InvalidResponseError(
            f"the answer is encoded as {encoding!r}; only {ACCEPT_ENCODING} are read",
            status_code=response.status_code,
        )
    try:
        async for raw in response.aiter_raw(chunk):
            data = raw
            while True:
                out = inflater.decompress(data, DECODE_STEP)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if not data and len(out) < DECODE_STEP:
                    break
    except zlib.error as exc:
        raise httpx.DecodingError(f"{encoding} body: {exc}", request=response.request) from None


async def read_capped(response: httpx.Response, limit: int, *, what: str, setting: str) -> bytes:
    """The whole decoded body, at most ``limit`` bytes (see :func:`capped_chunks`)."""
    parts = [p async for p in capped_chunks(response, limit, setting, what=what)]
    return b"".join(parts)


def settled(response: httpx.Response, body: bytes) -> httpx.Response:
    """A closed, fully read copy of ``response`` holding ``body`` (already decoded)."""
    # the raw bytes: a value decoded from Latin-1 would not encode back as httpx's ASCII
    headers = [
        (name, value)
        for name, value in response.headers.raw
        if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions={"reason_phrase": response.reason_phrase.encode("ascii", "replace")},
    )
