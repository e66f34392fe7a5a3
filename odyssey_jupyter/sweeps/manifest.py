"""A sweep's dataset table of contents: one Parquet row per recording.

``OUTPUT/NAME/manifest.parquet`` (``manifest-IIIII-of-NNNNN.parquet`` for shard
I of N, the naming data tools read as one table) has the columns
``MANIFEST_COLUMNS`` plus one column per param, named as the param. An item with
no recording (pending, failed, cancelled) has one row whose ``video`` is null,
so the table also says what is missing and why. The file is rebuilt from the
ledger and written whole (one PUT, or a rename), so a reader sees the old table
or the new one, never half of one.

pyarrow is needed only here: without it, ``output=`` is refused with the extra
to install (``odyssey_jupyter[parquet]``) and plain local sweeps work as before.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.storage import StoreError

MANIFEST_COLUMNS = (
    "item",
    "job_id",
    "stream_id",
    "status",
    "error",
    "video",
    "thumbnail",
    "duration_seconds",
    "width",
    "height",
    "prompts",
)
"""The manifest's own columns; a param may not take one of these names."""
EXTRA = "parquet"
"""The extra that installs pyarrow."""


def require_pyarrow() -> None:
    """Refuse ``output=`` early, naming the extra, when pyarrow is not installed."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise StoreError(
            f"output= writes a Parquet manifest, which needs pyarrow: "
            f"pip install 'odyssey_jupyter[{EXTRA}]'"
        ) from None


def manifest_key(shard: tuple[int, int] | None) -> str:
    """The manifest's file name: whole, or shard ``I`` of ``N``."""
    if shard is None:
        return "manifest.parquet"
    index, count = shard
    return f"manifest-{index:05d}-of-{count:05d}.parquet"


def check_param_names(names: Iterable[str]) -> None:
    """A param named like a manifest column would be lost in the table: refused up front."""
    clashes = sorted(set(names) & set(MANIFEST_COLUMNS))
    if clashes:
        raise ScriptError(
            f"the param(s) {', '.join(clashes)} have the name of a manifest column",
            hint=f"rename them; the manifest's own columns are {', '.join(MANIFEST_COLUMNS)}",
        )


def prompts_of(script: Sequence[Mapping[str, Any]]) -> list[str]:
    """The prompts of a script, in order (start, then each interact)."""
    found = []
    for entry in script:
        for action in ("start", "interact"):
            body = entry.get(action)
            if isinstance(body, Mapping) and isinstance(body.get("prompt"), str):
                found.append(body["prompt"])
    return found


UriOf = Callable[[Mapping[str, Any], str], "str | None"]
"""Gives the URI of one kind of artifact (``video``, ``thumbnail``) of a file entry."""


def rows_for(item: SweepItem, uri_of: UriOf) -> list[dict[str, Any]]:
    """The manifest rows of one sweep item."""
    base = {
        "item": item.index,
        "job_id": item.job_id,
        "status": item.state.value,
        "error": item.error,
        "prompts": prompts_of(item.script),
        "params": item.params,
    }
    rows = []
    for entry in item.files:
        rows.append(
            {
                **base,
                "stream_id": entry.get("stream_id"),
                "video": uri_of(entry, "video"),
                "thumbnail": uri_of(entry, "thumbnail"),
                "duration_seconds": entry.get("duration_seconds"),
                "width": entry.get("width"),
                "height": entry.get("height"),
            }
        )
    if not rows:
        rows.append({**base, "stream_id": None, "video": None, "thumbnail": None})
    return rows


def table_for(items: Sequence[SweepItem], uri_of: UriOf) -> bytes:
    """The manifest of ``items`` as Parquet bytes, params as columns."""
    rows = [row for item in items for row in rows_for(item, uri_of)]
    names: list[str] = []
    for item in items:
        names.extend(name for name in item.params if name not in names)
    return table_bytes(rows, names)


def _param_array(values: list[Any]) -> Any:
    """A param column: its own type when pyarrow can hold it, else each value as JSON text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.array(
            [None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in values],
            type=pa.string(),
        )


def table_bytes(rows: Sequence[Mapping[str, Any]], param_names: Sequence[str]) -> bytes:
    """The manifest as Parquet bytes (small: one row per recording)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def column(name: str) -> list[Any]:
        return [row.get(name) for row in rows]

    types = {
        "item": pa.int64(),
        "duration_seconds": pa.float64(),
        "width": pa.int32(),
        "height": pa.int32(),
        "prompts": pa.list_(pa.string()),
    }
    arrays: dict[str, Any] = {"item": pa.array(column("item"), type=types["item"])}
    for name in param_names:
        arrays[name] = _param_array([row["params"].get(name) for row in rows])
    for name in MANIFEST_COLUMNS[1:]:
        arrays[name] = pa.array(column(name), type=types.get(name, pa.string()))
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays), buffer)
    return buffer.getvalue()
