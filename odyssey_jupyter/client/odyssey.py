"""The async Odyssey client: the Simulate API with the names of Odyssey's own SDK.

``Odyssey()`` finds its settings in the arguments, then ``ODYSSEY_API_KEY`` /
``ODYSSEY_API_URL``, then the hosted API. With neither a key nor a URL it starts
(or re-uses) the embedded local engine, so the same code runs offline.

Robustness lives here and not in the callers:

* one ``httpx.AsyncClient`` per event loop (a client never crosses loops, so two
  successive ``asyncio.run`` calls each get their own), explicit timeouts and a
  bounded connection pool;
* retries with backoff and jitter for transient failures, honouring
  ``Retry-After``, under one overall deadline; a submission is repeated only when
  it provably never reached the server, so it can never create two jobs;
* the token exchange is cached and shared (see :mod:`odyssey_jupyter.client.auth`); it
  never follows a redirect, and no call follows one to another origin;
* every call ends by one overall deadline, body included, and reads at most
  ``max_json_mb`` (see :mod:`odyssey_jupyter.client.bounded`); answers are validated
  field by field (:mod:`odyssey_jupyter.protocol.types`);
* errors come from one tree (:mod:`odyssey_jupyter.errors`) and never carry the
  key or the token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from urllib.request import getproxies

import httpx

from odyssey_jupyter.client.auth import BearerAuth, TokenCache
from odyssey_jupyter.client.bounded import (
    ACCEPT_ENCODING,
    read_capped,
    send_authorized,
    settled,
    within,
)
from odyssey_jupyter.client.downloads import ArtifactFetcher, ProgressCallback, maybe_await
from odyssey_jupyter.client.http_errors import (
    error_from_response,
    retry_after_of,
    token_exchange_error,
    transport_error,
)
from odyssey_jupyter.client.retry import Deadline, RetryPolicy, decide
from odyssey_jupyter.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    InvalidResponseError,
    JobTimeoutError,
    OdysseyError,
    RateLimitError,
    ServerError,
)
from odyssey_jupyter.protocol import declarations, idempotency
from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES, ARTIFACT_KINDS
from odyssey_jupyter.protocol.outcome import outcome_error
from odyssey_jupyter.protocol.submission import build_body
from odyssey_jupyter.protocol.types import (
    JobStatus,
    Recording,
    SimulationJobDetail,
    SimulationJobInfo,
    SimulationJobsList,
    StreamRecordingsList,
    TokenGrant,
)
from odyssey_jupyter.session.config import get_config
from odyssey_jupyter.text.redaction import REDACTED, scrub, scrub_value, shown_text, shown_url

logger = logging.getLogger("odyssey_jupyter.client")

HOSTED_URL = "https://api.odyssey.ml"
ENGINE_PROOF_SECONDS = 1.0
"""How long a local engine's proof of identity is reused before the key is sent again."""
_announced: set[str] = set()


def _notify(text: str) -> None:
    """An information line: the extension's notice display in a kernel, else stderr."""
    from odyssey_jupyter import client as package  # its hook, set by the extension

    if package.local_engine_notice is None:
        print(text, file=sys.stderr)
    else:
        package.local_engine_notice(text)


UpdateCallback = Callable[[SimulationJobDetail], Any]
T = TypeVar("T")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _clean_url(url: str, key: str | None = None) -> str:
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


def _check_page(limit: int | None, offset: int | None) -> dict[str, int]:
    params: dict[str, int] = {}
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidRequestError(f"limit must be a whole number from 1 to 100, not {limit!r}")
        params["limit"] = limit
    if offset is not None:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidRequestError(f"offset must be a whole number of 0 or more, not {offset!r}")
        params["offset"] = offset
    return params


@dataclass(frozen=True)
class _Request:
    """What one API call sends, the same on every attempt."""

    method: str
    path: str
    json: Any
    params: Mapping[str, Any] | None
    headers: dict[str, str]
    auth: bool
    """False for the token exchange itself: no token, no redirect, its own errors."""


@dataclass(frozen=True)
class _Failed:
    """A failed attempt: what failed (a status, or the transport error) and how to say so."""

    failure: int | BaseException
    error: OdysseyError
    retry_after: float | None = None
    engine_gone: bool = False
    """The local engine refused the connection: it may have died with its kernel."""


def _call_headers(idempotency_key: str | None) -> dict[str, str]:
    return {} if idempotency_key is None else {idempotency.KEY_HEADER: idempotency_key}


class Odyssey:
    """Async client of Odyssey's Simulate API (hosted, or the embedded local engine).

    :param api_key: the key (default ``ODYSSEY_API_KEY``; with neither key nor URL, the
        embedded engine).
    :param api_url: the API's URL (default ``ODYSSEY_API_URL``, else the hosted API).
    :param timeout: seconds for one HTTP request.
    :param max_retries: retries of a request that failed in a way worth retrying.

    .. rubric:: Example

    .. code-block:: python

        from odyssey_jupyter import Odyssey

        async with Odyssey() as client:
            job = await client.simulate(script=[
                {"timestamp_ms": 0, "start": {"prompt": "A lighthouse at dusk"}},
                {"timestamp_ms": 3000, "end": {}},
            ])
            done = await client.wait(job.job_id)
            print(done.status)
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        retry_deadline: float = 120.0,
        download_timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
        local_data_dir: Path | None = None,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 8.0,
        retry_after_cap: float = 60.0,
        max_json_bytes: int | None = None,
        max_artifact_bytes: int | None = None,
    ) -> None:
        key = (api_key or "").strip() or _env("ODYSSEY_API_KEY")
        raw_url = (api_url or "").strip() or _env("ODYSSEY_API_URL")
        url = _clean_url(raw_url, key) if raw_url else None
        if url is not None and key is None:
            raise ConfigurationError(
                f"an API URL is set ({shown_url(url)}) but no API key: set ODYSSEY_API_KEY "
                "(or pass api_key=...), or unset ODYSSEY_API_URL to use the local engine"
            )
        if key is not None and url is None:
            url = HOSTED_URL
        self._key = key
        self._url = url
        self._local = key is None and url is None
        self._local_data_dir = local_data_dir
        self._engine_pace: str | None = None
        """The pace of the local engine this client found (``None`` until it found one)."""
        self._asked_pace: str | None = None
        """``local_pace`` when it found it: a change makes the client look again."""
        self._proved_at = 0.0
        """When the engine last proved its identity (``time.monotonic()``)."""
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._call_seconds = max(timeout, retry_deadline)
        """No call outlives this, whatever the server trickles (retries included)."""
        self._download_seconds = download_timeout
        self._download_timeout = httpx.Timeout(download_timeout, connect=min(timeout, 10.0))
        self._max_json_bytes = max_json_bytes
        self._max_artifact_bytes = max_artifact_bytes
        self._limits = httpx.Limits(max_connections=10, max_keepalive_connections=5)
        self._transport = transport
        self._policy = RetryPolicy(
            max_retries=max(0, max_retries),
            deadline=retry_deadline,
            base_delay=retry_backoff,
            max_delay=max(retry_backoff, retry_backoff_max),
            retry_after_cap=retry_after_cap,
        )
        self._tokens = TokenCache()
        self._keyed_servers: set[str] = set()
        """Base URLs whose answers declared that they honour idempotency keys."""
        self._declared: dict[str, tuple[int | None, int | None]] = {}
        """Base URL -> (max active jobs, render slots) as its answers declared them."""
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._engine_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    # ------------------------------------------------------------------ identity

    @property
    def api_url(self) -> str | None:
        """The base URL in use (``None`` for the local engine until it has been found)."""
        return self._url

    @property
    def is_local(self) -> bool:
        """True when this client uses the embedded local engine."""
        return self._local

    def __repr__(self) -> str:
        where = shown_url(self._url, [self._key]) if self._url else "local engine (not started yet)"
        key = "set" if self._key else "not set"
        local = ", local" if self._local else ""
        return f"<Odyssey url={where!r} key {key}{local}>"

    @property
    def honours_idempotency_keys(self) -> bool:
        """Whether the server in use has declared that it keeps submission keys (so far)."""
        return self._url is not None and self._url in self._keyed_servers

    @property
    def declared_limits(self) -> tuple[int | None, int | None]:
        """(max active jobs, render slots) the server in use declared; None where it did not."""
        if self._url is None:
            return (None, None)
        return self._declared.get(self._url, (None, None))

    async def handshake(self) -> None:
        """Make one authenticated request, so the server's declarations are known.

        Only the answer's headers matter: a list holding an entry this client refuses
        (an id with a '/', say) still declared the server's limits and keys.
        """
        try:
            await self.list_simulations(limit=1)
        except InvalidResponseError as exc:
            logger.info("the handshake's job list was refused (%s); its headers were read", exc)

    def _secrets(self) -> list[str | None]:
        return [self._key, self._tokens.held]

    def _json_cap(self) -> int:
        """The JSON size cap: the argument, else ``max_json_mb`` as set now."""
        return self._max_json_bytes or get_config().json_cap_bytes()

    def _artifact_cap(self) -> int:
        return self._max_artifact_bytes or get_config().artifact_cap_bytes()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Odyssey:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (those of other, still running loops are closed there)."""
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

    def _http(self) -> httpx.AsyncClient:
        """This loop's AsyncClient: never shared between loops."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            for other in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[other]
            client = self._new_http()
            self._clients[loop] = client
        return client

    def _new_http(self) -> httpx.AsyncClient:
        """A new AsyncClient; a proxy from the environment that httpx cannot use is a
        ConfigurationError that shows its URL without user or password."""
        try:
            return httpx.AsyncClient(
                timeout=self._timeout,
                limits=self._limits,
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

    # ------------------------------------------------------------------ local engine

    def needs_engine_start(self) -> bool:
        """True when this client uses the local engine and no live process serves it yet.

        A cheap check (no HTTP): the engine's ``engine.json`` names a live process,
        or this client has already found the engine.
        """
        if not self.is_local or self._url is not None:
            return False
        from odyssey_jupyter.local.launch.launcher import recorded_engine_alive
        from odyssey_jupyter.local.launch.options import default_data_dir

        override = self._local_data_dir
        data_dir = Path(override).expanduser() if override else default_data_dir()
        return not recorded_engine_alive(data_dir)

    async def start_engine(self) -> str:
        """Find or start the local engine now (a no-op for a remote API); the base URL."""
        return await self._endpoint()

    async def _endpoint(self) -> str:
        """The base URL, starting the local engine first when this client uses it."""
        if not self._must_find_engine():
            assert self._url is not None
            return self._url
        loop = asyncio.get_running_loop()
        lock = self._engine_locks.get(loop)
        if lock is None:
            lock = self._engine_locks[loop] = asyncio.Lock()
        async with lock:
            if self._must_find_engine():
                await self._find_engine()
        assert self._url is not None
        return self._url

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
        if get_config().local_pace != self._asked_pace:
            return True
        stale = time.monotonic() - self._proved_at > ENGINE_PROOF_SECONDS
        return stale and self._tokens.current() is None

    async def _find_engine(self) -> None:
        from odyssey_jupyter.local.launch.launcher import ensure_engine
        from odyssey_jupyter.local.launch.pace import pace_notice

        pace = get_config().local_pace
        info = await asyncio.to_thread(ensure_engine, self._local_data_dir, pace=pace)
        url = _clean_url(str(info.url))
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

    # ------------------------------------------------------------------ requests

    async def _exchange(self, seconds: float | None = None) -> TokenGrant:
        data = await self._send(
            "POST", "/auth/token", json={"api_key": self._key}, auth=False, seconds=seconds
        )
        if not isinstance(data, Mapping) or "access_token" not in data:
            raise AuthenticationError("the token exchange returned no access_token")
        return self._parsed(TokenGrant.from_json, data, scrubbed=False)

    async def check_credentials(self, timeout: float | None = None) -> str:
        """Exchange the key for a token now; the base URL that accepted it.

        For a caller that wants to know at once whether a key works (``%odyssey_login``)
        rather than at the first submission. Raises AuthenticationError when the key
        is refused, a connection error when the API cannot be reached.
        """
        base = await self._endpoint()
        seconds = self._call_seconds if timeout is None else timeout
        call = Deadline(seconds)
        await self._tokens.refresh(self._tokens.current(), lambda: self._exchange(call.remaining()))
        return self._url or base

    def _bearer(self, base: str, call: Deadline) -> BearerAuth:
        """The token for one call to ``base``; its exchanges end by the call's deadline."""
        return BearerAuth(self._tokens, lambda: self._exchange(call.remaining()), base)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
        unsent_only: bool = False,
        idempotency_key: str | None = None,
        seconds: float | None = None,
    ) -> Any:
        """One API call with retries; ``unsent_only`` for calls that must not run twice.

        An ``unsent_only`` call that carries an ``idempotency_key`` is repeated
        like any other once the server has declared that it honours keys. The
        call, with the token exchange it may need, ends within ``seconds`` (at most
        ``max(timeout, retry_deadline)``) however slowly the server answers. Whether
        to try again is :func:`retry.decide`'s call; ``auth=False`` is the token
        exchange itself (no token, no redirect, its own error messages).
        """
        base = await self._endpoint()
        retries = Deadline(self._policy.deadline)
        budget = self._call_seconds if seconds is None else min(self._call_seconds, seconds)
        call = Deadline(budget)
        request = _Request(method, path, json, params, _call_headers(idempotency_key), auth)
        bearer = self._bearer(base, call) if auth else None
        attempt, relaunched = 0, False
        while True:
            outcome = await self._attempt(request, base, bearer, call.remaining())
            if not isinstance(outcome, _Failed):
                return outcome
            if outcome.engine_gone and not relaunched:
                # The engine may have died with its kernel: find or restart it once.
                relaunched = True
                base = await self._relaunch(base)
                bearer = self._bearer(base, call) if auth else None
                continue
            attempt += 1
            decision = decide(
                outcome.failure,
                attempt=attempt,
                policy=self._policy,
                time_left=min(retries.remaining(), call.remaining()),
                once_only=unsent_only,
                keyed=idempotency_key is not None and base in self._keyed_servers,
                retry_after=outcome.retry_after,
                rate_limit=isinstance(outcome.error, RateLimitError),
            )
            if not decision.retry:
                raise outcome.error
            why = type(outcome.error).__name__
            logger.debug("retrying %s %s in %.2fs (%s)", method, path, decision.wait, why)
            await asyncio.sleep(decision.wait)

    async def _attempt(
        self, request: _Request, base: str, bearer: BearerAuth | None, seconds: float
    ) -> Any:
        """One attempt of a call: the decoded JSON of a successful answer, else a
        :class:`_Failed` saying what went wrong (for :func:`retry.decide`)."""
        method, path = request.method, request.path
        try:
            response = await self._request_once(request, base, bearer, seconds)
        except httpx.RequestError as exc:
            error = transport_error(
                exc, method=method, path=path, url=base, secrets=self._secrets()
            )
            gone = self._local and isinstance(exc, httpx.ConnectError)
            return _Failed(exc, error, engine_gone=gone)
        self._note_answer(base, response)
        if response.is_success:
            return self._json(response, method, path)
        mapping = error_from_response if request.auth else token_exchange_error
        failed = mapping(response, method=method, path=path, secrets=self._secrets())
        return _Failed(response.status_code, failed, retry_after_of(failed, response))

    async def _relaunch(self, base: str) -> str:
        await self._find_engine()
        return self._url or base

    def _note_answer(self, base: str, response: httpx.Response) -> None:
        """What an answer declared about its server: idempotency keys, limits."""
        if response.headers.get(idempotency.SUPPORT_HEADER) == idempotency.SUPPORT_VALUE:
            self._keyed_servers.add(base)
        self._note_declarations(base, response.headers)

    async def _request_once(
        self, request: _Request, base: str, bearer: BearerAuth | None, seconds: float
    ) -> httpx.Response:
        """One request, its token, redirects and the whole body included, within ``seconds``.

        Redirects stay within the API's origin (none at all without ``bearer``: the
        token exchange); the body is read under the JSON size cap.
        """
        http = self._http()
        method, path = request.method, request.path
        built = http.build_request(
            method, base + path, json=request.json, params=request.params, headers=request.headers
        )

        async def answer() -> httpx.Response:
            response = await send_authorized(
                http,
                built,
                bearer,
                redirects="same-origin" if bearer is not None else "none",
                method=method,
                path=path,
            )
            try:
                body = await read_capped(
                    response,
                    self._json_cap(),
                    what=f"{method} {path}: the answer",
                    setting="max_json_mb",
                )
            finally:
                await response.aclose()
            return settled(response, body)

        return await within(answer(), seconds, built)

    def _parsed(self, parse: Callable[[Any], T], data: Any, *, scrubbed: bool = True) -> T:
        """``parse(data)`` with every text of the answer scrubbed of secrets first, so
        nothing stored or shown from it (a job's ``error_message``, a list row) can
        hold the key or the token; a complaint about a value is scrubbed too (a
        hostile server may put the token into the very value it names). Only the
        token grant is parsed as sent (``scrubbed=False``): it holds the token itself.
        """
        secrets = self._secrets()
        try:
            return parse(scrub_value(data, secrets) if scrubbed else data)
        except InvalidResponseError as exc:
            raise InvalidResponseError(scrub(str(exc), secrets), field=exc.field) from None

    def _note_declarations(self, base: str, headers: httpx.Headers) -> None:
        """Keep the limits a server declared (an answer without them keeps the old ones)."""
        old_active, old_slots = self._declared.get(base, (None, None))
        active = declarations.parse_count(headers.get(declarations.MAX_ACTIVE_HEADER))
        slots = declarations.parse_count(headers.get(declarations.RENDER_SLOTS_HEADER))
        self._declared[base] = (active or old_active, slots or old_slots)

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise ServerError(
                f"{method} {path}: the server answered {response.status_code} without JSON",
                status_code=response.status_code,
                method=method,
                path=path,
            ) from None

    # ------------------------------------------------------------------ endpoints

    async def simulate(
        self,
        script: Sequence[Mapping[str, Any]] | None = None,
        *,
        scripts: Sequence[Sequence[Mapping[str, Any]]] | None = None,
        script_url: str | None = None,
        portrait: bool = True,
        bypass_prompt_expansion: bool | None = None,
        idempotency_key: str | None = None,
    ) -> SimulationJobDetail:
        """Submit a simulation (one script, a batch, or a script URL); returns the pending job.

        Scripts and images are checked before anything is sent. The submission is
        retried when it certainly never reached the server, or, on a server that
        honours idempotency keys, after any transient failure (see ``idempotency``).
        ``idempotency_key`` is for a caller that keeps the key itself (a sweep's
        ledger), so that a repeat after a restart is the same submission; by
        default each call gets a fresh one.
        """
        if idempotency_key is not None:
            problem = idempotency.key_problem(idempotency_key)
            if problem is not None:
                raise InvalidRequestError(problem)
        body = await build_body(
            script,
            scripts,
            script_url,
            portrait=portrait,
            bypass_prompt_expansion=bypass_prompt_expansion,
        )
        data = await self._send(
            "POST",
            "/simulation-jobs",
            json=body,
            unsent_only=True,
            idempotency_key=idempotency_key or idempotency.new_key(),
        )
        return self._parsed(SimulationJobDetail.from_json, data)

    async def get_simulate_status(self, job_id: str) -> SimulationJobDetail:
        """The job's current detail, with its streams once they exist."""
        data = await self._send("GET", f"/simulation-jobs/{_segment(job_id)}")
        return self._parsed(SimulationJobDetail.from_json, data)

    async def list_simulations(
        self,
        status: str | JobStatus | None = None,
        active: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SimulationJobsList:
        """One page of your jobs, newest first (``limit`` 1..100, ``offset`` >= 0)."""
        params: dict[str, Any] = dict(_check_page(limit, offset))
        if status is not None:
            params["status"] = str(status.value if isinstance(status, JobStatus) else status)
        if active is not None:
            params["active"] = "true" if active else "false"
        data = await self._send("GET", "/simulation-jobs", params=params)
        return self._parsed(SimulationJobsList.from_json, data)

    async def cancel_simulation(self, job_id: str) -> SimulationJobInfo:
        """Cancel a job that has not finished; 400 (InvalidRequestError) when it is too late."""
        data = await self._send("DELETE", f"/simulation-jobs/{_segment(job_id)}")
        if isinstance(data, Mapping) and "job_id" not in data:
            data = {**data, "job_id": job_id, "status": data.get("status", "cancelled")}
        return self._parsed(SimulationJobInfo.from_json, data)

    async def get_recording(self, stream_id: str) -> Recording:
        """Fresh presigned URLs of a stream's artifacts (they expire; ask again later)."""
        data = await self._send("GET", f"/recordings/{_segment(stream_id)}")
        return self._parsed(Recording.from_json, data)

    async def list_stream_recordings(
        self, limit: int | None = None, offset: int | None = None
    ) -> StreamRecordingsList:
        """One page of your stream recordings, newest first."""
        data = await self._send("GET", "/stream-recordings", params=_check_page(limit, offset))
        return self._parsed(StreamRecordingsList.from_json, data)

    # ------------------------------------------------------------------ conveniences

    async def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        on_update: UpdateCallback | None = None,
        *,
        raise_on_failure: bool = False,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
    ) -> SimulationJobDetail:
        """Poll until the job ends (or ``timeout`` seconds pass); returns the last detail.

        ``on_update`` (sync or async) sees every change. With ``raise_on_failure``
        a failed, cancelled or timed-out wait raises JobFailedError,
        JobCancelledError or JobTimeoutError carrying the last detail.
        """
        started = time.monotonic()
        interval = max(0.05, poll_interval)
        last: SimulationJobDetail | None = None
        while True:
            detail = await self.get_simulate_status(job_id)
            if detail != last:
                interval = max(0.05, poll_interval)
                if on_update is not None:
                    await maybe_await(on_update(detail))
            else:
                interval = min(max_poll_interval, interval * 1.5)
            last = detail
            if detail.is_terminal:
                break
            if timeout is not None:
                remaining = timeout - (time.monotonic() - started)
                if remaining <= 0:
                    if raise_on_failure:
                        raise JobTimeoutError(
                            f"job {job_id} is still {detail.status} after {timeout:g} s "
                            "(it goes on running)",
                            detail,
                        )
                    return detail
                await asyncio.sleep(min(interval, remaining))
            else:
                await asyncio.sleep(interval)
        failure = outcome_error(detail) if raise_on_failure else None
        if failure is not None:
            raise failure
        return detail

    async def download(
        self,
        stream_id: str,
        dest_dir: str | os.PathLike[str],
        kinds: Iterable[str] = ARTIFACT_KINDS,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Path]:
        """Stream a recording's artifacts into ``dest_dir``; returns ``{kind: path}``.

        Each file is written to a temporary name and renamed when complete, so a
        reader never sees half a video. An expired URL is replaced by asking for a
        fresh recording. Artifacts the server does not have are skipped, except
        the video. ``progress(kind, bytes_done, bytes_total_or_None)`` may be async.
        """
        wanted = list(kinds)
        for kind in wanted:
            if kind not in ARTIFACT_FILES:
                raise ValueError(f"unknown artifact kind {kind!r}; use some of {ARTIFACT_KINDS}")
        directory = Path(dest_dir)
        directory.mkdir(parents=True, exist_ok=True)
        recording = await self.get_recording(stream_id)
        fetcher = ArtifactFetcher(
            http=self._http(),
            stream_id=stream_id,
            refresh=lambda: self.get_recording(stream_id),
            base_url=await self._endpoint(),
            policy=self._policy,
            timeout=self._download_timeout,
            secrets=self._secrets(),
            attempt_seconds=self._download_seconds,
            max_bytes=self._artifact_cap(),
            max_read_whole_bytes=self._json_cap(),
        )
        paths: dict[str, Path] = {}
        for kind in wanted:
            path, recording = await fetcher.fetch(
                kind, recording, directory / ARTIFACT_FILES[kind], progress
            )
            if path is not None:
                paths[kind] = path
        return paths


def _segment(value: str) -> str:
    """An id as one URL path segment (no slashes or dot-segments smuggled into the path)."""
    text = str(value).strip()
    if not text or text in (".", ".."):
        raise InvalidRequestError(f"not a valid id: {value!r}")
    return quote(text, safe="")


__all__ = ["HOSTED_URL", "Odyssey"]
