"""A small scripted HTTP server on 127.0.0.1 that plays a hostile or broken API.

Where the fault proxy misbehaves on the way to a real engine, this server is
the other end itself: each route answers exactly what a test scripts, down to
the bytes on the wire. It can redirect anywhere, trickle a body one byte at a
time, send bodies of hundreds of MB without holding them (a chunk generator),
declare a ``Content-Length`` that is not the truth, compress a bomb, and echo
what it was sent. Every request is recorded (method, path, headers, body).

It answers the token exchange by default, so a client pointed at it gets going::

    with ScriptedServer() as api:
        api.route("GET", "/simulation-jobs/j1", Answer.json({"job_id": "..", ...}))
        client = Odyssey("key", api.url)

Two servers are two origins (same host, different ports).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

TOKEN = "olt_hostiletoken1234.abcdefgh5678"
"""The bearer token the default ``/auth/token`` route hands out."""


class Request(NamedTuple):
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes
    query: str = ""
    """The query string as sent (routes match on the path alone)."""


Body = bytes | Callable[[], Iterable[bytes]]


@dataclass
class Answer:
    """What one route sends back."""

    status: int = 200
    body: Body = b""
    """Bytes, or a factory of chunks (to send far more than memory should hold)."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int | str | None = "auto"
    """``Content-Length`` to declare: ``"auto"`` the real one (bytes bodies), ``None`` none
    (the body ends when the connection closes), or any number, true or not."""
    trickle: float = 0.0
    """Seconds between single bytes of the body (0: send at once)."""

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kw: Any) -> Answer:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), *kw.pop("headers", [])]
        return cls(status=status, body=data, headers=headers, **kw)

    @classmethod
    def redirect(cls, location: str, status: int = 307) -> Answer:
        return cls(status=status, headers=[("Location", location)])


Handler = Answer | Callable[[Request], Answer]


class ScriptedServer:
    """See the module docstring. Use as a context manager."""

    def __init__(self, *, token: str = TOKEN, expires_in: Any = 3600) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.seen: list[Request] = []
        self.sent_bytes = 0
        """Body bytes written so far, across all answers (a trickle's progress)."""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.route(
            "POST",
            "/auth/token",
            Answer.json({"access_token": token, "expires_in": expires_in}),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` (exact path, query ignored); the latest route wins."""
        self.routes.insert(0, (method.upper(), path, handler))

    def requests(self, path_prefix: str = "") -> list[Request]:
        return [r for r in list(self.seen) if r.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> ScriptedServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def start() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()

            loop.run_until_complete(start())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="hostile-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is None:
            return

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # ------------------------------------------------------------------ serving

    def _find(self, method: str, path: str) -> Handler | None:
        for route_method, route_path, handler in self.routes:
            if route_method == method and route_path == path:
                return handler
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        path, _, query = target.partition("?")
        request = Request(method.upper(), path, headers, body, query)
        self.seen.append(request)
        handler = self._find(request.method, path)
        if handler is None:
            answer = Answer.json({"detail": f"no route {method} {path}"}, status=404)
        else:
            answer = handler(request) if callable(handler) else handler
        await self._answer(writer, answer)

    async def _answer(self, writer: asyncio.StreamWriter, answer: Answer) -> None:
        chunks: Iterator[bytes]
        if isinstance(answer.body, bytes):
            chunks = iter([answer.body])
            real = len(answer.body)
        else:
            chunks = iter(answer.body())
            real = -1
        lines = [f"HTTP/1.1 {answer.status} Scripted"]
        lines += [f"{name}: {value}" for name, value in answer.headers]
        if answer.length == "auto" and real >= 0:
            lines.append(f"Content-Length: {real}")
        elif isinstance(answer.length, int):
            lines.append(f"Content-Length: {answer.length}")
        lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        for chunk in chunks:
            if answer.trickle > 0:
                for index in range(len(chunk)):
                    writer.write(chunk[index : index + 1])
                    await writer.drain()
                    self.sent_bytes += 1
                    await asyncio.sleep(answer.trickle)
            else:
                writer.write(chunk)
                await writer.drain()
                self.sent_bytes += len(chunk)


def padded_json(
    prefix: dict[str, Any], pad_bytes: int, chunk: int = 1 << 20
) -> Callable[[], Iterator[bytes]]:
    """A factory of a JSON object holding ``prefix`` plus a ``pad`` string of ``pad_bytes``,
    produced in chunks (never held whole)."""

    def chunks() -> Iterator[bytes]:
        head = json.dumps(prefix)[:-1].encode()
        yield head + (b', "pad": "' if prefix else b'"pad": "')
        left = pad_bytes
        block = b"x" * chunk
        while left > 0:
            yield block[: min(chunk, left)]
            left -= chunk
        yield b'"}'

    return chunks


def zeros(total: int, chunk: int = 1 << 20) -> Body:
    """A factory of ``total`` zero bytes in chunks."""

    def chunks() -> Iterator[bytes]:
        left = total
        block = bytes(chunk)
        while left > 0:
            yield block[: min(chunk, left)]
            left -= chunk

    return chunks
