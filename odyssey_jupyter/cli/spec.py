"""A sweep spec file: ``{"template": ..., "params": ..., "name"?, ...}``, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.suggest import did_you_mean
from odyssey_jupyter.sweeps.spec import load_spec

SPEC_KEYS = {"template", "params", "name", "portrait", "max_in_flight", "pack", "download"}
SPEC_KEYS |= {"output", "storage_options", "max_video_seconds", "keep_local"}


def read_spec(path: Path) -> dict[str, Any]:
    """The spec file, checked: a JSON object with known keys, a template and params."""
    spec = load_spec(path)
    if not isinstance(spec, dict):
        raise OdysseyError(f"{path} must hold a JSON object with 'template' and 'params'")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        named = ", ".join(_with_hint(key) for key in unknown)
        raise OdysseyError(f"{path}: unknown key(s) {named}; known: {sorted(SPEC_KEYS)}")
    missing = [key for key in ("template", "params") if key not in spec]
    if missing:
        raise OdysseyError(f"{path}: missing {', '.join(missing)}")
    return spec


def _with_hint(key: str) -> str:
    hint = did_you_mean(key, SPEC_KEYS, limit=1)
    return f"{key} ({hint})" if hint else key
