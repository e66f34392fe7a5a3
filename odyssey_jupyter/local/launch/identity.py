"""Whether the process answering at a recorded URL is the engine that wrote the record.

``engine.json`` outlives an engine that was killed, and any local user may then
bind its port. Before the launcher sends the key or a script there, it sends a
fresh nonce to ``GET /health?challenge=`` and checks, in constant time, the HMAC
only the engine holding the data directory's secret can compute
(``keys.identity_proof``). Standard library and httpx only: imported inside kernels.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import ssl
from pathlib import Path

import httpx

from odyssey_jupyter.local.launch.record import EngineRecord
from odyssey_jupyter.local.store.keys import identity_proof, read_secret

HEALTH_TIMEOUT = httpx.Timeout(3.0)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying context per process: loading the CA store costs more than the request."""
    return ssl.create_default_context()


def proves_identity(record: EngineRecord, data_dir: Path) -> bool:
    """Whether the engine at ``record.url`` proves it is ``record.pid`` of ``data_dir``."""
    secret = read_secret(data_dir)
    if secret is None:
        return False
    nonce = secrets.token_urlsafe(32)
    try:
        response = httpx.get(
            f"{record.url}/health",
            params={"challenge": nonce},
            timeout=HEALTH_TIMEOUT,
            verify=_tls(),
        )
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    proof = body.get("proof") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(proof, str) or not proof.isascii():
        return False
    return hmac.compare_digest(proof.encode(), identity_proof(secret, nonce, record.pid).encode())
