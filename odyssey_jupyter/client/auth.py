"""The bearer token: a cache shared by all concurrent callers, and the auth flow using it.

The API key is traded for a short-lived token (``POST /auth/token``). The token
is reused until about a minute before it expires, and exchanged again once after
a 401. Concurrent callers on one event loop wait on one ``asyncio.Lock`` and then
reuse the fresh token instead of each running their own exchange; every loop gets
its own lock because an asyncio lock belongs to the loop it was first used on.

:class:`BearerAuth` is the 401 refresh written as httpx writes authentication:
an ``httpx.Auth`` flow that yields the request with the token and, when the
answer is a 401, exchanges the key again and yields it once more.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

from odyssey_jupyter.client.bounded import origin
from odyssey_jupyter.protocol.types import TokenGrant

REFRESH_MARGIN = 60.0

Exchange = Callable[[], Awaitable[TokenGrant]]


class TokenCache:
    """Holds at most one token; never shows it in its repr."""

    def __init__(self, refresh_margin: float = REFRESH_MARGIN) -> None:
        self._margin = refresh_margin
        self._token: str | None = None
        self._refresh_at = 0.0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.exchanges = 0
        """How many exchanges ran (tests check that concurrent callers shared one)."""

    def __repr__(self) -> str:
        return f"<TokenCache {'valid' if self.current() else 'empty'}, {self.exchanges} exchanges>"

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    @property
    def held(self) -> str | None:
        """The token held, valid or not: what error messages must be scrubbed of."""
        return self._token

    def current(self) -> str | None:
        """The cached token while it is comfortably valid, else ``None``."""
        if self._token is not None and time.monotonic() < self._refresh_at:
            return self._token
        return None

    def _store(self, grant: TokenGrant) -> str:
        lifetime = max(0.0, grant.expires_in)
        # Short-lived tokens: refresh at half-life instead of never using them.
        margin = min(self._margin, lifetime / 2)
        self._token = grant.access_token
        self._refresh_at = time.monotonic() + lifetime - margin
        self.exchanges += 1
        return grant.access_token

    async def get(self, exchange: Exchange) -> str:
        """A valid token, exchanging the key only when none is cached."""
        token = self.current()
        if token is not None:
            return token
        async with self._lock():
            token = self.current()
            if token is not None:
                return token
            return self._store(await exchange())

    async def refresh(self, stale: str | None, exchange: Exchange) -> str:
        """A new token after ``stale`` was refused (401); one exchange for all who saw it."""
        async with self._lock():
            if self._token is not None and self._token != stale and self.current():
                return self._token
            self._token = None
            return self._store(await exchange())

    def clear(self) -> None:
        self._token = None
        self._refresh_at = 0.0


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` for one call to ``home``, refreshed once after a 401.

    One instance per call, so a call refreshes at most once however often it is
    retried. The token goes only to ``home`` (the API's origin): a request for any
    other origin is yielded without it. The flow is async because the exchange is
    an HTTP call of its own; a synchronous httpx client cannot drive it.
    """

    requires_response_body = False  # only the status of a refused answer matters

    def __init__(self, tokens: TokenCache, exchange: Exchange, home: str) -> None:
        self._tokens = tokens
        self._exchange = exchange
        self._home = origin(home)
        self.refreshed = False

    def __repr__(self) -> str:
        return f"<BearerAuth for {self._home}>"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("BearerAuth exchanges its key asynchronously: use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if origin(request.url) != self._home:
            yield request
            return
        token = await self._tokens.get(self._exchange)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or self.refreshed:
            return
        self.refreshed = True
        fresh = await self._tokens.refresh(token, self._exchange)
        request.headers["Authorization"] = f"Bearer {fresh}"
        yield request
