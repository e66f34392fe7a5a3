"""The queue: hands pending streams to render processes and records what they report.

Lives on the engine's event loop. Workers are separate processes (spawned, so the
HTTP side never shares a GIL with rendering); a reader thread turns their queue
messages into loop callbacks. The unit of work is a stream, so a batch spreads
over all workers. Job state follows its streams:
pending -> dispatched (first stream handed out) -> processing (a worker started)
-> completed | failed (all streams finished) | cancelled (by the user).

In realtime pace a dispatched stream first waits out a session start-up, as a
hosted worker prepares its session. Start-ups run here, beside the rendering, for
up to one stream per worker: a worker that finishes takes a stream whose start-up
is already over, so the start-up costs a sweep no render time.

Storage may fail at any write (a full disk). A worker's slot is freed only once
its stream's outcome is written; a failed write is tried again by the periodic
reconciler, which also puts back in the queue any stream the store thinks is
rendering but no worker holds, and ends jobs whose streams have all ended. So
no job stays ``processing`` for ever, whatever write was lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import statistics
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.jobs.spec import RenderSpec, spec_for
from odyssey_jupyter.local.store.database import Row, StorageError
from odyssey_jupyter.local.store.store import CorruptRow, Store
from odyssey_jupyter.local.store.timestamps import utc_now
from odyssey_jupyter.protocol.types import ACTIVE_STATUSES, TERMINAL_STATUSES, JobStatus

log = logging.getLogger("odyssey_jupyter.local")

_QUEUED = ACTIVE_STATUSES - {JobStatus.PROCESSING.value}
"""Active jobs no worker has started on yet."""

MAX_TRIES = 3
DEFAULT_RENDER_RATE = 0.15  # seconds of rendering per second of video, before any is measured
SESSION_STARTUP_SECONDS = 1.0
"""In realtime pace, how long a stream stays ``dispatched`` before a worker may take it
(long enough to watch it, or cancel it, before it renders)."""
RECONCILE_SECONDS = 1.0
"""How often unwritten outcomes are written again and orphaned streams put back in the queue."""
OUTCOME_WRITE_TRIES = 5
"""Reconciler rounds a worker waits for its outcome to be written before its slot is freed
anyway; the stream is then an orphan, re-rendered later (or failed after ``MAX_TRIES``)."""
FINAL_KINDS = frozenset({"done", "failed", "cancelled"})


@dataclass
class WorkerSlot:
    index: int
    process: Any
    tasks: Any
    cancel: Any
    ready: bool = False
    stream_id: str | None = None
    job_id: str | None = None
    outcome: tuple[Any, ...] | None = None
    """The worker's last message about its stream, kept until it is written."""
    write_failures: int = 0


@dataclass
class Dispatcher:
    store: Store
    recordings: Path
    workers: int
    fps: int
    realtime: bool
    progress: dict[str, float] = field(default_factory=dict)
    _slots: list[WorkerSlot] = field(default_factory=list)
    _ctx: Any = None
    _results: Any = None
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: bool = False
    _reader: threading.Thread | None = None
    _storage_failing: bool = False
    _starting: dict[str, tuple[str, asyncio.TimerHandle]] = field(default_factory=dict)
    """Streams in their session start-up: stream id -> (job id, the timer that ends it)."""
    _started: dict[str, tuple[str, RenderSpec]] = field(default_factory=dict)
    """Streams whose start-up is over, oldest first: stream id -> (job id, what to render)."""

    # ------------------------------------------------------------------ lifecycle

    def recover(self) -> None:
        """After a crash: requeue interrupted jobs (retry_count + 1), drop half-written files."""
        failed = self.store.requeue_unfinished(count_retry=True, max_tries=MAX_TRIES)
        for job_id in failed:
            log.warning("job %s failed: interrupted %d times", job_id, MAX_TRIES)
        for job_id in self.store.active_job_ids():
            self._finish_if_done(job_id)  # every stream ended just before a crash
        if self.recordings.is_dir():
            for partial in self.recordings.glob("*/*.partial"):
                shutil.rmtree(partial, ignore_errors=True)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._ctx = multiprocessing.get_context("spawn")
        self._results = self._ctx.Queue()
        for index in range(self.workers):
            self._slots.append(self._spawn(index))
        self._reader = threading.Thread(
            target=self._read_results, name="odyssey-results", daemon=True
        )
        self._reader.start()
        self._tasks.append(asyncio.create_task(self._dispatch_loop()))
        self._tasks.append(asyncio.create_task(self._watch_workers()))
        self._tasks.append(asyncio.create_task(self._reconcile_loop()))
        self.wake()

    def _spawn(self, index: int) -> WorkerSlot:
        from odyssey_jupyter.local.jobs.worker import worker_main

        tasks = self._ctx.Queue()
        cancel = self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main,
            args=(index, tasks, self._results, cancel, os.getpid()),
            name=f"odyssey-render-{index}",
            daemon=True,
        )
        process.start()
        return WorkerSlot(index, process, tasks, cancel)

    async def stop(self) -> None:
        """Stop rendering; in-flight streams go back to the queue for the next start."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for _, timer in self._starting.values():
            timer.cancel()
        self._starting.clear()
        self._started.clear()
        for slot in self._slots:
            slot.cancel.set()
            slot.tasks.put(None)
        deadline = asyncio.get_running_loop().time() + 5.0
        for slot in self._slots:
            while slot.process.is_alive() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if slot.process.is_alive():
                slot.process.kill()
            slot.process.join(timeout=2)
        try:
            self.store.requeue_unfinished(count_retry=False, max_tries=MAX_TRIES)
        except StorageError as exc:  # the next start requeues them (counting a retry)
            log.error("could not put unfinished jobs back in the queue: %s", exc)
        if self._results is not None:
            self._results.put(None)
        if self._reader is not None:
            self._reader.join(timeout=2)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ dispatch

    def _in_flight(self) -> set[str]:
        """Streams this dispatcher holds: on a worker, or in (or past) their start-up."""
        held = {s.stream_id for s in self._slots if s.stream_id is not None}
        return held | set(self._starting) | set(self._started)

    def _jobs_held(self) -> set[str]:
        held = {s.job_id for s in self._slots if s.job_id is not None}
        held.update(job_id for job_id, _ in self._starting.values())
        held.update(job_id for job_id, _ in self._started.values())
        return held

    async def _dispatch_loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                self._dispatch()
            except StorageError as exc:  # the reconciler wakes us again
                self._storage_fault("dispatch", exc)
            except Exception:
                log.exception("dispatch failed")

    def _dispatch(self) -> None:
        idle = [s for s in self._slots if s.ready and s.stream_id is None]
        while idle and self._started:
            stream_id = next(iter(self._started))
            job_id, ready = self._started.pop(stream_id)
            self._hand_over(idle.pop(0), job_id, ready)
        room = len(idle) if not self.realtime else self.workers - len(self._starting)
        room -= len(self._started)
        if room <= 0:
            return
        busy = self._in_flight()
        broken: set[str] = set()
        for row in self.store.queued_streams():
            if room <= 0:
                break
            if row["stream_id"] in busy or row["job_id"] in broken:
                continue
            spec = self._spec(row)
            if spec is None:
                broken.add(row["job_id"])
                continue
            self.store.mark_dispatched(row["job_id"], row["stream_id"])
            self._storage_ok()
            self.progress[row["stream_id"]] = 0.0
            room -= 1
            if self.realtime:
                self._begin_startup(row["job_id"], spec)
            else:
                self._hand_over(idle.pop(0), row["job_id"], spec)

    def _begin_startup(self, job_id: str, spec: RenderSpec) -> None:
        assert self._loop is not None
        timer = self._loop.call_later(SESSION_STARTUP_SECONDS, self._startup_over, spec)
        self._starting[spec.stream_id] = (job_id, timer)

    def _startup_over(self, spec: RenderSpec) -> None:
        entry = self._starting.pop(spec.stream_id, None)
        if entry is not None and not self._stopping:
            self._started[spec.stream_id] = (entry[0], spec)
            self.wake()

    def _drop_startups(self, job_id: str) -> None:
        """A cancelled or failed job's streams leave their start-up."""
        for stream_id, (owner, timer) in list(self._starting.items()):
            if owner == job_id:
                timer.cancel()
                del self._starting[stream_id]
                self.progress.pop(stream_id, None)
        for stream_id, (owner, _) in list(self._started.items()):
            if owner == job_id:
                del self._started[stream_id]
                self.progress.pop(stream_id, None)

    def _spec(self, row: Row) -> RenderSpec | None:
        """What to render for a queued stream; None when its stored script is unusable.

        Such a job fails with the reason at once, so one damaged row cannot hold up
        every job queued behind it.
        """
        job_id = row["job_id"]
        try:
            return spec_for(
                self.store.script(job_id, row["script_index"]),
                script_index=row["script_index"],
                plan_index=row["plan_index"],
                stream_id=row["stream_id"],
                out_dir=str(self.recordings / job_id / row["stream_id"]),
                width=row["width"],
                height=row["height"],
                fps=self.fps,
                realtime=self.realtime,
            )
        except StorageError:
            raise
        except Exception as exc:  # any damage to the row: CorruptRow, or a script spec_for rejects
            reason = str(exc) if isinstance(exc, CorruptRow) else f"{type(exc).__name__}: {exc}"
            message = f"this job's stored script cannot be rendered: {reason}; submit it again"
            log.error("job %s failed: %s", job_id, message)
            self.store.fail_job(job_id, message)
            self._drop_startups(job_id)
            for slot in self._slots:  # its other streams stop rendering
                if slot.job_id == job_id:
                    slot.cancel.set()
            return None

    def _hand_over(self, slot: WorkerSlot, job_id: str, spec: RenderSpec) -> None:
        slot.stream_id, slot.job_id = spec.stream_id, job_id
        slot.tasks.put(spec)

    # ------------------------------------------------------------------ worker messages

    def _read_results(self) -> None:
        while True:
            try:
                message = self._results.get()
            except (EOFError, OSError):
                return
            if message is None:
                return
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(self._on_message, message)
            except RuntimeError:
                return

    def _slot(self, index: int) -> WorkerSlot:
        return self._slots[index]

    def _on_message(self, message: tuple[Any, ...]) -> None:
        try:
            self._handle(message)
        except Exception:
            log.exception("could not handle worker message %r", message[:3])

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, index = message[0], message[1]
        slot = self._slot(index)
        if kind == "ready":
            slot.ready = True
            self.wake()
            return
        stream_id = message[2]
        if stream_id != slot.stream_id or slot.outcome is not None:
            return  # a late message about a stream this slot no longer owns
        job_id = slot.job_id
        assert job_id is not None
        if kind == "progress":
            self.progress[stream_id] = float(message[3])
            return
        if kind == "started":
            now = utc_now()
            try:
                if self._job_active(job_id):
                    self.store.update_stream(stream_id, status="processing", started_at=now)
                    self.store.set_job_status_if(
                        job_id, _QUEUED, status="processing", started_at=now
                    )
            except StorageError as exc:  # cosmetic: the outcome is what must be written
                self._storage_fault("record a start", exc)
            return
        if kind in FINAL_KINDS:
            slot.outcome = message
            self._settle(slot)

    def _settle(self, slot: WorkerSlot) -> None:
        """Write the slot's outcome; the slot is free only once it is written (or given up)."""
        assert slot.outcome is not None and slot.job_id is not None
        try:
            if not self._stopping:
                self._record_outcome(slot.job_id, slot.outcome)
        except StorageError as exc:
            slot.write_failures += 1
            self._storage_fault("record a stream's outcome", exc)
            if slot.write_failures < OUTCOME_WRITE_TRIES:
                return  # the reconciler tries again; the slot stays busy meanwhile
            log.error(
                "gave up writing the outcome of stream %s after %d tries; "
                "it goes back to the queue once the database can be written",
                slot.stream_id,
                slot.write_failures,
            )
        else:
            self._storage_ok()
        self.progress.pop(slot.stream_id or "", None)
        slot.stream_id = slot.job_id = slot.outcome = None
        slot.write_failures = 0
        self.wake()

    def _record_outcome(self, job_id: str, message: tuple[Any, ...]) -> None:
        kind, stream_id = message[0], message[2]
        if not self._job_active(job_id):
            self._discard(job_id, stream_id)
            return
        if kind == "done":
            _, _, _, frames, seconds, render_seconds = message
            self.store.update_stream(
                stream_id,
                status="completed",
                frame_count=int(frames),
                duration_seconds=float(seconds),
                ended_at=utc_now(),
                render_seconds=float(render_seconds),
            )
        elif kind == "failed":
            self.store.update_stream(
                stream_id, status="failed", error_message=str(message[3]), ended_at=utc_now()
            )
        elif kind == "cancelled":
            self.store.update_stream(stream_id, status="pending", started_at=None)
            return
        self._finish_if_done(job_id)

    def _discard(self, job_id: str, stream_id: str) -> None:
        """The job ended meanwhile: a cancelled job keeps no files, else drop this stream's."""
        job = self.store.job(job_id)
        if job is not None and job["status"] == "cancelled":
            shutil.rmtree(self.recordings / job_id, ignore_errors=True)
        else:
            shutil.rmtree(self.recordings / job_id / stream_id, ignore_errors=True)

    def _job_active(self, job_id: str) -> bool:
        job = self.store.job(job_id)
        return job is not None and job["status"] in ACTIVE_STATUSES

    def _finish_if_done(self, job_id: str) -> None:
        streams = self.store.streams_of(job_id)
        if any(s["status"] not in TERMINAL_STATUSES for s in streams):
            return
        failed = [s for s in streams if s["status"] == "failed"]
        if failed:
            parts = [
                f"stream {s['stream_id']} (script {s['script_index']}) failed: {s['error_message']}"
                for s in failed
            ]
            message = f"{len(failed)} of {len(streams)} streams failed: " + "; ".join(parts)
            self.store.set_job_status_if(
                job_id,
                ACTIVE_STATUSES,
                status="failed",
                error_message=message,
                completed_at=utc_now(),
            )
        else:
            self.store.set_job_status_if(
                job_id, ACTIVE_STATUSES, status="completed", completed_at=utc_now()
            )

    # ------------------------------------------------------------------ cancel

    def cancel(self, job_id: str) -> bool:
        """Cancel an active job now; False when it was already terminal."""
        if not self.store.cancel_job(job_id):
            return False
        self._drop_startups(job_id)
        for slot in self._slots:
            if slot.job_id == job_id:
                slot.cancel.set()
        shutil.rmtree(self.recordings / job_id, ignore_errors=True)
        return True

    # ------------------------------------------------------------------ crashes

    async def _watch_workers(self) -> None:
        while not self._stopping:
            await asyncio.sleep(0.5)
            for i, slot in enumerate(self._slots):
                if slot.process.is_alive() or self._stopping:
                    continue
                log.warning(
                    "render worker %d died (exit %s); restarting it", i, slot.process.exitcode
                )
                if slot.stream_id is not None and slot.job_id is not None:
                    try:
                        self._requeue_after_crash(slot.job_id, slot.stream_id)
                    except StorageError as exc:  # an orphan now: the reconciler requeues it
                        self._storage_fault("requeue a crashed stream", exc)
                self._slots[i] = self._spawn(i)
            self.wake()

    # ------------------------------------------------------------------ reconciling

    async def _reconcile_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(RECONCILE_SECONDS)
            if self._stopping:
                return
            try:
                self.reconcile()
            except StorageError as exc:
                self._storage_fault("reconcile", exc)
            except Exception:
                log.exception("reconciling failed")
            self.wake()

    def reconcile(self) -> None:
        """Write outcomes that failed to be written, requeue orphans, end settled jobs."""
        for slot in self._slots:
            if slot.outcome is not None:
                self._settle(slot)
        held = self._in_flight()
        jobs_held = self._jobs_held()
        for row in self.store.streams_in_flight():
            stream_id, job_id = row["stream_id"], row["job_id"]
            if stream_id in held:
                continue
            failed = self.store.requeue_orphan(
                job_id, stream_id, job_in_flight=job_id in jobs_held, max_tries=MAX_TRIES
            )
            log.warning(
                "stream %s of job %s had no worker: %s",
                stream_id,
                job_id,
                "failed after repeated losses" if failed else "back in the queue",
            )
            shutil.rmtree(self.recordings / job_id / f"{stream_id}.partial", ignore_errors=True)
            self._storage_ok()
        for job_id in self.store.settled_active_jobs():
            if job_id not in jobs_held:
                self._finish_if_done(job_id)
                self._storage_ok()

    def _storage_fault(self, what: str, exc: StorageError) -> None:
        """One log line when storage starts failing, not one per attempt."""
        if not self._storage_failing:
            log.error("storage fault (could not %s): %s; retrying", what, exc)
        self._storage_failing = True

    def _storage_ok(self) -> None:
        """After a write went through: say so once if storage had been failing."""
        if self._storage_failing:
            log.warning("storage works again")
        self._storage_failing = False

    def _requeue_after_crash(self, job_id: str, stream_id: str) -> None:
        shutil.rmtree(self.recordings / job_id / f"{stream_id}.partial", ignore_errors=True)
        job = self.store.job(job_id)
        if job is None or job["status"] not in ACTIVE_STATUSES:
            return
        retries = int(job["retry_count"]) + 1
        if retries >= MAX_TRIES:
            self.store.update_stream(
                stream_id, status="failed", error_message="the renderer crashed", ended_at=utc_now()
            )
            self.store.update_job(job_id, retry_count=retries)
            self._finish_if_done(job_id)
        else:
            self.store.update_stream(stream_id, status="pending", started_at=None)
            self.store.update_job(job_id, retry_count=retries)

    # ------------------------------------------------------------------ reporting

    def job_progress(self, job: Row, streams: list[Row]) -> float:
        if job["status"] == "completed":
            return 1.0
        if not streams:
            return 0.0
        done = 0.0
        for s in streams:
            if s["status"] in ("completed", "failed"):
                done += 1.0
            else:
                done += self.progress.get(s["stream_id"], 0.0)
        return round(min(1.0, done / len(streams)), 4)

    def render_rate(self) -> float:
        rates = self.store.recent_render_rates()
        rate = statistics.median(rates) if rates else DEFAULT_RENDER_RATE
        return max(rate, 1.0) if self.realtime else rate

    def estimated_wait_minutes(self, job: Row) -> float | None:
        """For queued jobs: video seconds queued up to and including this job, over the workers."""
        if job["status"] not in _QUEUED:
            return None
        ahead_ms = 0
        seen = False
        for row in self.store.queued_streams():  # oldest job first
            if row["job_id"] == job["job_id"]:
                seen = True
            elif seen:
                break
            ahead_ms += int(row["duration_ms"])
        for stream_id in self._in_flight():
            left = 1.0 - self.progress.get(stream_id, 0.0)
            stream = self.store.stream(stream_id)
            if stream is not None:
                ahead_ms += int(stream["duration_ms"] * left)
        seconds = ahead_ms / 1000 * self.render_rate() / max(1, self.workers)
        return round(seconds / 60, 3)
