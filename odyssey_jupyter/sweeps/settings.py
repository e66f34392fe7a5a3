"""A sweep's settings as its ledger keeps them, read back checked.

``Sweep.open`` and the command line continue a sweep from its ledger's settings.
The ledger is a file its user (or anything running as them) can edit, so a value of
the wrong kind becomes one error that names the ledger and the setting before
anything runs, never a ``TypeError`` in the loop thread later. The rules for
``pack`` and ``max_in_flight`` live here; the budget's and the shard's in
:mod:`.budget` and :mod:`.shard`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.sweeps.budget import check_budget
from odyssey_jupyter.sweeps.ledger import LedgerError
from odyssey_jupyter.sweeps.plan import check_name
from odyssey_jupyter.sweeps.shard import check_shard

_SHOWN_CHARS = 200
"""A damaged value is shown in an error up to this many characters."""


def check_whole(setting: str, value: Any) -> int:
    """``value`` as a whole number of 1 or more (``pack``, ``max_in_flight``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScriptError(f"{setting} must be a whole number of 1 or more, not {value!r}")
    return value


@dataclass(frozen=True)
class SweepSettings:
    """What a sweep was started with, so that reopening it continues it as it was."""

    portrait: bool = True
    pack: int = 1
    download: bool = True
    max_in_flight: int | None = None
    max_video_seconds: float | None = None
    output: str | None = None
    """The store's URL (never its credentials); None for a sweep kept on this machine."""
    dataset: str | None = None
    shard: tuple[int, int] | None = None
    keep_local: bool = True


def check_flag(setting: str, value: Any) -> bool:
    """``value`` as true or false, not a value that merely reads as one (``0``, ``"false"``)."""
    if not isinstance(value, bool):
        raise ScriptError(f"{setting} must be true or false, not {value!r}")
    return value


def _url(setting: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ScriptError(f"{setting} must be a URL or a folder, not a {type(value).__name__}")
    if not value.strip():
        raise ScriptError(f"{setting} must be a URL or a folder, not an empty text")
    return value


def _shard(setting: str, value: Any) -> tuple[int, int]:
    pair = value if isinstance(value, list | tuple) and len(value) == 2 else None
    if pair is None or any(isinstance(part, bool) or not isinstance(part, int) for part in pair):
        raise ScriptError(f"{setting} must be a pair of whole numbers [I, N], not {value!r}")
    return check_shard((pair[0], pair[1]))


def _dataset(setting: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ScriptError(f"{setting} must be a name, not a {type(value).__name__}")
    return check_name(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "portrait": check_flag,
    "pack": check_whole,
    "download": check_flag,
    "max_in_flight": check_whole,
    "max_video_seconds": lambda _setting, value: check_budget(value),
    "output": _url,
    "dataset": _dataset,
    "shard": _shard,
    "keep_local": check_flag,
}
"""How each kept setting is checked; a missing or null one takes its default."""


def settings_of(meta: Mapping[str, Any], ledger: Path) -> SweepSettings:
    """The settings in a ledger's ``meta``, each checked; ``LedgerError`` names a bad one."""
    found: dict[str, Any] = {}
    for setting, check in _CHECKS.items():
        value = meta.get(setting)
        if value is None:
            continue
        try:
            found[setting] = check(setting, value)
        except ScriptError as exc:
            reason = str(exc)
            if len(reason) > _SHOWN_CHARS:
                reason = reason[:_SHOWN_CHARS] + "…"
            raise LedgerError(
                f"{ledger} has a damaged setting ({reason}); nothing was sent. "
                "Correct it, or start the sweep again under another name"
            ) from None
    return SweepSettings(**found)


def settings_meta(settings: SweepSettings) -> dict[str, Any]:
    """The settings as the ledger's ``meta`` keeps them (JSON values; unset ones left out)."""
    kept: dict[str, Any] = {}
    for setting in _CHECKS:
        value = getattr(settings, setting)
        if value is not None:
            kept[setting] = list(value) if isinstance(value, tuple) else value
    return kept
