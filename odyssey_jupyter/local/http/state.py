"""What every route of the engine shares: the store, the dispatcher, the signers, the limits.

Set once by the server on the Starlette application (``app.state.engine``) and read
by the routes and by the request readers in ``inputs``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from odyssey_jupyter.local.http.limits import AuthThrottle, RateLimiter
from odyssey_jupyter.local.jobs.dispatcher import Dispatcher
from odyssey_jupyter.local.launch.options import LOOPBACK_HOSTS
from odyssey_jupyter.local.store.keys import TokenSigner, UrlSigner
from odyssey_jupyter.local.store.store import Store
from odyssey_jupyter.protocol.types import ACTIVE_STATUSES


@dataclass
class EngineState:
    """One engine's shared parts and limits, as ``serve`` was told them."""

    store: Store
    dispatcher: Dispatcher
    tokens: TokenSigner
    urls: UrlSigner
    api_key: str = field(repr=False)
    owner: str
    secret: bytes = field(repr=False)
    """The signing secret: ``/health`` answers identity challenges with it."""
    recordings: Path
    fps: int
    limiter: RateLimiter | None = None
    max_active: int | None = None
    max_active_streams: int | None = None
    max_job_seconds: float = 3600.0
    max_job_streams: int = 100
    body_timeout: float = 60.0
    hosts: frozenset[str] = LOOPBACK_HOSTS
    auth_throttle: AuthThrottle | None = None
    cancellable: frozenset[str] = ACTIVE_STATUSES
    """The statuses a cancel may stop (``--cancellable``); a job in another active one gets 400."""
    admission: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held from the active-job checks to the insert, so racing submissions cannot all pass
    a cap that only one more job fits under (parsing still runs in parallel)."""
