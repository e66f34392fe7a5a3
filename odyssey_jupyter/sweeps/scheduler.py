"""The scheduler of one sweep: an asyncio task on the runtime's loop that sends its items.

It keeps at most ``target`` jobs queued or running (see :mod:`.pace`), and follows
each job through a ``Job`` handle and so through the shared watcher (one list
request per tick for every watched job, whoever submitted them): a sweep adds no
polling loop. It sleeps until something changes (a job frees its slot, a hold
runs out, the user resumes), so 1,000 queued items cost nothing while they wait.

A monthly limit, a suspended account or a refused key pauses the sweep with a
message saying what to do; ``resume()`` continues and nothing queued is lost.

Lost answers: an item is written ``submitting`` with its key before its job is
sent. To a server that honours idempotency keys such an item is sent again with
the same key (the server answers with the job it already made). To any other
server it becomes ``unknown``, with instructions; it is never sent again unless
the user says so (``resolve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
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
from odyssey_jupyter.session.watcher import Watcher
from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.book import ItemBook, Unit
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.item_files import files_of
from odyssey_jupyter.sweeps.pace import HOLD_AFTER_FAULT, Pace
from odyssey_jupyter.sweeps.states import OVER, ItemState, SweepState
from odyssey_jupyter.text.advice import say

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.runtime import Runtime
    from odyssey_jupyter.sweeps.output import SweepOutput
    from odyssey_jupyter.sweeps.settings import SweepSettings

log = logging.getLogger(__name__)


UNKNOWN_HELP = (
    "its submission's answer was lost and this server does not declare idempotency keys, "
    "so it may or may not have made a job. "
)


def never_sent(exc: BaseException) -> bool:
    """True when a failed submission provably never reached the server (connect refused)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        cause = cause.__cause__ or cause.__context__
        if cause is exc:
            break
    return False


def final_state(job: Job) -> tuple[ItemState, str | None]:
    """The state and error of the items of a job that has ended (or cannot be followed)."""
    if job.status == JobStatus.COMPLETED:
        if job.phase == "error" and job.error is not None:
            return ItemState.COMPLETED, f"the recordings could not be downloaded: {job.error}"
        return ItemState.COMPLETED, None
    if job.status == JobStatus.CANCELLED:
        return ItemState.CANCELLED, None
    if job.status == JobStatus.FAILED:
        detail = job.detail
        return ItemState.FAILED, (
            detail.error_message if detail is not None else None
        ) or "the job failed"
    return ItemState.FAILED, (
        str(job.error) if job.error is not None else "the job could not be followed"
    )


class Scheduler:
    """Sends one sweep's items and follows their jobs; everything but :meth:`call` and
    :attr:`settled` belongs to the loop thread."""

    def __init__(
        self,
        name: str,
        book: ItemBook,
        runtime: Runtime,
        settings: SweepSettings,
        *,
        output: SweepOutput | None,
        notify: Callable[[], None],
    ) -> None:
        self.name = name
        self.book = book
        self.runtime = runtime
        self.portrait = settings.portrait
        self.download = settings.download
        self.requested_limit = settings.max_in_flight
        self.max_video_seconds = settings.max_video_seconds
        self.output = output
        self.notify = notify
        """Tells the sweep's listeners that something changed."""
        self.pace = Pace(self.requested_limit or get_config().sweep_max_in_flight)
        self.state = SweepState.RUNNING
        self.message: str | None = None
        self.keyed: bool | None = None
        self.cancel_active = False
        self.retired = False
        """Replaced by a newer handle on the same ledger (Sweep.open after a runtime stop)."""
        self.over = False
        self.settled = threading.Event()
        """Set while nothing can change by itself: over, or paused with nothing in flight."""
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ the loop thread

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread (now when already there); from any thread."""
        if self.runtime.in_loop_thread():
            fn()
        else:
            self.runtime.loop.call_soon_threadsafe(fn)

    def poke(self) -> None:
        """Let the scheduler look again now."""
        if self._wake is not None:
            self._wake.set()

    @property
    def task_alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start_on_loop(self) -> None:
        if self.task_alive:
            self.poke()
            return
        self.over = False
        if self.state == SweepState.DONE:  # restarted (retry_failed, resolve): there is work again
            self.state = SweepState.RUNNING
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"odyssey-sweep-{self.name}"
        )

    async def _run(self) -> None:
        try:
            await self._schedule()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # say why on the sweep; the ledger keeps the rest
            log.exception("sweep %s stopped", self.name)
            self.state = SweepState.PAUSED
            self.message = f"the scheduler stopped: {type(exc).__name__}: {exc}; {self._resume}"
        self.over = self.state in OVER
        self.notify()  # before wait() returns: every listener (the display) has seen the end
        self.settled.set()

    async def _schedule(self) -> None:
        await self._learn_server(await self.runtime.get_client())
        self._reattach()
        if self.output is not None:
            self.output.schedule(self, recheck=True)
        while True:
            now = time.monotonic()
            hold = self.pace.hold()
            if self.state == SweepState.RUNNING and now >= hold:
                self._launch_ready()
            if self._is_over():
                break
            self._settled_check()
            assert self._wake is not None
            self._wake.clear()
            timeout = None
            running = self.state == SweepState.RUNNING
            if running and hold > now and self.book.in_state(ItemState.PENDING):
                timeout = hold - now
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        if self.output is not None:
            await self.output.finish(self)
        if self.state == SweepState.RUNNING:
            self.state = SweepState.DONE

    async def _learn_server(self, client: Odyssey) -> None:
        """One request, so the server's declarations (keys, limits) are known."""
        while True:
            try:
                await client.handshake()
                break
            except (AuthenticationError, PermissionDeniedError) as exc:
                self.pause(self._refused_key(exc))
                self._settled_check()  # wait() returns: nothing can change until resume()
                await self._until_resumed()
            except (OdysseyConnectionError, ServerError, RateLimitError) as exc:
                log.warning("sweep %s: the API cannot be reached yet (%s)", self.name, exc)
                self.message = f"the API cannot be reached yet ({exc}); retrying"
                self.notify()
                await asyncio.sleep(HOLD_AFTER_FAULT)
        self.message = None
        self.keyed = client.honours_idempotency_keys
        declared, _slots = client.declared_limits
        if self.requested_limit is None:
            self.pace.learned(declared or get_config().sweep_max_in_flight)

    async def _until_resumed(self) -> None:
        while self.state == SweepState.PAUSED:
            assert self._wake is not None
            self._wake.clear()
            await self._wake.wait()

    def _reattach(self) -> None:
        """After a restart: follow jobs already made; settle items whose answer was lost."""
        for unit in self.book.units.values():
            if unit.in_flight and unit.job_id is not None and unit.job is None:
                self._follow_id(unit, unit.job_id)
            elif unit.state == ItemState.SUBMITTING and unit.job_id is None:
                if self.keyed:
                    self.book.change(unit, state=ItemState.PENDING)  # resent with its own key
                else:
                    self.book.change(unit, state=ItemState.UNKNOWN, error=self._unknown_help(unit))

    def _is_over(self) -> bool:
        if self.book.any_in_flight() or (self.output is not None and self.output.busy):
            return False
        pending = self.book.in_state(ItemState.PENDING)
        return self.state == SweepState.CANCELLED or (
            self.state == SweepState.RUNNING and not pending
        )

    def _settled_check(self) -> None:
        """Let wait() return while paused with nothing in flight (nothing can change by itself)."""
        quiet = self.output is None or not self.output.busy
        if self.state == SweepState.PAUSED and quiet and not self.book.any_in_flight():
            self.settled.set()

    # ------------------------------------------------------------------ sending and following

    def _launch_ready(self) -> None:
        loop = asyncio.get_running_loop()
        free = int(self.pace.target) - self.book.in_flight()
        for unit in self.book.in_state(ItemState.PENDING)[: max(0, free)]:
            if not self._within_budget(unit):
                break
            key = unit.key or idempotency.new_key()
            self.book.change(unit, state=ItemState.SUBMITTING, key=key)
            unit.slot_free = False
            task = loop.create_task(self._submit(unit))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def _within_budget(self, unit: Unit) -> bool:
        """Whether ``unit`` may be sent; pauses the sweep when it may not."""
        if self.max_video_seconds is None:
            return True
        used, needed = self.book.video_seconds_used(), self.book.seconds_of(unit)
        if used + needed <= self.max_video_seconds + 1e-9:
            return True
        self.pause(budget.over_budget(used, needed, self.max_video_seconds))
        return False

    async def _submit(self, unit: Unit) -> None:
        """Send one unit's job (its key is already in the ledger) and follow it."""
        scripts = [item.script for item in unit.items]
        request: dict[str, Any] = {"portrait": self.portrait, "idempotency_key": unit.key}
        if len(scripts) == 1:
            request["script"] = scripts[0]
        else:
            request["scripts"] = scripts
        job = Job(
            scripts=scripts, portrait=self.portrait, download=self.download, runtime=self.runtime
        )
        unit.sent_at = time.monotonic()
        self._follow(unit, job, now=False)
        await job.send(request)
        if job.job_id is None:
            unit.job = None
            self._submission_failed(unit, job.error or OdysseyError("the submission failed"))
        self.poke()

    def _follow_id(self, unit: Unit, job_id: str) -> None:
        """Follow a job made earlier (by a stopped runtime, or found by the user)."""
        job = Job.from_id(job_id, download=self.download)
        # a handle left from a stopped runtime is not watched by this one's watcher
        Watcher.of(self.runtime).watch(job)
        self._follow(unit, job)

    def _follow(self, unit: Unit, job: Job, *, now: bool = True) -> None:
        unit.job = job
        job.background = True
        job.add_listener(lambda j: self._on_job(unit, j))
        if now:
            self._on_job(unit, job)

    def _on_job(self, unit: Unit, job: Job) -> None:
        """A change of one of the sweep's jobs."""
        if unit.job is not job or self.retired:
            return
        if job.job_id is not None and unit.job_id != job.job_id:
            self.book.change(unit, state=ItemState.QUEUED, job_id=job.job_id, error=None)
            if self.state == SweepState.CANCELLED and self.cancel_active:
                job.cancel_async()
        status = job.status
        if status is not None and unit.in_flight:
            started = status.is_active and status != JobStatus.PENDING
            if started and unit.state == ItemState.QUEUED:
                self.book.change(unit, state=ItemState.RUNNING)
            if status.is_terminal and not unit.slot_free:
                self._slot_freed(unit, status)
        if job.phase in FINAL_PHASES and job.job_id is not None and unit.in_flight:
            self._record_final(unit, job)
        self.notify()

    def _slot_freed(self, unit: Unit, status: JobStatus) -> None:
        unit.slot_free = True
        self.pace.slot_freed(status == JobStatus.COMPLETED, unit.sent_at)
        self.poke()

    def _record_final(self, unit: Unit, job: Job) -> None:
        if not unit.slot_free and job.status is not None:
            self._slot_freed(unit, job.status)
        state, error = final_state(job)
        files = {item.index: files_of(job, item.script_index) for item in unit.items}
        self.book.finish(unit, state, error, files)
        if self.output is not None:
            self.output.schedule(self)
        self.poke()

    def _submission_failed(self, unit: Unit, exc: BaseException) -> None:
        pending = ItemState.PENDING
        if isinstance(exc, ConcurrentLimitError):
            self.pace.concurrent_limit(exc.detail or str(exc))
            self.book.change(unit, state=pending)
        elif isinstance(exc, RateLimitError):
            self.pace.rate_limited(exc.retry_after)
            self.book.change(unit, state=pending)
        elif isinstance(exc, MonthlyLimitError | AccountSuspendedError):
            self.book.change(unit, state=pending)
            what = exc.action or "see your account's usage page"
            self.pause(f"{exc.detail or exc}. {what}; then {self._resume} (nothing is lost).")
        elif isinstance(exc, AuthenticationError | PermissionDeniedError):
            self.book.change(unit, state=pending)
            self.pause(self._refused_key(exc))
        elif isinstance(exc, OdysseyConnectionError | ServerError | asyncio.TimeoutError):
            if self.keyed or never_sent(exc):
                self.pace.fault()
                self.book.change(unit, state=pending)  # the same key: a repeat makes no duplicate
            else:
                self.book.change(unit, state=ItemState.UNKNOWN, error=self._unknown_help(unit))
        else:  # the server refused this item (422 and the like): it fails, the sweep goes on
            text = str(exc) if isinstance(exc, APIError | OdysseyError) else repr(exc)
            self.book.change(unit, state=ItemState.FAILED, error=text)
        self.notify()

    @property
    def _resume(self) -> str:
        """How to continue this sweep, in the words of where the user is."""
        return say("resume", sweep=self.name)

    def _refused_key(self, exc: BaseException) -> str:
        return f"the API refused the key ({exc}); fix ODYSSEY_API_KEY, then {self._resume}"

    def _unknown_help(self, unit: Unit) -> str:
        return UNKNOWN_HELP + say("resolve", sweep=self.name, index=unit.first.index)

    # ------------------------------------------------------------------ controls (loop thread)

    def pause(self, message: str | None) -> None:
        """Send nothing more, saying why; jobs already in flight go on."""
        if self.state in OVER:
            return
        self.state = SweepState.PAUSED
        self.message = message
        self.notify()
        self.poke()

    def resume(self) -> None:
        if self.state == SweepState.CANCELLED:
            return
        self.state = SweepState.RUNNING
        self.message = None
        self.pace.hold_until = 0.0
        if self.output is not None and self.task_alive:
            self.output.schedule(self, recheck=True)
        self.wake()

    def cancel(self, active: bool) -> None:
        self.state = SweepState.CANCELLED
        self.cancel_active = active
        for unit in self.book.units.values():
            if unit.state in (ItemState.PENDING, ItemState.UNKNOWN):
                self.book.change(unit, state=ItemState.CANCELLED)
            elif active and unit.in_flight and unit.job is not None and unit.job.job_id:
                unit.job.cancel_async()
        self.poke()
        self.notify()

    def retry(self, units: list[Unit]) -> None:
        """Send ``units`` again, each as a new job (a new key)."""
        for unit in units:
            unit.job, unit.slot_free = None, False
            self.book.change(unit, state=ItemState.PENDING, key=None, job_id=None, error=None)
        if self.state != SweepState.CANCELLED:
            self.state = SweepState.RUNNING
        self.wake()

    def resolve(self, unit: Unit, job_id: str | None) -> None:
        """Settle an ``unknown`` unit: follow ``job_id``, or send it again with a new key."""
        if job_id is not None:
            self.book.change(unit, state=ItemState.QUEUED, job_id=job_id, error=None)
            self._follow_id(unit, job_id)
        else:
            self.book.change(unit, state=ItemState.PENDING, key=None, error=None)
        self.settled.clear()
        self.poke()

    def wake(self) -> None:
        """Items may be sent again: the scheduler looks now, displays redraw."""
        self.settled.clear()
        self.poke()
        self.notify()

    # ------------------------------------------------------------------ for the output

    def snapshot(self) -> list[SweepItem]:
        return self.book.snapshot()

    def store_files(self, index: int, files: list[dict[str, Any]]) -> None:
        """An item's files after the output copied them: ledger, then memory."""
        self.book.store_files(index, files)

    async def get_client(self) -> Odyssey:
        return await self.runtime.get_client()
