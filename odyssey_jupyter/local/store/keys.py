"""The engine's secrets: its API key, the HMAC secret, and stateless bearer tokens.

Tokens and artifact signatures are HMACs under a secret kept in the data directory,
so they stay valid across engine restarts (a client holding a token keeps working).
Nothing here ever logs or returns a key in a message.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

TOKEN_TTL_SECONDS = 3600
TOKEN_PREFIX = "olt_"


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), atomically.

    The scratch file is ``mkstemp``'s: a fresh name created exclusively, so writers in
    two threads never share one and a link planted beside ``path`` is never followed.
    """
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(scratch, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise


def _read_or_create(path: Path, make: bytes) -> bytes:
    try:
        data = path.read_bytes().strip()
        if data:
            return data
    except FileNotFoundError:
        pass
    write_private(path, make)
    return make


def load_secret(data_dir: Path) -> bytes:
    """The engine's signing secret, created on first start."""
    return _read_or_create(data_dir / "secret.key", secrets.token_hex(32).encode())


def read_secret(data_dir: Path) -> bytes | None:
    """The signing secret if the data directory has one (never created here), else ``None``."""
    try:
        return (data_dir / "secret.key").read_bytes().strip() or None
    except OSError:
        return None


CHALLENGE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""A nonce ``GET /health?challenge=`` accepts: URL-safe, long enough to never repeat."""


def identity_proof(secret: bytes, nonce: str, pid: int) -> str:
    """What only the engine ``pid`` holding ``secret`` can answer to ``nonce``.

    A launcher reads the secret from the private data directory and checks the
    answer before it sends the key anywhere: a process that took over a dead
    engine's port cannot compute it. The pid is part of the message, so the answer
    also says which process holds the port without the engine disclosing it.
    """
    message = f"identity\0{nonce}\0{pid}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def load_generated_api_key(data_dir: Path) -> str:
    """A key generated once per data directory, so job history keeps its owner."""
    fresh = f"ody_local_{secrets.token_urlsafe(24)}".encode()
    return _read_or_create(data_dir / "api_key", fresh).decode()


def as_bytes(text: str) -> bytes:
    """Any ``str`` as bytes, lone surrogates included (from JSON), for comparing secrets.

    ``hmac.compare_digest`` refuses non-ASCII ``str`` with a ``TypeError``, and a
    lone surrogate cannot be UTF-8 encoded; either would be a 500 on hostile input.
    """
    return text.encode("utf-8", "surrogatepass")


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two texts, whatever characters ``given`` holds."""
    return hmac.compare_digest(as_bytes(given), as_bytes(expected))


def owner_of(api_key: str) -> str:
    """A stable, non-reversible owner id for jobs submitted with this key."""
    return hashlib.sha256(b"odyssey-local-owner\0" + as_bytes(api_key)).hexdigest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks bearer tokens: ``olt_<payload>.<hmac>`` with owner and expiry."""

    def __init__(self, secret: bytes, owner: str, *, ttl: int = TOKEN_TTL_SECONDS) -> None:
        self._secret = secret
        self._owner = owner
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, b"token\0" + payload.encode(), hashlib.sha256).digest()
        return _b64(digest)

    def issue(self) -> str:
        body = {"o": self._owner, "e": int(time.time()) + self.ttl, "n": secrets.token_hex(4)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{TOKEN_PREFIX}{payload}.{self._mac(payload)}"

    def verify(self, token: str) -> str | None:
        """The owner id of a valid, unexpired token of this engine's key, else ``None``."""
        if not token.startswith(TOKEN_PREFIX) or "." not in token:
            return None
        payload, _, mac = token[len(TOKEN_PREFIX) :].partition(".")
        if not payload.isascii() or not same_secret(mac, self._mac(payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            owner, expires = str(body["o"]), int(body["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time() or owner != self._owner:
            return None
        return owner


class UrlSigner:
    """Signs artifact paths with an expiry, like presigned object-store URLs."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        self._secret = secret
        self.ttl = ttl

    def signature(self, path: str, expires: int) -> str:
        message = f"artifact\0{path}\0{expires}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def query(self, path: str, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.ttl)
        return f"expires={expires}&signature={self.signature(path, expires)}"

    def check(self, path: str, expires: str | None, signature: str | None) -> str | None:
        """``None`` when the URL is valid, else why it is not (for the 403 detail)."""
        if not expires or not signature:
            return "the URL is not signed"
        try:
            when = int(expires)
        except ValueError:
            return "the URL's expiry is malformed"
        if not same_secret(signature, self.signature(path, when)):
            return "the URL's signature does not match"
        if when < time.time():
            return "the URL has expired; ask GET /recordings/{stream_id} for a fresh one"
        return None
