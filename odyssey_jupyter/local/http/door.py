"""The engine's front door: which Host names reach the routes, and which POST bodies count.

A web page the user visits can make the browser send requests to 127.0.0.1. A
"simple" cross-site form post carries a form or text content type and no
preflight, so POSTs must say ``application/json`` (which a page can only send
after a CORS preflight this engine never grants). A DNS-rebinding page reaches the
engine under its own host name, so the ``Host`` header must be a loopback name
or one the engine was configured with.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from odyssey_jupyter.local.launch.options import LOOPBACK_HOSTS

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
JSON_MEDIA_TYPE = "application/json"


def host_name(header: str) -> str | None:
    """The name part of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lowered."""
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    return name or None


def accepted_hosts(bound_host: str, extra: tuple[str, ...]) -> frozenset[str]:
    """The loopback names, the bound address (unless a wildcard) and the configured extras."""
    names = set(LOOPBACK_HOSTS) | {h.strip("[]").lower() for h in extra}
    if bound_host.lower() not in WILDCARD_HOSTS:
        names.add(bound_host.strip("[]").lower())
    return frozenset(names)


def not_json_problem(content_type: str | None) -> str | None:
    """Why a POST body's ``Content-Type`` is refused (the 415 ``detail``), or ``None``."""
    given = (content_type or "").partition(";")[0].strip().lower()
    if given == JSON_MEDIA_TYPE:
        return None
    return (
        f"POST bodies must be sent as Content-Type: {JSON_MEDIA_TYPE} "
        f"(this one was {given[:80] or 'none'!r})"
    )


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class FrontDoor:
    """Refuses foreign ``Host`` names (421) before routing; the routes refuse non-JSON POSTs."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        raw_host = headers.get(b"host", b"").decode("latin-1")
        name = host_name(raw_host)
        if name is None or name not in self.hosts:
            shown = raw_host[:80] if raw_host else "none"
            await _refuse(
                send,
                421,
                f"this engine answers only to {', '.join(sorted(self.hosts))} "
                f"(the Host header was {shown!r}); start it with --allow-host NAME to add one",
            )
            return
        await self.app(scope, receive, send)
