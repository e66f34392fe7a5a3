"""A sweep spec file: ``{"template": ..., "params": ..., "name"?, ...}``, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.sweeps.spec import load_spec
from odyssey_jupyter.text.suggest import did_you_mean

SPEC_SCHEMA: dict[str, tuple[str, str]] = {
    "template": (
        "string or list",
        "timeline text, JSON, or a list of entries whose strings hold ``{placeholders}``; "
        "never run as Python",
    ),
    "params": (
        "list of objects, or object of lists",
        "one item per object, or the product of the lists (a grid)",
    ),
    "name": ("string", "the sweep's name, a plain identifier"),
    "portrait": ("boolean", "704x1280 frames (true, the default) or 1280x704 (false)"),
    "max_in_flight": ("integer", "most jobs queued or running at once"),
    "pack": ("integer", "items sent per job (as ``scripts``), so fewer queue slots are used"),
    "download": ("boolean", "download each finished item's recordings (default true)"),
    "output": ("string", "a folder or fsspec URL the dataset is written to"),
    "storage_options": ("object", "passed to fsspec for ``output``; never kept"),
    "max_video_seconds": ("number", "a budget of generated video; the sweep pauses before it"),
    "keep_local": ("boolean", "keep the local copy once the store holds it (default true)"),
}
"""The keys of a sweep spec file, each with its JSON type and meaning (the reference's source)."""
SPEC_KEYS = set(SPEC_SCHEMA)
REQUIRED_KEYS = ("template", "params")


def read_spec(path: Path) -> dict[str, Any]:
    """The spec file, checked: a JSON object with known keys, a template and params."""
    spec = load_spec(path)
    if not isinstance(spec, dict):
        raise OdysseyError(f"{path} must hold a JSON object with 'template' and 'params'")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        named = ", ".join(_with_hint(key) for key in unknown)
        raise OdysseyError(f"{path}: unknown key(s) {named}; known: {sorted(SPEC_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if key not in spec]
    if missing:
        raise OdysseyError(f"{path}: missing {', '.join(missing)}")
    return spec


def _with_hint(key: str) -> str:
    hint = did_you_mean(key, SPEC_KEYS, limit=1)
    return f"{key} ({hint})" if hint else key
