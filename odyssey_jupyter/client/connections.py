"""A client's HTTP connections: one ``httpx.AsyncClient`` per event loop.

An AsyncClient never crosses loops, so two successive ``asyncio.run`` calls each
get their own; each has explicit timeouts, a bounded pool and follows no redirect
by itself (:mod:`odyssey_jupyter.client.bounded` follows them by hand).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from urllib.request import getproxies

import httpx

from odyssey_jupyter.client.bounded import ACCEPT_ENCODING
from odyssey_jupyter.errors import ConfigurationError
from odyssey_jupyter.text.redaction import shown_text, shown_url

LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)
"""The pool of one loop's AsyncClient."""


class Connections:
    """The AsyncClient of each event loop a client's calls run on."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None,
        secrets: Callable[[], list[str | None]],
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._secrets = secrets
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def current(self) -> httpx.AsyncClient:
        """This loop's AsyncClient: never shared between loops."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            for other in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[other]
            client = self._new()
            self._clients[loop] = client
        return client

    def _new(self) -> httpx.AsyncClient:
        """A new AsyncClient; a proxy from the environment that httpx cannot use is a
        ConfigurationError that shows its URL without user or password."""
        try:
            return httpx.AsyncClient(
                timeout=self._timeout,
                limits=LIMITS,
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": "odyssey_jupyter", "Accept-Encoding": ACCEPT_ENCODING},
            )
        except (ValueError, httpx.InvalidURL, ImportError) as exc:
            secrets = self._secrets()
            proxies = sorted({shown_url(url, secrets) for url in getproxies().values()})
            raise ConfigurationError(
                f"the proxy set in the environment ({', '.join(proxies) or 'none found'}) "
                f"cannot be used ({type(exc).__name__}: {shown_text(str(exc), secrets)}); "
                "check HTTPS_PROXY, HTTP_PROXY and ALL_PROXY"
            ) from None

    async def aclose(self) -> None:
        """Close every loop's connections (those of other, still running loops there)."""
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, client in list(self._clients.items()):
            del self._clients[loop]
            if loop is current:
                await client.aclose()
            elif not loop.is_closed() and loop.is_running():
                asyncio.run_coroutine_threadsafe(client.aclose(), loop)
