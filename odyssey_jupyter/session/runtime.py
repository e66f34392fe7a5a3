"""The one background thread that owns an event loop, and the sync bridge onto it.

Why a thread: an asyncio task on the kernel's own loop freezes whenever a cell
blocks (``time.sleep``, a long computation) and does not run at all in terminal
IPython. A daemon thread named ``odyssey-loop`` keeps polling and widgets live.
It owns the process's one ``Odyssey`` client (and so its ``httpx.AsyncClient``),
which is created and closed on that loop only: an AsyncClient is never shared
between loops, and ``asyncio.run`` is never called inside the kernel.

Sync callers block on a ``concurrent.futures.Future`` in short slices, so Ctrl-C
(``KeyboardInterrupt``) lands within a tenth of a second; the interrupted wait
cancels its own future before re-raising.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from odyssey_jupyter.errors import RuntimeStoppedError
from odyssey_jupyter.session.config import get_config

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey

log = logging.getLogger(__name__)

T = TypeVar("T")


class Service(Protocol):
    """Something that lives on the loop beside the client (the watcher, a sweep scheduler).

    The runtime knows services only through this: it tells them when the client
    changes and closes them when it stops, so it never imports what uses it.
    """

    def client_changed(self) -> None:
        """The client was replaced (``configure``); work waiting on the old one may go on."""

    async def aclose(self) -> None:
        """Stop and cancel work in flight (runtime shutdown)."""


S = TypeVar("S", bound=Service)

THREAD_NAME = "odyssey-loop"
WAIT_SLICE = 0.1
"""Longest uninterrupted block of a sync wait; bounds how late Ctrl-C is noticed."""
STOP_TIMEOUT = 5.0


def wait_in_slices(
    wait: Callable[[float], object], done: Callable[[], bool], timeout: float | None = None
) -> bool:
    """Call ``wait(seconds)`` in short slices until ``done()``; False if ``timeout`` passes first.

    The one blocking loop of the sync API: no single block lasts longer than
    ``WAIT_SLICE``, so Ctrl-C lands within a tenth of a second.
    """
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while not done():
        slice_ = WAIT_SLICE
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            slice_ = min(slice_, remaining)
        wait(slice_)
    return True


def wait_future(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """Block on ``future`` in short slices; cancel it on Ctrl-C or timeout.

    Raises ``TimeoutError`` when ``timeout`` passes first.
    """
    try:
        finished = wait_in_slices(
            lambda seconds: concurrent.futures.wait([future], timeout=seconds),
            future.done,
            timeout,
        )
    except KeyboardInterrupt:
        future.cancel()
        raise
    if not finished:
        future.cancel()
        raise TimeoutError(f"gave up waiting after {timeout:g} s")
    return future.result()


class Runtime:
    """A daemon thread running an asyncio loop, plus the client and services living on it."""

    def __init__(self, *, api_key: str | None = None, api_url: str | None = None) -> None:
        self._api_key = api_key
        self._api_url = api_url
        self._client: Odyssey | None = None
        self._services: dict[Callable[[Runtime], Service], Service] = {}
        self._stopped = False
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._on_loop_error)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name=THREAD_NAME, daemon=True)
        self._thread.start()
        self._started.wait(STOP_TIMEOUT)

    # ------------------------------------------------------------------ thread

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        try:
            self._loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.run_until_complete(self._loop.shutdown_default_executor())
            except Exception:  # the thread is ending anyway; say why, do not raise
                log.exception("error while stopping the odyssey-loop thread")
            finally:
                self._loop.close()

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Anything that escapes a task or callback is logged; the loop keeps running."""
        exc = context.get("exception")
        message = context.get("message", "error on the odyssey-loop thread")
        if exc is not None:
            log.error("%s: %r", message, exc, exc_info=exc)
        else:
            log.error("%s", message)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.is_alive()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    # ------------------------------------------------------------------ bridge

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns at once with a thread-safe future."""
        if not self.running:
            coro.close()
            raise RuntimeStoppedError("the odyssey runtime is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and block until it finishes (Ctrl-C cancels it)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(
                "Runtime.run() was called on the odyssey-loop thread itself; await instead"
            )
        return wait_future(self.submit(coro), timeout)

    # ------------------------------------------------------------------ client

    def _ensure_client(self) -> Odyssey:
        """Create the client on the loop thread (its AsyncClient belongs to this loop)."""
        if self._client is None:
            from odyssey_jupyter.client.odyssey import Odyssey

            self._client = Odyssey(
                api_key=self._api_key, api_url=self._api_url, settings=get_config
            )
        return self._client

    async def get_client(self) -> Odyssey:
        """The client, for code already running on the loop."""
        return self._ensure_client()

    @property
    def client(self) -> Odyssey:
        """The process's one ``Odyssey`` client (created on first use, on the loop)."""
        if self._client is not None:
            return self._client
        if self.in_loop_thread():
            return self._ensure_client()
        return self.run(self.get_client(), timeout=30.0)

    @property
    def has_client(self) -> bool:
        return self._client is not None

    def configure(self, api_key: str | None = None, api_url: str | None = None) -> None:
        """Use another key/URL from now on (``None`` means the environment or the local engine).

        The old client is closed on the loop; jobs being watched keep being
        watched through the new one.
        """
        self._api_key, self._api_url = api_key, api_url
        if self.in_loop_thread():
            self._loop.create_task(self._swap_client())
        else:
            self.run(self._swap_client(), timeout=30.0)

    async def _swap_client(self) -> None:
        old, self._client = self._client, None
        if old is not None:
            try:
                await old.aclose()
            except Exception:
                log.exception("error while closing the previous Odyssey client")
        for service in self._current_services():
            service.client_changed()

    # ------------------------------------------------------------------ services

    def service(self, factory: Callable[[Runtime], S]) -> S:
        """This runtime's one instance made by ``factory`` (created on first use)."""
        with self._lock:
            found = self._services.get(factory)
            if found is None:
                found = self._services[factory] = factory(self)
            return found  # type: ignore[return-value]  # stored under its own factory

    def _current_services(self) -> list[Service]:
        with self._lock:
            return list(self._services.values())

    # ------------------------------------------------------------------ stop

    async def _aclose(self) -> None:
        for service in self._current_services():
            try:
                await service.aclose()
            except Exception:
                log.exception("error while closing %r", service)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop watching, close the client and end the thread (for ``%unload_ext``, atexit)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if not self._thread.is_alive():
            return
        if self.in_loop_thread():
            self._loop.create_task(self._aclose()).add_done_callback(lambda _: self._loop.stop())
            return
        future = asyncio.run_coroutine_threadsafe(self._aclose(), self._loop)
        try:
            future.result(timeout)
        except Exception:
            log.exception("error while closing the odyssey runtime")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Runtime {state} thread={self._thread.name}>"


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()
_atexit_registered = False


def get_runtime() -> Runtime:
    """The process's runtime, started on first use (and again after a shutdown)."""
    global _runtime, _atexit_registered
    with _runtime_lock:
        if _runtime is None or not _runtime.running:
            _runtime = Runtime()
            if not _atexit_registered:
                atexit.register(shutdown_runtime)
                _atexit_registered = True
        return _runtime


def current_runtime() -> Runtime | None:
    """The running runtime if there is one; never starts a thread."""
    runtime = _runtime
    return runtime if runtime is not None and runtime.running else None


def shutdown_runtime(timeout: float = STOP_TIMEOUT) -> None:
    """Stop the runtime thread if it runs; the next ``get_runtime()`` starts a fresh one."""
    global _runtime
    with _runtime_lock:
        runtime, _runtime = _runtime, None
    if runtime is not None:
        runtime.stop(timeout)
