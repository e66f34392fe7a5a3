"""Slow and greedy clients are dropped, and the engine answers again once they go.

Raw sockets against the real engine: a connection that never writes, a request
head trickled a byte at a time, a body that never finishes, more connections than
the engine allows, and more than its file-descriptor limit (RLIMIT_NOFILE set low
in the engine's process only). Deadlines here only bound the wait for an outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.engines import RunningEngine

FD_LIMIT = 64


def address(engine: RunningEngine) -> tuple[str, int]:
    host, port = engine.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def closed_by_peer(sock: socket.socket, timeout: float = 60.0, trickle: bytes = b"") -> bool:
    """Whether the engine closes ``sock`` within ``timeout``, writing ``trickle`` byte by byte."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + timeout
    position = 0
    while time.monotonic() < deadline:
        if position < len(trickle):
            try:
                sock.send(trickle[position : position + 1])
            except OSError:
                return True
            position += 1
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_a_connection_that_never_writes_is_closed(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine("--workers", "1", "--header-timeout", "1")
    sock = socket.create_connection(address(running))
    sockets.append(sock)
    assert closed_by_peer(sock)


def test_a_trickled_request_head_is_dropped(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine("--workers", "1", "--header-timeout", "1")
    sock = socket.create_connection(address(running))
    sockets.append(sock)
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 500
    assert closed_by_peer(sock, trickle=head)
    assert httpx.get(f"{running.url}/health", timeout=10).status_code == 200


def test_a_keep_alive_connection_gets_the_head_deadline_again(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine("--workers", "1", "--header-timeout", "1", "--keep-alive", "60")
    sock = socket.create_connection(address(running))
    sockets.append(sock)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    sock.settimeout(30)
    assert b"200 OK" in sock.recv(4096)
    assert closed_by_peer(
        sock, trickle=b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 500
    )


def test_a_body_that_never_finishes_is_a_408(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine("--workers", "1", "--body-timeout", "1")
    sock = socket.create_connection(address(running))
    sockets.append(sock)
    sock.sendall(
        b"POST /auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        b'{"api_key": "'
    )
    sock.settimeout(60)
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert "did not arrive" in json.loads(body)["detail"]


def _until(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _status(url: str) -> int:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def test_connections_beyond_the_limit_are_refused_until_others_go(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine("--workers", "1", "--max-connections", "4", "--header-timeout", "60")
    for _ in range(4):
        sockets.append(socket.create_connection(address(running)))
    assert _until(lambda: _status(running.url) == 503)
    for sock in sockets:
        sock.close()
    assert _until(lambda: _status(running.url) == 200)


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def test_running_out_of_descriptors_leaves_the_engine_answering_once_clients_go(
    start_engine: Callable[..., RunningEngine], sockets: list[socket.socket]
) -> None:
    running = start_engine(
        "--workers", "1", "--max-connections", "1000", "--header-timeout", "120",
        preexec_fn=_low_fd_limit,
    )  # fmt: skip
    pid = running.process.pid
    assert Path(f"/proc/{pid}/limits").read_text().count(f"{FD_LIMIT}") >= 2
    for _ in range(FD_LIMIT * 2):
        with contextlib.suppress(OSError):  # the listen backlog may fill up too
            sockets.append(socket.create_connection(address(running), timeout=5))
    assert _until(lambda: _open_fds(pid) >= FD_LIMIT - 1), _open_fds(pid)
    for sock in sockets:
        sock.close()
    sockets.clear()
    assert _until(lambda: _status(running.url) == 200)
    assert running.process.poll() is None
    token = httpx.post(f"{running.url}/auth/token", json={"api_key": running.api_key}, timeout=10)
    assert token.status_code == 200
