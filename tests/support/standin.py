"""A job's observable state without a client or a loop, for the pure status and final views."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar


class StandIn:
    """What the views read of a ``Job``; ``defaults`` (per subclass) and keywords override it."""

    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **fields: Any) -> None:
        self.job_id: str | None = "job-1"
        self.phase = "watching"
        self.status: Any = None
        self.detail: Any = None
        self.error: BaseException | None = None
        self.reconnecting = False
        self.scripts: Any = [[]]
        self.created = 0.0
        self.local_recordings: Any = None
        self.__dict__.update(copy.deepcopy(self.defaults))  # no list shared between jobs
        self.__dict__.update(fields)

    def add_listener(self, fn: Any) -> Callable[[], None]:
        return lambda: None
