"""One API call: its token, its attempts and their retries, and what the answers declared.

* retries with backoff and jitter for transient failures, honouring
  ``Retry-After``, under one overall deadline; a submission is repeated only when
  it provably never reached the server (or the server declared that it keeps
  idempotency keys), so it can never create two jobs;
* the token exchange is cached and shared (:mod:`odyssey_jupyter.client.auth`); it
  never follows a redirect, and no call follows one to another origin;
* every call ends by one overall deadline, body included, and reads at most
  ``max_json_mb`` (:mod:`odyssey_jupyter.client.bounded`);
* an answer's text is scrubbed of the key and the token before it is parsed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from odyssey_jupyter.client.auth import BearerAuth, TokenCache
from odyssey_jupyter.client.bounded import read_capped, send_authorized, settled, within
from odyssey_jupyter.client.connections import Connections
from odyssey_jupyter.client.endpoint import Endpoint
from odyssey_jupyter.client.http_errors import (
    error_from_response,
    retry_after_of,
    token_exchange_error,
    transport_error,
)
from odyssey_jupyter.client.retry import Deadline, RetryPolicy, decide
from odyssey_jupyter.errors import (
    AuthenticationError,
    InvalidResponseError,
    OdysseyError,
    RateLimitError,
    ServerError,
)
from odyssey_jupyter.protocol import declarations, idempotency
from odyssey_jupyter.protocol.types import TokenGrant
from odyssey_jupyter.text.redaction import scrub, scrub_value

logger = logging.getLogger("odyssey_jupyter.client")

T = TypeVar("T")


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


class Caller:
    """Makes a client's API calls, each under its own deadline; keeps what servers declared."""

    def __init__(
        self,
        endpoint: Endpoint,
        connections: Connections,
        tokens: TokenCache,
        policy: RetryPolicy,
        *,
        call_seconds: float,
        json_cap: Callable[[], int],
    ) -> None:
        self._endpoint = endpoint
        self._connections = connections
        self._tokens = tokens
        self._policy = policy
        self._call_seconds = call_seconds
        """No call outlives this, whatever the server trickles (retries included)."""
        self._json_cap = json_cap
        self._keyed_servers: set[str] = set()
        """Base URLs whose answers declared that they honour idempotency keys."""
        self._declared: dict[str, tuple[int | None, int | None]] = {}
        """Base URL -> (max active jobs, render slots) as its answers declared them."""

    # ------------------------------------------------------------------ declarations

    def honours_keys(self, base: str | None) -> bool:
        """Whether the server at ``base`` has declared that it keeps submission keys."""
        return base is not None and base in self._keyed_servers

    def declared_limits(self, base: str | None) -> tuple[int | None, int | None]:
        """(max active jobs, render slots) the server at ``base`` declared; None where not."""
        if base is None:
            return (None, None)
        return self._declared.get(base, (None, None))

    def _note_answer(self, base: str, response: httpx.Response) -> None:
        """What an answer declared about its server: idempotency keys, limits (an answer
        without them keeps the old ones)."""
        headers = response.headers
        if headers.get(idempotency.SUPPORT_HEADER) == idempotency.SUPPORT_VALUE:
            self._keyed_servers.add(base)
        old_active, old_slots = self._declared.get(base, (None, None))
        active = declarations.parse_count(headers.get(declarations.MAX_ACTIVE_HEADER))
        slots = declarations.parse_count(headers.get(declarations.RENDER_SLOTS_HEADER))
        self._declared[base] = (active or old_active, slots or old_slots)

    # ------------------------------------------------------------------ the token

    async def _exchange(self, seconds: float | None = None) -> TokenGrant:
        data = await self.send(
            "POST",
            "/auth/token",
            json={"api_key": self._endpoint.key},
            auth=False,
            seconds=seconds,
        )
        if not isinstance(data, Mapping) or "access_token" not in data:
            raise AuthenticationError("the token exchange returned no access_token")
        return self.parsed(TokenGrant.from_json, data, scrubbed=False)

    async def check_credentials(self, timeout: float | None = None) -> str:
        """Exchange the key for a token now; the base URL that accepted it."""
        base = await self._endpoint.base()
        seconds = self._call_seconds if timeout is None else timeout
        call = Deadline(seconds)
        await self._tokens.refresh(self._tokens.current(), lambda: self._exchange(call.remaining()))
        return self._endpoint.url or base

    def _bearer(self, base: str, call: Deadline) -> BearerAuth:
        """The token for one call to ``base``; its exchanges end by the call's deadline."""
        return BearerAuth(self._tokens, lambda: self._exchange(call.remaining()), base)

    # ------------------------------------------------------------------ calls

    async def send(
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
        base = await self._endpoint.base()
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
                base = await self._endpoint.relaunch(base)
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
            secrets = self._endpoint.secrets()
            error = transport_error(exc, method=method, path=path, url=base, secrets=secrets)
            gone = self._endpoint.is_local and isinstance(exc, httpx.ConnectError)
            return _Failed(exc, error, engine_gone=gone)
        self._note_answer(base, response)
        if response.is_success:
            return _json(response, method, path)
        mapping = error_from_response if request.auth else token_exchange_error
        failed = mapping(response, method=method, path=path, secrets=self._endpoint.secrets())
        return _Failed(response.status_code, failed, retry_after_of(failed, response))

    async def _request_once(
        self, request: _Request, base: str, bearer: BearerAuth | None, seconds: float
    ) -> httpx.Response:
        """One request, its token, redirects and the whole body included, within ``seconds``.

        Redirects stay within the API's origin (none at all without ``bearer``: the
        token exchange); the body is read under the JSON size cap.
        """
        http = self._connections.current()
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

    def parsed(self, parse: Callable[[Any], T], data: Any, *, scrubbed: bool = True) -> T:
        """``parse(data)`` with every text of the answer scrubbed of secrets first, so
        nothing stored or shown from it (a job's ``error_message``, a list row) can
        hold the key or the token; a complaint about a value is scrubbed too (a
        hostile server may put the token into the very value it names). Only the
        token grant is parsed as sent (``scrubbed=False``): it holds the token itself.
        """
        secrets = self._endpoint.secrets()
        try:
            return parse(scrub_value(data, secrets) if scrubbed else data)
        except InvalidResponseError as exc:
            raise InvalidResponseError(scrub(str(exc), secrets), field=exc.field) from None


def _json(response: httpx.Response, method: str, path: str) -> Any:
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
