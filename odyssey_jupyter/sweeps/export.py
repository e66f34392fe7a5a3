"""A sweep's recordings as a training set: WebDataset tar shards, or the manifest alone.

``webdataset``: ``DEST/NAME-000000.tar``, ``NAME-000001.tar``, ... each holding up
to ``shard_size`` samples; a sample is ``KEY.mp4`` (the video) and ``KEY.json``
(item, params, prompts, chapters, job and stream ids, duration and size), with
``KEY`` = ``IIIIII-S`` (item index, stream place; no dot, as WebDataset splits
names at the first one). ``parquet``: ``DEST/NAME.parquet``, the manifest.

Videos are read from the local copy when there is one, else streamed from the
sweep's output store. Each shard is built in a temporary local file and copied
to the destination whole (the store's rules: nothing partial under its final
name), so memory stays flat whatever the sizes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from odyssey_jupyter.errors import OdysseyError, ScriptError
from odyssey_jupyter.session.recording import chapters_from_text
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.manifest import prompts_of, require_pyarrow, table_for
from odyssey_jupyter.sweeps.states import ItemState
from odyssey_jupyter.sweeps.storage import Store

FORMATS = ("webdataset", "parquet")
DEFAULT_SHARD_SIZE = 1000


class Sources:
    """Where an item's artifacts can be read: the local copy, else the output store."""

    def __init__(self, store: Store | None) -> None:
        self.store = store

    def uri(self, entry: Mapping[str, Any], kind: str) -> str | None:
        stored = (entry.get("stored") or {}).get(kind)
        if stored and self.store is not None:
            return self.store.uri(stored["key"])
        local = entry.get(kind)
        return Path(local).resolve().as_uri() if isinstance(local, str) and local else None

    @contextlib.contextmanager
    def open(self, entry: Mapping[str, Any], kind: str) -> Iterator[tuple[IO[bytes], int] | None]:
        """The artifact as an open stream and its size, or ``None`` when it is nowhere."""
        local = entry.get(kind)
        if isinstance(local, str) and Path(local).is_file():
            with open(local, "rb") as handle:
                yield handle, os.fstat(handle.fileno()).st_size
            return
        stored = (entry.get("stored") or {}).get(kind)
        if stored and self.store is not None:
            with self.store.open_read(stored["key"]) as handle:
                yield handle, int(stored["size"])
            return
        yield None


def sample_meta(item: SweepItem, entry: Mapping[str, Any], sources: Sources) -> dict[str, Any]:
    """The JSON half of a sample: what a training loop wants beside the video."""
    with sources.open(entry, "events") as found:
        text = found[0].read().decode("utf-8", "replace") if found is not None else ""
    chapters = [asdict(chapter) for chapter in chapters_from_text(text)]
    return {
        "item": item.index,
        "params": item.params,
        "prompts": prompts_of(item.script),
        "chapters": chapters,
        "job_id": item.job_id,
        "stream_id": entry.get("stream_id"),
        "duration_seconds": entry.get("duration_seconds"),
        "width": entry.get("width"),
        "height": entry.get("height"),
    }


def _add(tar: tarfile.TarFile, name: str, handle: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    tar.addfile(info, handle)


def _samples(items: Sequence[SweepItem]) -> Iterator[tuple[SweepItem, int, Mapping[str, Any]]]:
    for item in items:
        if item.state != ItemState.COMPLETED:
            continue
        for position, entry in enumerate(item.files):
            yield item, position, entry


def write_webdataset(
    items: Sequence[SweepItem], name: str, dest: Store, sources: Sources, shard_size: int
) -> list[str]:
    """Write the tar shards; returns their URIs."""
    written: list[str] = []
    samples = list(_samples(items))
    with tempfile.TemporaryDirectory() as scratch:
        for start in range(0, len(samples), shard_size):
            key = f"{name}-{start // shard_size:06d}.tar"
            local = Path(scratch) / key
            with tarfile.open(local, "w", format=tarfile.PAX_FORMAT) as tar:
                for item, position, entry in samples[start : start + shard_size]:
                    sample = f"{item.index:06d}-{position}"
                    with sources.open(entry, "video") as found:
                        if found is None:
                            raise FileNotFoundError(
                                f"item {item.index}: its video is neither here nor in the store"
                            )
                        _add(tar, f"{sample}.mp4", *found)
                    meta = json.dumps(sample_meta(item, entry, sources), ensure_ascii=False)
                    data = meta.encode("utf-8")
                    _add(tar, f"{sample}.json", io.BytesIO(data), len(data))
            dest.put_file(local, key)
            written.append(dest.uri(key))
    return written


def export_items(
    items: Sequence[SweepItem],
    name: str,
    dest: str | os.PathLike[str],
    *,
    source: Store | None,
    format: str = "webdataset",
    shard_size: int = DEFAULT_SHARD_SIZE,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Export a sweep's items to ``dest``; returns the URIs written."""
    if format not in FORMATS:
        raise ScriptError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ScriptError(f"shard_size must be a whole number of 1 or more, not {shard_size!r}")
    target = Store.open(dest, storage_options)
    sources = Sources(source)
    if format == "parquet":
        require_pyarrow()
    try:
        if format == "parquet":
            key = f"{name}.parquet"
            target.put_bytes(table_for(items, sources.uri), key)
            return [target.uri(key)]
        return write_webdataset(items, name, target, sources, shard_size)
    except (OdysseyError, FileNotFoundError):
        raise
    except Exception as exc:  # a refused, read-only or broken destination: one clear line
        raise target.error("write the export", exc) from None
