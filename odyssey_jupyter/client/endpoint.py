"""Where a client's calls go, and with which key.

The arguments first, then ``ODYSSEY_API_KEY`` / ``ODYSSEY_API_URL``, then the
hosted API; with neither a key nor a URL, the embedded local engine, found (or
started) before the first call and found again whenever it may have gone: before
the key is exchanged again, and when the ``local_pace`` asked for changed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from odyssey_jupyter.client.auth import TokenCache
from odyssey_jupyter.client.settings import SettingsSource
from odyssey_jupyter.errors import ConfigurationError
from odyssey_jupyter.text.redaction import REDACTED, shown_url

logger = logging.getLogger("odyssey_jupyter.client")

HOSTED_URL = "https://api.odyssey.ml"
ENGINE_PROOF_SECONDS = 1.0
"""How long a local engine's proof of identity is reused before the key is sent again."""
_announced: set[str] = set()

local_engine_notice: Callable[[str], None] | None = None
"""Where "Using the local Odyssey engine at ..." goes: stderr when None. The notebook
extension sets it to show a small information line instead of a red stderr box."""


def _notify(text: str) -> None:
    """An information line: the extension's notice display in a kernel, else stderr."""
    if local_engine_notice is None:
        print(text, file=sys.stderr)
    else:
        local_engine_notice(text)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def clean_url(url: str, key: str | None = None) -> str:
    """``url`` without trailing slashes; a ConfigurationError when it is not http(s),
    which shows the value as :func:`shown_url` does (never the key, whichever field
    it was typed into, nor a user, password or query token)."""
    text = url.strip().rstrip("/")
    if not (text.startswith("http://") or text.startswith("https://")) or text.endswith("://"):
        shown = shown_url(text, [key])
        hint = ""
        if shown == REDACTED or (key and text == key):
            hint = " (it looks like an API key, which belongs in ODYSSEY_API_KEY)"
        raise ConfigurationError(
            f"the API URL {shown!r} is not an http(s) URL{hint}; "
            f"set ODYSSEY_API_URL like {HOSTED_URL}"
        )
    return text


def _target(api_key: str | None, api_url: str | None) -> tuple[str | None, str | None]:
    """(key, URL) from the arguments, else the environment, else the hosted API's URL;
    (None, None) for the local engine."""
    key = (api_key or "").strip() or _env("ODYSSEY_API_KEY")
    raw_url = (api_url or "").strip() or _env("ODYSSEY_API_URL")
    url = clean_url(raw_url, key) if raw_url else None
    if url is not None and key is None:
        raise ConfigurationError(
            f"an API URL is set ({shown_url(url)}) but no API key: set ODYSSEY_API_KEY "
            "(or pass api_key=...), or unset ODYSSEY_API_URL to use the local engine"
        )
    if key is not None and url is None:
        url = HOSTED_URL
    return key, url


class Endpoint:
    """The base URL and key of a client; the local engine's, once it has been found."""

    def __init__(
        self,
        api_key: str | None,
        api_url: str | None,
        *,
        tokens: TokenCache,
        settings: SettingsSource,
        local_data_dir: Path | None = None,
    ) -> None:
        self._key, self._url = _target(api_key, api_url)
        self._local = self._key is None and self._url is None
        self._tokens = tokens
        self._settings = settings
        self._local_data_dir = local_data_dir
        self._engine_pace: str | None = None
        """The pace of the local engine this client found (``None`` until it found one)."""
        self._asked_pace: str | None = None
        """``local_pace`` when it found it: a change makes the client look again."""
        self._proved_at = 0.0
        """When the engine last proved its identity (``time.monotonic()``)."""
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def url(self) -> str | None:
        """The base URL in use (``None`` for the local engine until it has been found)."""
        return self._url

    @property
    def key(self) -> str | None:
        return self._key

    @property
    def is_local(self) -> bool:
        """True when the calls go to the embedded local engine."""
        return self._local

    def secrets(self) -> list[str | None]:
        """What no message may show: the key and the token held."""
        return [self._key, self._tokens.held]

    def needs_engine_start(self) -> bool:
        """True when this is the local engine and no live process serves it yet.

        A cheap check (no HTTP): the engine's ``engine.json`` names a live process,
        or the engine was found already.
        """
        if not self._local or self._url is not None:
            return False
        from odyssey_jupyter.local.launch.launcher import recorded_engine_alive
        from odyssey_jupyter.local.launch.options import default_data_dir

        override = self._local_data_dir
        data_dir = Path(override).expanduser() if override else default_data_dir()
        return not recorded_engine_alive(data_dir)

    async def base(self) -> str:
        """The base URL, starting the local engine first when the calls go there."""
        if not self._must_find_engine():
            assert self._url is not None
            return self._url
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        async with lock:
            if self._must_find_engine():
                await self._find_engine()
        assert self._url is not None
        return self._url

    async def relaunch(self, base: str) -> str:
        """The base URL after the engine refused a connection: found, or started, again."""
        await self._find_engine()
        return self._url or base

    def _must_find_engine(self) -> bool:
        """Whether to (re)find the local engine, proving its identity, before the next call.

        Before it is known; when ``local_pace`` changed since; and before the key is
        exchanged again (no token held): the engine may have died since, and another
        process may hold its port. A proof less than a second old is reused.
        """
        if self._url is None or self._key is None:
            return True
        if self._engine_pace is None:  # the hosted API or a URL given: nothing to find
            return False
        if self._settings().local_pace != self._asked_pace:
            return True
        stale = time.monotonic() - self._proved_at > ENGINE_PROOF_SECONDS
        return stale and self._tokens.current() is None

    async def _find_engine(self) -> None:
        from odyssey_jupyter.local.launch.launcher import ensure_engine
        from odyssey_jupyter.local.launch.pace import pace_notice

        pace = self._settings().local_pace
        info = await asyncio.to_thread(ensure_engine, self._local_data_dir, pace=pace)
        url = clean_url(str(info.url))
        if url != self._url:
            self._tokens.clear()
        before = self._engine_pace
        self._url, self._key = url, str(info.api_key)
        self._engine_pace, self._asked_pace = info.pace, pace
        self._proved_at = time.monotonic()
        if url not in _announced:
            _announced.add(url)
            message = f"Using the local Odyssey engine at {url}"
            logger.info(message)
            _notify(message + " (set ODYSSEY_API_KEY to use the hosted API)")
        notice = pace_notice(url, info.data_dir, info.pace, asked=pace, before=before)
        if notice is not None:
            _notify(notice)
