"""A sweep's recordings copied to its output store, and its manifest kept up to date.

Layout under ``OUTPUT/NAME/`` (``NAME`` is the sweep's name, shared by its shards)::

    videos/IIIIII-S.mp4        item IIIIII (six digits), its S-th stream (0 for most)
    thumbnails/IIIIII-S.jpg
    events/IIIIII-S.jsonl      the prompt events (chapters)
    manifest.parquet           or manifest-IIIII-of-NNNNN.parquet for a sharded run

Keys come from the item's index and its stream's place only, never from a server
string. Completed items are synced by one task on the runtime's loop, up to
``PARALLEL_ITEMS`` at once (the store's blocking calls run in worker threads).
An item completed in this process is copied from its local copy. On opening (or
resuming) a sweep, the store is listed once and every completed item checked
against it: an object whose key is there with the expected size is kept, anything
else is copied again (downloaded again by stream id when the local copy is gone).
The ledger records each stored key and size, so neither a recording nor an object
is made twice. The manifest is rewritten after each batch, at most once per
``MANIFEST_EVERY``. A store that fails pauses the sweep with the reason;
``resume()`` syncs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from odyssey_jupyter.protocol.artifacts import ARTIFACT_FILES
from odyssey_jupyter.session import recordings
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.manifest import manifest_key, table_for
from odyssey_jupyter.sweeps.states import ItemState
from odyssey_jupyter.sweeps.storage import Store, StoreError

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.sweeps.settings import SweepSettings

log = logging.getLogger(__name__)

STORED_KINDS = ("video", "thumbnail", "events")
PARALLEL_ITEMS = 4
"""Items copied to the store at once (each in a worker thread)."""
MANIFEST_EVERY = 1.0
"""Seconds between two manifest rewrites while items finish (the last one is always written)."""
FOLDERS = {"video": "videos", "thumbnail": "thumbnails", "events": "events"}


class OutputOwner(Protocol):
    """What an output needs of the sweep whose recordings it copies (its scheduler)."""

    name: str

    def snapshot(self) -> list[SweepItem]:
        """A copy of every item."""
        ...

    def store_files(self, index: int, files: list[dict[str, Any]]) -> None:
        """Keep an item's files (now with where the store holds them)."""
        ...

    def pause(self, message: str | None) -> None:
        """Send nothing more, saying why."""
        ...

    def poke(self) -> None:
        """Let the sweep look again (a sync has ended)."""
        ...

    async def get_client(self) -> Odyssey:
        """The client that fetches a recording again."""
        ...


def object_key(dataset: str, kind: str, item: int, stream: int) -> str:
    """Where one artifact of one item's stream goes, under the output."""
    suffix = Path(ARTIFACT_FILES[kind]).suffix
    return f"{dataset}/{FOLDERS[kind]}/{item:06d}-{stream}{suffix}"


@dataclass
class SweepOutput:
    """The store, the dataset's name, the shard, and the sync task of one sweep."""

    store: Store
    dataset: str
    shard: tuple[int, int] | None = None
    keep_local: bool = True
    uploads: int = 0
    """Objects copied to the store by this process (a resume that finds them copies none)."""
    error: str | None = None
    _synced: set[int] = field(default_factory=set, repr=False)
    """Items whose objects this process has checked or copied: later passes skip them."""
    _verify: set[int] = field(default_factory=set, repr=False)
    """Items completed before this process looked: the store may hold their objects already."""
    _listing: dict[str, int] | None = field(default=None, repr=False)
    """Key -> size of what the store held when this process first looked (for ``_verify``)."""
    _manifest_at: float = field(default=0.0, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _again: bool = field(default=False, repr=False)

    @property
    def manifest_uri(self) -> str:
        return self.store.uri(f"{self.dataset}/{manifest_key(self.shard)}")

    def stored_uri(self, entry: Mapping[str, Any], kind: str) -> str | None:
        """The URI of one artifact of a file entry in this store, if it is there."""
        stored = (entry.get("stored") or {}).get(kind)
        return self.store.uri(stored["key"]) if stored else None

    @property
    def busy(self) -> bool:
        """A sync is under way (the sweep is not over until it has ended)."""
        return self._task is not None and not self._task.done()

    def schedule(self, sweep: OutputOwner, *, recheck: bool = False) -> None:
        """(Loop thread) sync what finished; an ongoing sync goes round once more.

        ``recheck`` (a reopened or resumed sweep) checks every item against the store
        again, since the store may have changed while nothing watched it.
        """
        self.error = None
        if recheck:
            self._synced.clear()
            completed = (item for item in sweep.snapshot() if item.state == ItemState.COMPLETED)
            self._verify = {item.index for item in completed}
            self._listing = None
        if self.busy:
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(
            self._sync(sweep), name=f"odyssey-sweep-output-{sweep.name}"
        )

    async def finish(self, sweep: OutputOwner) -> None:
        """Wait for the sync, then write the final manifest."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self.error is None:
            try:
                await self._write_manifest(sweep, final=True)
            except Exception as exc:
                self._failed(sweep, exc)

    async def _sync(self, sweep: OutputOwner) -> None:
        try:
            while True:
                self._again = False
                todo = [
                    item
                    for item in sweep.snapshot()
                    if item.state == ItemState.COMPLETED
                    and item.job_id is not None
                    and item.index not in self._synced
                ]
                if self._verify and self._listing is None:  # one listing, not a HEAD each
                    self._listing = await asyncio.to_thread(self.store.sizes, self.dataset)
                slots = asyncio.Semaphore(PARALLEL_ITEMS)
                jobs = (self._store_one(sweep, item, slots) for item in todo)
                outcomes = await asyncio.gather(*jobs, return_exceptions=True)
                for outcome in outcomes:  # every copy has ended: then the first failure
                    if isinstance(outcome, BaseException):
                        raise outcome
                await self._write_manifest(sweep)
                if not self._again:
                    break
        except Exception as exc:
            self._failed(sweep, exc)
        finally:
            sweep.poke()

    def _failed(self, sweep: OutputOwner, exc: BaseException) -> None:
        error = exc if isinstance(exc, StoreError) else self.store.error("write the dataset", exc)
        log.warning("sweep %s: %s", sweep.name, error)
        self.error = str(error)
        sweep.pause(f"{error}; the sweep is paused: resume() continues (nothing is lost)")

    async def _store_one(
        self, sweep: OutputOwner, item: SweepItem, slots: asyncio.Semaphore
    ) -> None:
        async with slots:
            await self._store_item(sweep, item)
            self._synced.add(item.index)
            self._verify.discard(item.index)

    async def _write_manifest(self, sweep: OutputOwner, *, final: bool = False) -> None:
        """Rewrite the manifest whole; items finishing fast share one rewrite per
        ``MANIFEST_EVERY`` (the wait is spent collecting them), the final one waits not."""
        wait = self._manifest_at + MANIFEST_EVERY - time.monotonic()
        if not final and wait > 0:
            await asyncio.sleep(wait)
            if self._again:  # more finished meanwhile: the next pass writes them all
                return
        self._manifest_at = time.monotonic()
        data = table_for(sweep.snapshot(), self.stored_uri)
        key = f"{self.dataset}/{manifest_key(self.shard)}"
        await asyncio.to_thread(self.store.put_bytes, data, key)

    async def _store_item(self, sweep: OutputOwner, item: SweepItem) -> None:
        files = [dict(entry) for entry in item.files]
        changed = False
        for position, entry in enumerate(files):
            for kind in STORED_KINDS:
                changed |= await self._store_kind(sweep, item, position, entry, kind)
            if "width" not in entry and entry.get("video"):
                info = read_mp4_info(Path(entry["video"]))
                entry["width"], entry["height"] = info.width, info.height
                changed = True
        if not self.keep_local:
            changed |= _drop_local(files)
        if changed:
            sweep.store_files(item.index, files)

    async def _store_kind(
        self, sweep: OutputOwner, item: SweepItem, position: int, entry: dict[str, Any], kind: str
    ) -> bool:
        """Make sure one artifact is in the store; True when the entry changed."""
        key = object_key(self.dataset, kind, item.index, position)
        stored: dict[str, Any] = dict(entry.get("stored") or {})
        known = stored.get(kind)
        found = None
        if item.index in self._verify and self._listing is not None:
            found = self._listing.get(key)  # a new item's objects cannot be there yet
        if known and known.get("key") == key and found == known.get("size"):
            return False
        local = await self._local_copy(sweep, item, entry, kind)
        if local is None:
            return False
        size = local.stat().st_size
        if found != size:
            size = await asyncio.to_thread(self.store.put_file, local, key)
            self.uploads += 1
        stored[kind] = {"key": key, "size": size, "uri": self.store.uri(key)}
        entry["stored"] = stored
        return True

    async def _local_copy(
        self, sweep: OutputOwner, item: SweepItem, entry: dict[str, Any], kind: str
    ) -> Path | None:
        """The local file of one artifact, downloaded again by stream id when it is gone."""
        path = entry.get(kind)
        if isinstance(path, str) and Path(path).is_file():
            return Path(path)
        stream_id = entry.get("stream_id")
        if kind != "video" or not stream_id or item.job_id is None:
            return None
        client = await sweep.get_client()
        fetched = await recordings.fetch(client, item.job_id, str(stream_id), STORED_KINDS)
        for name, got in fetched.items():
            if name in STORED_KINDS:
                entry[name] = str(got)
        return fetched.get("video")


def _drop_local(files: list[dict[str, Any]]) -> bool:
    """With ``keep_local=False``: delete local copies that the store holds whole (and the
    preview, which the store does not take), once the video is there."""
    changed = False
    for entry in files:
        stored = entry.get("stored") or {}
        if "video" not in stored:
            continue
        for kind in (*STORED_KINDS, "preview"):
            path = entry.get(kind)
            if (kind in stored or kind == "preview") and isinstance(path, str):
                with contextlib.suppress(FileNotFoundError):
                    Path(path).unlink()
                entry.pop(kind)
                changed = True
    return changed


def open_output(
    output: str,
    storage_options: dict[str, Any] | None,
    dataset: str,
    *,
    shard: tuple[int, int] | None = None,
    keep_local: bool = True,
) -> SweepOutput:
    """The output of a sweep, checked: pyarrow is there and the store takes a write."""
    from odyssey_jupyter.sweeps.manifest import require_pyarrow

    require_pyarrow()
    store = Store.open(output, storage_options)
    store.check_writable(dataset)
    return SweepOutput(store, dataset, shard, keep_local)


def output_of(
    settings: SweepSettings, name: str, storage_options: dict[str, Any] | None
) -> SweepOutput | None:
    """The output a reopened sweep had (from its ledger's checked settings); None if none."""
    if settings.output is None:
        return None
    return open_output(
        settings.output,
        storage_options,
        settings.dataset or name,
        shard=settings.shard,
        keep_local=settings.keep_local,
    )
