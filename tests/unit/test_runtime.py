"""The background loop thread: sync bridge, Ctrl-C, survival of errors, client swap, stop."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from odyssey_jupyter.errors import RuntimeStoppedError
from odyssey_jupyter.session.runtime import Runtime, get_runtime, shutdown_runtime


@pytest.fixture
def rt() -> Iterator[Runtime]:
    shutdown_runtime()
    yield get_runtime()
    shutdown_runtime()


def test_one_daemon_thread_named_odyssey_loop(rt: Runtime) -> None:
    assert get_runtime() is rt
    assert rt.thread.name == "odyssey-loop" and rt.thread.daemon
    names = [t.name for t in threading.enumerate()]
    assert names.count("odyssey-loop") == 1

    async def where() -> str:
        return threading.current_thread().name

    assert rt.run(where()) == "odyssey-loop"


def test_run_returns_and_raises(rt: Runtime) -> None:
    async def boom() -> None:
        raise KeyError("x")

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert rt.run(add(1, 2)) == 3
    with pytest.raises(KeyError):
        rt.run(boom())


def test_run_timeout_cancels_the_coroutine(rt: Runtime) -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        rt.run(slow(), timeout=0.2)
    assert cancelled.wait(5)


def test_ctrl_c_interrupts_run_quickly_and_cancels(rt: Runtime) -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    fired: list[float] = []

    def interrupt() -> None:
        fired.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(0.3, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        rt.run(slow())
    latency = time.monotonic() - fired[0]
    print(f"Ctrl-C latency of Runtime.run: {latency * 1000:.0f} ms")
    assert latency < 2.0  # generous bound; the design target is 0.1 s
    assert cancelled.wait(5)
    assert rt.running  # the loop thread is untouched


def test_loop_survives_errors_in_callbacks_and_tasks(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    def bad_callback() -> None:
        raise RuntimeError("callback failure")

    async def bad_task() -> None:
        raise RuntimeError("task failure")

    async def spawn() -> None:
        asyncio.get_running_loop().create_task(bad_task())
        await asyncio.sleep(0.05)

    rt.loop.call_soon_threadsafe(bad_callback)
    rt.run(spawn())

    async def ok() -> str:
        return "still alive"

    assert rt.run(ok()) == "still alive"
    assert rt.thread.is_alive()
    assert any("callback failure" in repr(r.exc_info) for r in caplog.records if r.exc_info)


def test_run_on_the_loop_thread_is_refused(rt: Runtime) -> None:
    async def nested() -> None:
        async def inner() -> None:
            return None

        rt.run(inner())

    with pytest.raises(RuntimeError, match="odyssey-loop thread"):
        rt.run(nested())


def test_configure_swaps_the_client(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODYSSEY_API_KEY", raising=False)
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    rt.configure(api_key="ody_first_key", api_url="http://127.0.0.1:9")
    first = rt.client
    assert first.api_url == "http://127.0.0.1:9"
    rt.configure(api_key="ody_other_key", api_url="http://127.0.0.1:10")
    second = rt.client
    assert second is not first and second.api_url == "http://127.0.0.1:10"
    assert "ody_other_key" not in repr(rt) + repr(second)


def test_stop_ends_the_thread_and_a_new_runtime_starts(rt: Runtime) -> None:
    thread = rt.thread
    shutdown_runtime()
    assert not thread.is_alive() and not rt.running
    with pytest.raises(RuntimeStoppedError):
        rt.submit(asyncio.sleep(0))
    fresh = get_runtime()
    assert fresh is not rt and fresh.running
    shutdown_runtime()
    assert [t for t in threading.enumerate() if t.name == "odyssey-loop"] == []
