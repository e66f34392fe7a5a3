"""The bearer token as an ``httpx.Auth`` flow, over real HTTP on 127.0.0.1.

``BearerAuth`` is an ordinary httpx auth flow: plain ``httpx.AsyncClient`` drives
it here, and the client drives it by hand (``bounded.send_authorized``) so that
the refused answer it passes over is never read. Each test attacks one promise:
one refresh per call after a 401, the token only for its own origin, and a
hostile 401 body that cannot fill memory.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable

import httpx
import pytest
from support.scripted_server import TOKEN, Answer, ScriptedServer, zeros

from odyssey_jupyter.client.auth import BearerAuth, TokenCache
from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import AuthenticationError
from odyssey_jupyter.protocol.types import TokenGrant

MB = 1024 * 1024
DETAIL = {"job_id": "j1", "status": "completed", "streams": []}


def numbered_tokens() -> tuple[TokenCache, Callable[[], Awaitable[TokenGrant]]]:
    """A cache and an exchange handing out tok_1, tok_2, ... (one per exchange)."""
    tokens = TokenCache()
    count = 0

    async def exchange() -> TokenGrant:
        nonlocal count
        count += 1
        return TokenGrant(access_token=f"tok_{count}", expires_in=3600)

    return tokens, exchange


def sent_tokens(server: ScriptedServer, path: str) -> list[str | None]:
    return [r.headers.get("authorization") for r in server.requests(path)]


def get(auth: httpx.Auth, url: str) -> httpx.Response:
    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth, timeout=5) as http:
            return await http.get(url)

    return asyncio.run(main())


def answers(*queue: Answer) -> Callable[[object], Answer]:
    pending = list(queue)
    return lambda request: pending.pop(0) if len(pending) > 1 else pending[0]


def test_a_401_is_answered_with_one_fresh_token(api: ScriptedServer) -> None:
    api.route("GET", "/x", answers(Answer(status=401), Answer.json({"ok": True})))
    tokens, exchange = numbered_tokens()
    response = get(BearerAuth(tokens, exchange, api.url), api.url + "/x")
    assert response.status_code == 200
    assert sent_tokens(api, "/x") == ["Bearer tok_1", "Bearer tok_2"]
    assert tokens.exchanges == 2


def test_the_refresh_happens_once_per_call(api: ScriptedServer) -> None:
    api.route("GET", "/x", Answer(status=401))
    tokens, exchange = numbered_tokens()
    auth = BearerAuth(tokens, exchange, api.url)
    assert get(auth, api.url + "/x").status_code == 401
    assert sent_tokens(api, "/x") == ["Bearer tok_1", "Bearer tok_2"]
    assert get(auth, api.url + "/x").status_code == 401  # the same call object: no more
    assert sent_tokens(api, "/x")[2:] == ["Bearer tok_2"]


def test_a_valid_token_is_reused_without_an_exchange(api: ScriptedServer) -> None:
    api.route("GET", "/x", Answer.json({"ok": True}))
    tokens, exchange = numbered_tokens()
    for _ in range(3):
        assert get(BearerAuth(tokens, exchange, api.url), api.url + "/x").status_code == 200
    assert sent_tokens(api, "/x") == ["Bearer tok_1"] * 3 and tokens.exchanges == 1


def test_the_token_never_goes_to_another_origin(
    api: ScriptedServer, elsewhere: ScriptedServer
) -> None:
    elsewhere.route("GET", "/x", Answer(status=401))
    tokens, exchange = numbered_tokens()
    response = get(BearerAuth(tokens, exchange, api.url), elsewhere.url + "/x")
    assert response.status_code == 401
    assert sent_tokens(elsewhere, "/x") == [None]  # no token, and no refresh for it
    assert tokens.exchanges == 0


def test_a_synchronous_client_cannot_drive_it(api: ScriptedServer) -> None:
    tokens, exchange = numbered_tokens()
    with (
        httpx.Client(auth=BearerAuth(tokens, exchange, api.url)) as http,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        http.get(api.url + "/x")
    assert api.requests("/x") == []


def run(api: ScriptedServer, job_id: str = "j1") -> object:
    async def main() -> object:
        async with Odyssey("ody_auth_flow_test_key_0123", api.url, max_retries=0) as client:
            return await client.get_simulate_status(job_id)

    return asyncio.run(main())


def test_the_client_refreshes_after_a_401_and_succeeds(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", answers(Answer(status=401), Answer.json(DETAIL)))
    detail = run(api)
    assert getattr(detail, "job_id", None) == "j1"
    assert len(api.requests("/auth/token")) == 2
    assert sent_tokens(api, "/simulation-jobs/j1") == [f"Bearer {TOKEN}"] * 2


def test_a_second_401_is_an_authentication_error(api: ScriptedServer) -> None:
    api.route("GET", "/simulation-jobs/j1", Answer.json({"detail": "token revoked"}, status=401))
    with pytest.raises(AuthenticationError, match="token revoked"):
        run(api)
    assert len(api.requests("/simulation-jobs/j1")) == 2
    assert len(api.requests("/auth/token")) == 2


def test_a_huge_401_body_is_never_read(api: ScriptedServer) -> None:
    """httpx reads an answer its auth flow passes over whole; the client closes it unread."""
    huge = Answer(status=401, body=zeros(256 * MB), length=None)
    api.route("GET", "/simulation-jobs/j1", answers(huge, Answer.json(DETAIL)))
    tracemalloc.start()
    try:
        detail = run(api)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert getattr(detail, "job_id", None) == "j1"
    assert peak < 16 * MB
    assert api.sent_bytes < 64 * MB  # the server stopped sending long before the end
