"""The settings a client works by: its size caps and the local engine's pace.

The client stands below the sync layer and never reads that layer's configuration.
Whoever makes an ``Odyssey`` may pass where its settings come from (the runtime
passes the session's ``%config`` object); a client made without one asks
:func:`current_settings`, which is what the session layer published here
(:func:`publish`), or else these defaults. The defaults live here, once: the
session's traitlets start from them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from odyssey_jupyter.errors import ConfigurationError

MAX_JSON_MB = 16.0
"""Largest JSON answer read (MB, after decompression): the ``max_json_mb`` default."""
MAX_ARTIFACT_MB = 4096.0
"""Largest video or preview downloaded (MB): the ``max_artifact_mb`` default."""
PACES = ("fast", "realtime")
"""The paces a local engine renders at."""
PACE_VARIABLE = "ODYSSEY_LOCAL_PACE"
"""The environment variable that asks for a pace (the ``local_pace`` default)."""


class ClientSettings(Protocol):
    """What a client reads of its settings, each time it needs them (so changes apply)."""

    @property
    def local_pace(self) -> str | None:
        """The pace to ask of a local engine; ``None``: any running engine will do."""

    def json_cap_bytes(self) -> int:
        """The size cap of JSON answers, error bodies and artifacts read whole."""

    def artifact_cap_bytes(self) -> int:
        """The size cap of videos and previews."""


SettingsSource = Callable[[], ClientSettings]
"""Where a client finds its current settings (called on every use)."""


def megabytes(value: float) -> int:
    """``value`` MB in bytes."""
    return int(value * 1024 * 1024)


def pace_from_environment() -> str | None:
    """The pace ``ODYSSEY_LOCAL_PACE`` asks for; ``None`` when unset.

    :raises ConfigurationError: it names anything but a pace.
    """
    raw = os.environ.get(PACE_VARIABLE, "").strip().lower()
    if raw and raw not in PACES:
        raise ConfigurationError(f"{PACE_VARIABLE} must be fast or realtime, not {raw!r}")
    return raw or None


class DefaultSettings:
    """The settings of a client that no session configured: the defaults, the pace from
    the environment."""

    @property
    def local_pace(self) -> str | None:
        return pace_from_environment()

    def json_cap_bytes(self) -> int:
        return megabytes(MAX_JSON_MB)

    def artifact_cap_bytes(self) -> int:
        return megabytes(MAX_ARTIFACT_MB)


_DEFAULTS = DefaultSettings()
_published: SettingsSource | None = None


def publish(source: SettingsSource) -> None:
    """Make ``source`` what clients made without settings read (the session's config)."""
    global _published
    _published = source


def current_settings() -> ClientSettings:
    """The published settings, else the defaults."""
    source = _published
    return source() if source is not None else _DEFAULTS
