"""``Sweep``: many items, few slots, one ledger; the scheduler runs on the runtime's loop.

The scheduler is one asyncio task per sweep on the ``odyssey-loop`` thread. It
keeps at most ``target`` jobs queued or running, and follows each job through
a ``Job`` handle and so through the shared watcher (one list request per tick
for every watched job, whoever submitted them): a sweep adds no polling loop.
It sleeps until something changes (a job frees its slot, a hold runs out, the
user resumes), so 1,000 queued items cost nothing while they wait.

Limits: ``429 CONCURRENT_LIMIT_REACHED`` halves ``target`` (at most once per
job that ends) and holds submissions until a slot frees; each completed job
adds ``1/target`` back, up to ``limit`` (additive increase, multiplicative
decrease). ``RATE_LIMITED`` holds for its ``Retry-After``. A monthly limit, a
suspended account or a refused key pauses the sweep with a message saying what
to do; ``resume()`` continues and nothing queued is lost.

Lost answers: an item is written ``submitting`` with its key before its job is
sent. To a server that honours idempotency keys such an item is sent again with
the same key (the server answers with the job it already made). To any other
server it becomes ``unknown``, with instructions; it is never sent again unless
the user says so (``resolve``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from odyssey_jupyter.errors import (
    AccountSuspendedError,
    APIError,
    AuthenticationError,
    ConcurrentLimitError,
    MonthlyLimitError,
    OdysseyConnectionError,
    OdysseyError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from odyssey_jupyter.protocol import idempotency
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.session.config import get_config
from odyssey_jupyter.session.jobs import FINAL_PHASES, Job
from odyssey_jupyter.session.recording import LocalRecording
from odyssey_jupyter.session.recordings import recorded_file, recordings_base
from odyssey_jupyter.session.runtime import THREAD_NAME, Runtime, get_runtime
from odyssey_jupyter.session.watcher import Watcher
from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.ledger import IN_FLIGHT, STATES, ItemRow, Ledger
from odyssey_jupyter.text.advice import say

if TYPE_CHECKING:
    from odyssey_jupyter.client import Odyssey
    from odyssey_jupyter.sweeps.output import SweepOutput

log = logging.getLogger(__name__)

HOLD_AFTER_LIMIT = 5.0
"""After a 429 CONCURRENT_LIMIT_REACHED, submit again when a slot frees or after this long."""
HOLD_AFTER_FAULT = 2.0
"""After an ambiguous failure to a key-honouring server, wait this long before the repeat."""
RATE_WINDOW = 120.0
"""Throughput is measured over the jobs that ended in this many seconds."""

SweepListener = Callable[["Sweep"], None]

_live: dict[str, Sweep] = {}
_live_lock = threading.Lock()


class SweepFailedError(OdysseyError):
    """``wait(raise_on_failure=True)`` found failed (or unknown) items; ``failures`` lists them."""

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.failures = failures


@dataclass(eq=False)
class _Unit:
    """Items sent as one job (one item unless ``pack`` > 1)."""

    unit: int
    items: list[int]
    state: str
    key: str | None
    job_id: str | None
    error: str | None
    attempts: int
    job: Job | None = None
    slot_free: bool = False
    sent_at: float | None = None


_LEDGER_COLUMNS = {"state": "state", "key": "idem_key", "job_id": "job_id", "error": "error"}
"""A unit's fields that the ledger keeps, and the ledger's column for each."""


@dataclass(frozen=True)
class SweepItem:
    """One item as the sweep knows it now."""

    index: int
    params: dict[str, Any]
    script: list[dict[str, Any]]
    status: str
    error: str | None
    job_id: str | None
    job: Job | None
    files: list[dict[str, Any]] = field(default_factory=list)
    script_index: int = 0

    @property
    def recordings(self) -> list[LocalRecording]:
        """The item's downloaded recordings (from the job handle, or the ledger's files)."""
        if self.job is not None and self.job.local_recordings:
            mine = [r for r in self.job.local_recordings if r.script_index == self.script_index]
            return [r for r in mine if r.video_path.is_file()]  # keep_local=False removes them
        out = []
        for entry in self.files:
            video = entry.get("video")
            if not video:
                continue
            out.append(
                LocalRecording(
                    stream_id=str(entry.get("stream_id", "")),
                    script_index=self.script_index,
                    video_path=Path(video),
                    thumbnail_path=_opt_path(entry.get("thumbnail")),
                    preview_path=_opt_path(entry.get("preview")),
                    events_path=_opt_path(entry.get("events")),
                    duration_seconds=_finite(entry.get("duration_seconds")),
                )
            )
        return out

    @property
    def stored_video(self) -> str | None:
        """The URI of the video in the sweep's output store (``output=``), if it is there."""
        for entry in self.files:
            stored = (entry.get("stored") or {}).get("video")
            if stored and stored.get("uri"):
                return str(stored["uri"])
        return None

    @property
    def video(self) -> Path | None:
        recordings = self.recordings
        return recordings[0].video_path if recordings else None


def _opt_path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


_FILE_KINDS = ("video", "thumbnail", "preview", "events")


def trusted_files(files: Any, base: str) -> list[dict[str, Any]]:
    """A ledger's file entries, each path kept only if it lies inside the recordings folder,
    and each stored object only if its key stays inside the output (see ``_stored_key``).

    Checked once when the ledger is read (``base`` from ``recordings_base``), so a
    gallery of 10,000 reopened items checks no path while it renders, and an export
    reads no file a copied or edited ledger names outside them.
    """
    out: list[dict[str, Any]] = []
    for entry in files if isinstance(files, list) else ():
        if not isinstance(entry, dict):
            continue
        kept = {key: value for key, value in entry.items() if key not in (*_FILE_KINDS, "stored")}
        for kind in _FILE_KINDS:
            path = recorded_file(entry.get(kind), base)
            if path is not None:
                kept[kind] = str(path)
        stored = entry.get("stored")
        if isinstance(stored, dict):
            kept["stored"] = {
                kind: found
                for kind, found in stored.items()
                if isinstance(found, dict) and _stored_key(found.get("key"))
            }
        out.append(kept)
    return out


def _stored_key(key: Any) -> bool:
    """A stored object's key as the output writes them: relative, no ``..``, no empty part."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def _finite(value: Any) -> float | None:
    """A number from the ledger, if it is one a display can use."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _files_of(job: Job, script_index: int) -> list[dict[str, Any]]:
    """What the ledger keeps about one item's streams: ids and local paths."""
    out: list[dict[str, Any]] = []
    recordings = {r.stream_id: r for r in job.local_recordings or ()}
    streams = job.detail.streams if job.detail is not None else ()
    for stream in streams:
        if stream.script_index != script_index:
            continue
        entry: dict[str, Any] = {"stream_id": stream.stream_id}
        rec = recordings.get(stream.stream_id)
        if rec is not None:
            entry["video"] = str(rec.video_path)
            for kind in ("thumbnail", "preview", "events"):
                path = getattr(rec, f"{kind}_path")
                if path is not None:
                    entry[kind] = str(path)
            if rec.duration_seconds is not None:
                entry["duration_seconds"] = rec.duration_seconds
        out.append(entry)
    return out


def _never_sent(exc: BaseException) -> bool:
    """True when a failed submission provably never reached the server (connect refused)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        cause = cause.__cause__ or cause.__context__
        if cause is exc:
            break
    return False


UNKNOWN_HELP = (
    "its submission's answer was lost and this server does not declare idempotency keys, "
    "so it may or may not have made a job. "
)


class Sweep:
    """A running (or finished) sweep: its items, its counts and its controls.

    Made by :func:`odyssey_jupyter.sweep` or :meth:`~odyssey_jupyter.Sweep.open`. Every control
    returns at once; the work happens on the runtime's loop thread.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.Sweep.open("rainy_animals")   # after a kernel restart
        s.wait()
        s.retry_failed()
        print(s.results()[0]["video"])
    """

    def __init__(self, name: str, ledger: Ledger, *, runtime: Runtime | None = None) -> None:
        meta = ledger.meta()
        self.name = name
        self.ledger = ledger
        self.portrait: bool = bool(meta.get("portrait", True))
        self.pack: int = int(meta.get("pack", 1))
        self.download: bool = bool(meta.get("download", True))
        self._requested_limit: int | None = meta.get("max_in_flight")
        self._runtime = runtime or get_runtime()
        rows = ledger.items()
        base = recordings_base()
        for row in rows:  # the ledger's word on files: only those inside the recordings folder
            row.files = trusted_files(row.files, base)
        self._rows: dict[int, ItemRow] = {row.index: row for row in rows}
        self._units: dict[int, _Unit] = {}
        for row in rows:
            unit = self._units.get(row.unit)
            if unit is None:
                self._units[row.unit] = _Unit(
                    unit=row.unit,
                    items=[row.index],
                    state=row.state,
                    key=row.key,
                    job_id=row.job_id,
                    error=row.error,
                    attempts=row.attempts,
                )
            else:
                unit.items.append(row.index)
        self.state: str = "running"
        """``running``, ``paused``, ``cancelled`` or ``done``."""
        self.message: str | None = None
        """Why the sweep is paused, and what to do about it."""
        self.limit: int = self._requested_limit or get_config().sweep_max_in_flight
        """Most jobs in flight at once (max_in_flight, or the declared / configured cap)."""
        self.target: float = float(self.limit)
        """Jobs kept in flight now: halved on a 429 concurrent limit, regrown by successes."""
        self.last_limit_reason: str | None = None
        self.limit_hits = 0
        self.keyed: bool | None = None
        """Whether the server honours idempotency keys (known once the sweep has started)."""
        self._hold_until = 0.0
        """Submissions wait until then after a 429 concurrent limit (a freed slot ends it)."""
        self._rate_hold_until = 0.0
        """Submissions wait until then after RATE_LIMITED (its Retry-After; nothing ends it)."""
        self._lowered_since_slot = False
        self._cancel_active = False
        self._ended: deque[float] = deque(maxlen=10_000)
        self._render_seconds: deque[float] = deque(maxlen=200)
        self._started_at = time.monotonic()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled = threading.Event()
        self._listeners: builtins.list[SweepListener] = []
        self._fatal: BaseException | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._over = False
        self._retired = False
        """Replaced by a newer handle on the same ledger (Sweep.open after a runtime stop)."""
        self.output: SweepOutput | None = None
        """Where the recordings and the manifest are copied (``output=``), if anywhere."""
        self.max_video_seconds: float | None = meta.get("max_video_seconds")
        """The budget: no unit is sent that would take the seconds of video past it."""
        self._unit_seconds: dict[int, float] = {}

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, name: str, *, storage_options: dict[str, Any] | None = None) -> Sweep:
        """Reattach to a sweep by name (after a kernel restart) and continue it.

        A sweep with an ``output`` checks its store first (``storage_options`` as when it
        was started: they are never kept) and copies what the store lacks.
        """
        from odyssey_jupyter.sweeps.ledger import ledger_path, list_names
        from odyssey_jupyter.sweeps.plan import check_name

        check_name(name)
        with _live_lock:
            live = _live.get(name)
            if live is not None and live._runtime.running:
                return live
            if live is not None:  # its runtime was stopped: let go of its ledger and lock
                _live.pop(name, None)
                live._retired = True
                live.ledger.close()
        path = ledger_path(name)
        if not os.path.lexists(path):
            known = ", ".join(list_names()) or "none"
            raise FileNotFoundError(f"no sweep named {name!r} in {path.parent} (known: {known})")
        sweep = cls(name, Ledger(path))
        from odyssey_jupyter.sweeps.output import attach

        try:
            attach(sweep, storage_options)
        except BaseException:
            sweep.ledger.close()
            raise
        sweep.start()
        return sweep

    @staticmethod
    def list() -> builtins.list[str]:
        """Names of the sweeps on this machine (in the recordings directory)."""
        from odyssey_jupyter.sweeps.ledger import list_names

        return list_names()

    def start(self) -> Sweep:
        """Start (or restart) the scheduler on the loop thread."""
        self.ledger.claim()
        with _live_lock:
            _live[self.name] = self
        self._settled.clear()
        self._runtime.submit(self._start_on_loop())
        return self

    async def _start_on_loop(self) -> None:
        if self._task is not None and not self._task.done():
            self._poke()
            return
        self._over = False
        if self.state == "done":  # restarted (retry_failed, resolve): there is work again
            self.state = "running"
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"odyssey-sweep-{self.name}"
        )

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: SweepListener) -> Callable[[], None]:
        """Call ``fn(sweep)`` on the loop thread after every change; returns an unsubscribe."""
        self._listeners.append(fn)

        def unsubscribe() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return unsubscribe

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                log.exception("a listener of sweep %s raised", self.name)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread (now when already there)."""
        if self._runtime.in_loop_thread():
            fn()
        else:
            self._runtime.loop.call_soon_threadsafe(fn)

    # ------------------------------------------------------------------ the scheduler

    async def _run(self) -> None:
        try:
            client = await self._runtime.get_client()
            await self._learn_server(client)
            self._reattach()
            if self.output is not None:
                self.output.schedule(self, recheck=True)
            while True:
                now = time.monotonic()
                hold = max(self._hold_until, self._rate_hold_until)
                if self.state == "running" and now >= hold:
                    self._launch_ready()
                if self._is_over():
                    break
                self._settled_check()
                assert self._wake is not None
                self._wake.clear()
                timeout = None
                if self.state == "running" and hold > now and self._pending():
                    timeout = hold - now
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            if self.output is not None:
                await self.output.finish(self)
            if self.state == "running":
                self.state = "done"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # say why on the sweep; the ledger keeps the rest
            log.exception("sweep %s stopped", self.name)
            self._fatal = exc
            self.state = "paused"
            self.message = f"the scheduler stopped: {type(exc).__name__}: {exc}; {self._resume}"
        self._over = self.state in ("done", "cancelled")
        self._changed()  # before wait() returns: every listener (the display) has seen the end
        self._settled.set()

    async def _learn_server(self, client: Odyssey) -> None:
        """One request, so the server's declarations (keys, limits) are known."""
        while True:
            try:
                await client.handshake()
                break
            except (AuthenticationError, PermissionDeniedError) as exc:
                self._pause(
                    f"the API refused the key ({exc}); fix ODYSSEY_API_KEY, then {self._resume}"
                )
                self._settled_check()  # wait() returns: nothing can change until resume()
                await self._until_resumed()
            except (OdysseyConnectionError, ServerError, RateLimitError) as exc:
                log.warning("sweep %s: the API cannot be reached yet (%s)", self.name, exc)
                self.message = f"the API cannot be reached yet ({exc}); retrying"
                self._changed()
                await asyncio.sleep(HOLD_AFTER_FAULT)
        self.message = None
        self.keyed = client.honours_idempotency_keys
        declared, _slots = client.declared_limits
        if self._requested_limit is None:
            self.limit = declared or get_config().sweep_max_in_flight
            self.target = min(self.target, float(self.limit))
            if self.target <= 0 or self.target > self.limit:
                self.target = float(self.limit)

    async def _until_resumed(self) -> None:
        while self.state == "paused":
            assert self._wake is not None
            self._wake.clear()
            await self._wake.wait()

    def _reattach(self) -> None:
        """After a restart: follow jobs already made; settle items whose answer was lost."""
        for unit in self._units.values():
            if unit.state in IN_FLIGHT and unit.job_id is not None and unit.job is None:
                job = Job.from_id(unit.job_id, download=self.download)
                # a handle left from a stopped runtime is not watched by this one's watcher
                Watcher.of(self._runtime).watch(job)
                self._follow(unit, job)
            elif unit.state == "submitting" and unit.job_id is None:
                if self.keyed:
                    self._set_unit(unit, state="pending")  # resent with its own key
                else:
                    self._set_unit(unit, state="unknown", error=self._unknown_help(unit))

    def _pending(self) -> builtins.list[_Unit]:
        return [u for u in self._units.values() if u.state == "pending"]

    def in_flight(self) -> int:
        """Jobs of this sweep queued or running on the server now (or being sent)."""
        return sum(1 for u in self._units.values() if u.state in IN_FLIGHT and not u.slot_free)

    def _is_over(self) -> bool:
        busy = any(u.state in IN_FLIGHT for u in self._units.values())
        busy = busy or (self.output is not None and self.output.busy)
        if busy:
            return False
        return self.state == "cancelled" or (self.state == "running" and not self._pending())

    def _settled_check(self) -> None:
        """Let wait() return while paused with nothing in flight (nothing can change by itself)."""
        quiet = self.output is None or not self.output.busy
        if (
            self.state == "paused"
            and quiet
            and not any(u.state in IN_FLIGHT for u in self._units.values())
        ):
            self._settled.set()

    def _launch_ready(self) -> None:
        loop = asyncio.get_running_loop()
        free = int(self.target) - self.in_flight()
        for unit in self._pending()[: max(0, free)]:
            if not self._within_budget(unit):
                break
            self._set_unit(unit, state="submitting", key=unit.key or idempotency.new_key())
            unit.slot_free = False
            task = loop.create_task(self._submit(unit))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _submit(self, unit: _Unit) -> None:
        """Send one unit's job (its key is already in the ledger) and follow it."""
        scripts = [self._rows[i].script for i in unit.items]
        request: dict[str, Any] = {"portrait": self.portrait, "idempotency_key": unit.key}
        if len(scripts) == 1:
            request["script"] = scripts[0]
        else:
            request["scripts"] = scripts
        job = Job(
            scripts=scripts, portrait=self.portrait, download=self.download, runtime=self._runtime
        )
        unit.sent_at = time.monotonic()
        self._follow(unit, job, now=False)
        await job.send(request)
        if job.job_id is None:
            unit.job = None
            self._submission_failed(unit, job.error or OdysseyError("the submission failed"))
        self._poke()

    def _follow(self, unit: _Unit, job: Job, *, now: bool = True) -> None:
        unit.job = job
        job.background = True
        job.add_listener(lambda j: self._on_job(unit, j))
        if now:
            self._on_job(unit, job)

    def _on_job(self, unit: _Unit, job: Job) -> None:
        """A change of one of the sweep's jobs (loop thread)."""
        if unit.job is not job or self._retired:
            return
        if job.job_id is not None and unit.job_id != job.job_id:
            unit.job_id = job.job_id
            self._set_unit(unit, state="queued", job_id=job.job_id, error=None)
            if self.state == "cancelled" and self._cancel_active:
                job.cancel_async()
        status = job.status
        if status is not None and unit.state in IN_FLIGHT:
            if status.is_active and status != JobStatus.PENDING and unit.state == "queued":
                self._set_unit(unit, state="running")
            if status.is_terminal and not unit.slot_free:
                self._slot_freed(unit, status)
        if job.phase in FINAL_PHASES and job.job_id is not None and unit.state in IN_FLIGHT:
            self._record_final(unit, job)
        self._changed()

    def _slot_freed(self, unit: _Unit, status: JobStatus) -> None:
        unit.slot_free = True
        now = time.monotonic()
        self._ended.append(now)
        if unit.sent_at is not None:
            self._render_seconds.append(now - unit.sent_at)
        if status == JobStatus.COMPLETED and self.target < self.limit:
            self.target = min(float(self.limit), self.target + 1.0 / max(1.0, self.target))
        self._lowered_since_slot = False
        self._hold_until = 0.0
        self._poke()

    def _record_final(self, unit: _Unit, job: Job) -> None:
        if not unit.slot_free and job.status is not None:
            self._slot_freed(unit, job.status)
        detail = job.detail
        error: str | None = None
        if job.status == JobStatus.COMPLETED:
            state = "completed"
            if job.phase == "error" and job.error is not None:
                error = f"the recordings could not be downloaded: {job.error}"
        elif job.status == JobStatus.CANCELLED:
            state = "cancelled"
        elif job.status == JobStatus.FAILED:
            state = "failed"
            error = (detail.error_message if detail is not None else None) or "the job failed"
        else:
            state = "failed"
            error = str(job.error) if job.error is not None else "the job could not be followed"
        files = {idx: _files_of(job, pos) for pos, idx in enumerate(unit.items)}
        unit.state, unit.error = state, error
        self.ledger.finish_unit(unit.unit, state, error, files)
        for idx, found in files.items():
            row = self._rows[idx]
            row.state, row.error, row.files = state, error, found
        if self.output is not None:
            self.output.schedule(self)
        self._poke()

    def _submission_failed(self, unit: _Unit, exc: BaseException) -> None:
        now = time.monotonic()
        if isinstance(exc, ConcurrentLimitError):
            self.limit_hits += 1
            self.last_limit_reason = exc.detail or str(exc)
            if not self._lowered_since_slot:
                self.target = max(1.0, self.target / 2.0)
                self._lowered_since_slot = True
            self._hold_until = now + HOLD_AFTER_LIMIT
            self._set_unit(unit, state="pending")
        elif isinstance(exc, RateLimitError):
            wait = exc.retry_after if exc.retry_after is not None else HOLD_AFTER_LIMIT
            self._rate_hold_until = max(self._rate_hold_until, now + wait)
            self._set_unit(unit, state="pending")
        elif isinstance(exc, MonthlyLimitError | AccountSuspendedError):
            self._set_unit(unit, state="pending")
            what = exc.action or "see your account's usage page"
            self._pause(f"{exc.detail or exc}. {what}; then {self._resume} (nothing is lost).")
        elif isinstance(exc, AuthenticationError | PermissionDeniedError):
            self._set_unit(unit, state="pending")
            self._pause(
                f"the API refused the key ({exc}); fix ODYSSEY_API_KEY, then {self._resume}"
            )
        elif isinstance(exc, OdysseyConnectionError | ServerError | asyncio.TimeoutError):
            if self.keyed or _never_sent(exc):
                self._hold_until = max(self._hold_until, now + HOLD_AFTER_FAULT)
                self._set_unit(unit, state="pending")  # the same key: a repeat makes no duplicate
            else:
                self._set_unit(unit, state="unknown", error=self._unknown_help(unit))
        else:  # the server refused this item (422 and the like): it fails, the sweep goes on
            text = str(exc) if isinstance(exc, APIError | OdysseyError) else repr(exc)
            self._set_unit(unit, state="failed", error=text)
        self._changed()

    def _set_unit(self, unit: _Unit, **changes: Any) -> None:
        """Change a unit in memory and in the ledger (one transaction)."""
        fields: dict[str, Any] = {}
        for name, column in _LEDGER_COLUMNS.items():
            if name in changes:
                setattr(unit, name, changes[name])
                fields[column] = changes[name]
        if (
            "error" not in changes
            and "state" in changes
            and unit.state in ("pending", "submitting")
        ):
            unit.error = None
            fields["error"] = None
        if changes.get("state") == "submitting":
            unit.attempts += 1
            fields["attempts"] = unit.attempts
        self.ledger.set_unit(unit.unit, **fields)
        for idx in unit.items:
            row = self._rows[idx]
            row.state, row.key, row.job_id, row.error = (
                unit.state,
                unit.key,
                unit.job_id,
                unit.error,
            )

    @property
    def _resume(self) -> str:
        """How to continue this sweep, in the words of where the user is."""
        return say("resume", sweep=self.name)

    def _unknown_help(self, unit: _Unit) -> str:
        return UNKNOWN_HELP + say("resolve", sweep=self.name, index=unit.items[0])

    def _pause(self, message: str | None) -> None:
        if self.state in ("cancelled", "done"):
            return
        self.state = "paused"
        self.message = message
        self._changed()
        self._poke()

    # ------------------------------------------------------------------ controls

    def pause(self) -> None:
        """Send nothing more; jobs already in flight go on."""
        self._call(lambda: self._pause("paused by you; resume() continues"))

    def resume(self) -> None:
        """Continue a paused sweep (or a finished one with items pending again)."""

        def go() -> None:
            if self.state == "cancelled":
                return
            self.state = "running"
            self.message = None
            self._hold_until = 0.0
            if self.output is not None and self._task is not None and not self._task.done():
                self.output.schedule(self, recheck=True)
            self._wake_scheduler()

        self._restart(go)

    def cancel(self, active: bool = False) -> None:
        """Drop the items not yet sent; with ``active=True`` cancel the jobs in flight too."""

        def go() -> None:
            self.state = "cancelled"
            self._cancel_active = active
            for unit in self._units.values():
                if unit.state in ("pending", "unknown"):
                    self._set_unit(unit, state="cancelled")
                elif (
                    active and unit.state in IN_FLIGHT and unit.job is not None and unit.job.job_id
                ):
                    unit.job.cancel_async()
            self._poke()
            self._changed()

        self._call(go)

    def retry_failed(self) -> int:
        """Send the failed items again (a new job each); returns how many. The rest stay."""
        units = [u for u in self._units.values() if u.state == "failed"]

        def go() -> None:
            for unit in units:
                unit.job, unit.job_id, unit.slot_free = None, None, False
                self._set_unit(unit, state="pending", key=None, job_id=None, error=None)
            if self.state != "cancelled":
                self.state = "running"
            self._wake_scheduler()

        self._restart(go)
        return sum(len(u.items) for u in units)

    def _wake_scheduler(self) -> None:
        """(Loop thread) items may be sent again: the scheduler looks now, displays redraw."""
        self._settled.clear()
        self._poke()
        self._changed()

    def _restart(self, change: Callable[[], None]) -> None:
        """Apply ``change`` on the loop, then make sure the scheduler runs (it may have ended)."""
        self._settled.clear()
        self._call(change)
        if self._task is None or self._task.done():
            self.start()

    def resolve(self, index: int, job_id: str | None = None) -> None:
        """Settle an ``unknown`` item: follow ``job_id`` if you found its job, else resend it."""
        unit = next((u for u in self._units.values() if index in u.items), None)
        if unit is None:
            raise IndexError(f"the sweep {self.name} has no item {index}")
        if unit.state != "unknown":
            raise ValueError(f"item {index} is {unit.state}, not unknown")

        def go() -> None:
            if job_id is not None:
                self._set_unit(unit, state="queued", job_id=job_id, error=None)
                job = Job.from_id(job_id, download=self.download)
                Watcher.of(self._runtime).watch(job)
                self._follow(unit, job)
            else:
                self._set_unit(unit, state="pending", key=None, error=None)
            self._settled.clear()
            self._poke()

        self._call(go)
        if self._task is None or self._task.done():
            self.start()

    def wait(
        self, timeout: float | None = None, *, raise_on_failure: bool = False
    ) -> dict[str, int]:
        """Block until the sweep is over (or paused with nothing in flight); its counts.

        Ctrl-C stops waiting and leaves the sweep running. With ``raise_on_failure``
        failed or unknown items raise :class:`~odyssey_jupyter.sweeps.sweep.SweepFailedError`.
        """
        if threading.current_thread().name == THREAD_NAME:
            raise RuntimeError("Sweep.wait() would block the odyssey-loop thread")
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while not self._settled.is_set():
            if not self._runtime.running:
                raise OdysseyError(
                    f"the odyssey runtime stopped under sweep {self.name}; its ledger keeps it: "
                    f"Sweep.open({self.name!r}) continues it"
                )
            slice_ = 0.1
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                slice_ = min(slice_, remaining)
            self._settled.wait(slice_)
        counts = self.counts
        if raise_on_failure:
            bad = [r for r in self.results() if r["status"] in ("failed", "unknown")]
            if bad:
                first = bad[0]
                raise SweepFailedError(
                    f"sweep {self.name}: {len(bad)} item(s) failed or unknown; first, item "
                    f"{first['index']}: {first['error']}",
                    bad,
                )
        return counts

    # ------------------------------------------------------------------ budget and output

    def seconds_of(self, unit: _Unit) -> float:
        """Seconds of video a unit's scripts ask for."""
        if unit.unit not in self._unit_seconds:
            self._unit_seconds[unit.unit] = sum(
                budget.script_seconds(self._rows[i].script) for i in unit.items
            )
        return self._unit_seconds[unit.unit]

    def video_seconds_used(self) -> float:
        """Seconds of video of every unit sent so far (what the budget counts)."""
        units = self._units.values()
        return budget.spent((u.state, u.job_id, self.seconds_of(u)) for u in units)

    def _within_budget(self, unit: _Unit) -> bool:
        """(Loop thread) Whether ``unit`` may be sent; pauses the sweep when it may not."""
        if self.max_video_seconds is None:
            return True
        used, needed = self.video_seconds_used(), self.seconds_of(unit)
        if used + needed <= self.max_video_seconds + 1e-9:
            return True
        self._pause(budget.over_budget(used, needed, self.max_video_seconds))
        return False

    def budget_text(self) -> str | None:
        """``42/60 s of video`` when the sweep has a budget (the live view and the CLI)."""
        if self.max_video_seconds is None:
            return None
        return budget.usage_text(self.video_seconds_used(), self.max_video_seconds)

    def output_text(self) -> str | None:
        """Where the dataset goes, and what the players here play (``output=``)."""
        if self.output is None:
            return None
        what = "local copies" if self.output.keep_local else "nothing (no local copies kept)"
        return f"dataset: {self.output.manifest_uri}; the players here play {what}"

    def set_budget(self, max_video_seconds: float | None) -> None:
        """Change the budget (kept in the ledger); ``resume()`` then continues a paused sweep."""
        self.max_video_seconds = budget.check_budget(max_video_seconds)
        self.ledger.set_meta("max_video_seconds", self.max_video_seconds)

    def export(
        self,
        dest: str,
        format: str = "webdataset",
        shard_size: int = 1000,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> builtins.list[str]:
        """Write the completed items to ``dest`` as WebDataset tar shards (``NAME-000000.tar``,
        samples ``KEY.mp4`` + ``KEY.json``) or as the manifest alone (``format="parquet"``);
        returns the URIs written."""
        from odyssey_jupyter.sweeps.export import export_items

        source = self.output.store if self.output is not None else None
        dataset = self.output.dataset if self.output is not None else self.name
        return export_items(
            self.items,
            dataset,
            dest,
            source=source,
            format=format,
            shard_size=shard_size,
            storage_options=storage_options,
        )

    def _store_files(self, index: int, files: builtins.list[dict[str, Any]]) -> None:
        """(Loop thread) An item's files after the output copied them: ledger, then memory."""
        self.ledger.set_files(index, files)
        self._rows[index].files = files

    # ------------------------------------------------------------------ reading

    @property
    def items(self) -> builtins.list[SweepItem]:
        out: builtins.list[SweepItem] = []
        for unit in self._units.values():
            for pos, idx in enumerate(unit.items):
                row = self._rows[idx]
                out.append(
                    SweepItem(
                        index=idx,
                        params=row.params,
                        script=row.script,
                        status=unit.state,
                        error=unit.error,
                        job_id=unit.job_id,
                        job=unit.job,
                        files=list(row.files),
                        script_index=pos,
                    )
                )
        out.sort(key=lambda item: item.index)
        return out

    @property
    def counts(self) -> dict[str, int]:
        """Items per state (every state listed, zeros included), and ``total``."""
        counts = dict.fromkeys(STATES, 0)
        for unit in self._units.values():
            counts[unit.state] = counts.get(unit.state, 0) + len(unit.items)
        counts["total"] = len(self._rows)
        return counts

    @property
    def finished(self) -> bool:
        """True once the sweep is over (done, or cancelled with nothing left in flight)."""
        return self._over

    def videos_per_minute(self) -> float | None:
        """Items whose job ended per minute, over the last two minutes (None before any)."""
        now = time.monotonic()
        recent = [t for t in self._ended if now - t <= RATE_WINDOW]
        if not recent:
            return None
        span = max(1.0, now - max(self._started_at, now - RATE_WINDOW))
        return len(recent) / span * 60.0 * max(1, self.pack)

    def eta_seconds(self) -> float | None:
        """Seconds until the last item should end, from observed job times and the slots."""
        left = sum(
            1 for u in self._units.values() if u.state == "pending" or (u.state in IN_FLIGHT)
        )
        if not left or not self._render_seconds:
            return None
        mean = sum(self._render_seconds) / len(self._render_seconds)
        return mean * left / max(1.0, self.target)

    def results(self) -> builtins.list[dict[str, Any]]:
        """One dict per item: params, job_id, stream_id, status, error and the local video path."""
        out = []
        for item in self.items:
            stream_id = item.files[0].get("stream_id") if item.files else None
            video = item.video
            out.append(
                {
                    "index": item.index,
                    "params": dict(item.params),
                    "job_id": item.job_id,
                    "stream_id": stream_id,
                    "status": item.status,
                    "error": item.error,
                    "video": str(video) if video is not None else None,
                }
            )
        return out

    def to_pandas(self) -> Any:
        """``results()`` as a DataFrame, one column per param (needs pandas)."""
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        rows = []
        for result in self.results():
            row = {k: v for k, v in result.items() if k != "params"}
            for key, value in result["params"].items():
                row[key if key not in row else f"param_{key}"] = value
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line: counts, in flight / limit, and why the limit was lowered."""
        counts = self.counts
        done = counts["completed"] + counts["failed"] + counts["cancelled"]
        parts = [f"{done}/{counts['total']} done"]
        for state in ("completed", "failed", "cancelled", "unknown", "pending"):
            if counts[state]:
                parts.append(f"{counts[state]} {state}")
        parts.append(f"{self.in_flight()} in flight (limit {int(self.target)}/{self.limit})")
        if self.state != "running":
            parts.append(self.state)
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<Sweep {self.name}: {self.summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))
