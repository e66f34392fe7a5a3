"""A real fault-injecting HTTP proxy on 127.0.0.1, for fault-tolerance tests.

It sits between a client and an upstream server (the local engine) and, for a
chosen share of requests, misbehaves the way real networks and servers do:

==============  =====================================================================
``ok``          forward the request and relay the answer
``500`` ...     answer 400/401/408/500/502/503/504 itself (``{"detail": ...}``), without forwarding
``429``         answer 429 ``RATE_LIMITED`` with a ``Retry-After`` header, without forwarding
``429_monthly`` answer 429 ``MONTHLY_LIMIT_REACHED`` (``429_suspended``: ``ACCOUNT_SUSPENDED``)
``reset``       read the request, then reset the connection (nothing forwarded)
``stall``       read the request, then say nothing for ``stall_seconds`` (a read timeout)
``truncate``    forward, then relay the headers and only half of the body, and hang up
``reset_after`` forward (the server acts!), then reset instead of answering
``500_after``   forward (the server acts!), then answer 500 instead of the real answer
``stall_after`` forward (the server acts!), then stall
==============  =====================================================================

Faults are chosen per request by rules (method and path prefix), either from a
scripted sequence (``["reset", "ok"]``) or at random with given shares, from a
seeded ``random.Random`` so a run is repeatable. ``delay`` holds every answer
back by N seconds; ``hide_headers`` drops named response headers, to play a
server without an extension (``Idempotency-Keys``). ``pause()``/``resume()``
stop and restart listening on the same port, which makes the client see
"connection refused" (the connect phase).
Everything the proxy did is counted in ``counts`` and listed in ``log``.

The proxy runs its own event loop on a daemon thread, so sync and async tests
alike can use it::

    with FaultProxy(engine.url, seed=7) as proxy:
        proxy.add_rule(rates={"503": 0.3, "reset": 0.1}, method="GET")
        client = Odyssey(engine.api_key, proxy.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

Proxy = TypeVar("Proxy", bound="FaultProxy")

STATUS_FAULTS = {"400", "401", "408", "500", "502", "503", "504"}
FORWARDING = {"ok", "truncate", "reset_after", "500_after", "stall_after"}
USAGE_FAULTS = {"429_monthly": "MONTHLY_LIMIT_REACHED", "429_suspended": "ACCOUNT_SUSPENDED"}
"""Answer 429 with a hosted usage-error body of that code, without forwarding."""
FAULTS = frozenset(STATUS_FAULTS | FORWARDING | set(USAGE_FAULTS) | {"429", "reset", "stall"})

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Rule:
    """Which requests a rule applies to, and what to do with them."""

    method: str | None = None
    path: str | None = None
    sequence: deque[str] = field(default_factory=deque)
    rates: dict[str, float] = field(default_factory=dict)
    limit: int | None = None
    """Stop injecting random faults after this many (the sequence is not limited)."""
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or path.startswith(self.path)


class Seen(NamedTuple):
    """One request the proxy handled, and what it did with it."""

    method: str
    path: str
    action: str
    headers: dict[str, str]
    """Request headers, names in lower case."""


class FaultProxy:
    """See the module docstring. Use as a context manager or call start()/close()."""

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        port: int = 0,
        stall_seconds: float = 30.0,
        retry_after: str = "1",
        delay: float = 0.0,
        hide_headers: Iterable[str] = (),
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the proxy forwards to http:// upstreams only, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.rng = random.Random(seed)
        self.port = port
        self.stall_seconds = stall_seconds
        self.retry_after = retry_after
        self.delay = delay
        self.hide_headers = {name.lower() for name in hide_headers}
        """Response headers dropped on the way back (to play a server without an extension)."""
        self.rules: list[Rule] = []
        self.counts: Counter[str] = Counter()
        self.log: list[Seen] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_rule(
        self,
        *,
        rates: Mapping[str, float] | None = None,
        sequence: Iterable[str] = (),
        method: str | None = None,
        path: str | None = None,
        limit: int | None = None,
    ) -> Rule:
        """Add a rule (checked in order; the first match decides). Returns it."""
        rule = Rule(method, path, deque(sequence), dict(rates or {}), limit)
        for name in [*rule.sequence, *rule.rates]:
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULTS)}")
        if sum(rule.rates.values()) > 1.0 + 1e-9:
            raise ValueError("the shares of a rule add up to more than 1")
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self.rules.clear()

    def count(
        self, *, method: str | None = None, path: str | None = None, action: str | None = None
    ) -> int:
        """How many requests matched (method, path prefix, action) so far."""
        with self._lock:
            return sum(
                1
                for seen in self.log
                if (method is None or seen.method == method)
                and (path is None or seen.path.startswith(path))
                and (action is None or seen.action == action)
            )

    def request_headers(
        self, method: str | None = None, path: str | None = None
    ) -> list[dict[str, str]]:
        """Headers of the requests seen, optionally only those of one method and path prefix."""
        with self._lock:
            return [
                seen.headers
                for seen in self.log
                if (method is None or seen.method == method)
                and (path is None or seen.path.startswith(path))
            ]

    def start(self: Proxy) -> Proxy:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # pragma: no cover - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        if failure:
            raise failure[0]
        return self

    def pause(self) -> None:
        """Stop listening: new connections are refused until resume()."""
        self._call(self._unlisten())

    def resume(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def close(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self: Proxy) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.result(10)

    # ------------------------------------------------------------------ loop side

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)

    def _decide(self, method: str, path: str, headers: dict[str, str]) -> str:
        with self._lock:
            action = "ok"
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                if rule.sequence:
                    action = rule.sequence.popleft()
                elif rule.rates and (rule.limit is None or rule.injected < rule.limit):
                    roll = self.rng.random()
                    edge = 0.0
                    for name, share in rule.rates.items():
                        edge += share
                        if roll < edge:
                            action = name
                            break
                    if action != "ok":
                        rule.injected += 1
                break
            self.counts[action] += 1
            self.log.append(Seen(method, path, action, headers))
            return action

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        action = self._decide(method, path, {k.strip().lower(): v.strip() for k, v in headers})
        if self.delay:
            await asyncio.sleep(self.delay)
        if action in STATUS_FAULTS:
            await self._answer(writer, int(action), {"detail": f"injected {action}"})
            return
        if action == "429":
            await self._answer(
                writer,
                429,
                {
                    "error": "RATE_LIMITED",
                    "message": "Too many requests (injected)",
                    "action": "Wait a moment",
                },
                extra={"Retry-After": self.retry_after},
            )
            return
        if action in USAGE_FAULTS:
            code = USAGE_FAULTS[action]
            usage = {"error": code, "message": f"{code} (injected)", "action": "Upgrade your plan"}
            await self._answer(writer, 429, usage)
            return
        if action == "reset":
            self._reset(writer)
            return
        if action == "stall":
            await asyncio.sleep(self.stall_seconds)
            return
        answer = await self._forward(lines, headers, body)
        if action == "ok":
            writer.write(answer)
            await writer.drain()
        elif action == "truncate":
            split = answer.find(b"\r\n\r\n") + 4
            payload = answer[split:]
            writer.write(answer[:split] + payload[: len(payload) // 2])
            await writer.drain()
        elif action == "reset_after":
            self._reset(writer)
        elif action == "500_after":
            await self._answer(writer, 500, {"detail": "injected 500 after forwarding"})
        elif action == "stall_after":
            await asyncio.sleep(self.stall_seconds)

    async def _forward(self, lines: list[str], headers: list[list[str]], body: bytes) -> bytes:
        """Send the request upstream on a fresh connection and read the whole answer."""
        kept = [
            f"{k}:{v}" for k, v in headers if k.strip().lower() not in ("connection", "keep-alive")
        ]
        request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
        up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            up_writer.write(request + body)
            await up_writer.drain()
            return self._without_hidden(await up_reader.read())
        finally:
            up_writer.close()

    def _without_hidden(self, answer: bytes) -> bytes:
        if not self.hide_headers:
            return answer
        head, sep, payload = answer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        kept = [lines[0]] + [
            line
            for line in lines[1:]
            if line.split(b":", 1)[0].strip().lower().decode("latin-1") not in self.hide_headers
        ]
        return b"\r\n".join(kept) + sep + payload

    @staticmethod
    async def _answer(
        writer: asyncio.StreamWriter,
        status: int,
        payload: object,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in (extra or {}).items()),
            "",
            "",
        ]
        writer.write("\r\n".join(head).encode("latin-1") + data)
        await writer.drain()

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        """Close with RST (SO_LINGER 0) so the client sees a reset, not a clean EOF."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
