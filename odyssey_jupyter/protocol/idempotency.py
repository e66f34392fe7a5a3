"""Safe repeats of a submission: the ``Idempotency-Key`` extension of the protocol.

A ``POST /simulation-jobs`` whose answer is lost (a reset, a read timeout, a
truncated body, a 5xx from a proxy) may or may not have created a job. Sending it
again could make two jobs; not sending it could lose one. The client therefore
sends a fresh key with every submission and repeats it on each retry. A server
that keeps keys says so with ``Idempotency-Keys: honoured`` on its answers (the
embedded engine does); to such a server the client repeats a submission after an
ambiguous failure, and the server answers a repeat with the job the key already
made. To any other server (the hosted API makes no such promise in its public
documentation) a submission is repeated only when it provably never left.
"""

from __future__ import annotations

import uuid

KEY_HEADER = "Idempotency-Key"
"""Request header carrying the submission's key (the name of the IETF draft)."""

SUPPORT_HEADER = "Idempotency-Keys"
"""Response header by which a server declares that it keeps submission keys."""

SUPPORT_VALUE = "honoured"

MAX_KEY_LENGTH = 255


def new_key() -> str:
    """A key for one submission, reused by all of its retries."""
    return str(uuid.uuid4())


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be used as an idempotency key, or None when it can."""
    if not key.strip():
        return f"the {KEY_HEADER} header is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"the {KEY_HEADER} header is {len(key)} characters long (at most {MAX_KEY_LENGTH})"
    if not all(33 <= ord(ch) <= 126 for ch in key):
        return f"the {KEY_HEADER} header may hold only visible ASCII characters, no spaces"
    return None
