"""A sweep spec file: ``{"template": ..., "params": ..., "name"?, ...}``, checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.suggest import did_you_mean

SPEC_KEYS = {"template", "params", "name", "portrait", "max_in_flight", "pack", "download"}
MAX_SPEC_BYTES = 64 * 1024 * 1024


def read_spec(path: Path) -> dict[str, Any]:
    """The spec file, checked: a JSON object with known keys, a template and params."""
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise OdysseyError(f"{path} is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB")
        spec = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OdysseyError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise OdysseyError(f"{path} is not valid JSON: {exc}") from None
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
