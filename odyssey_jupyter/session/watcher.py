"""One poller for every watched job, running on the runtime's loop thread.

Cost model: a tick is ONE ``GET /simulation-jobs?active=true`` for all watched
jobs (a second page only when more than 100 jobs are active and some watched
job was not on the first), then ``GET /simulation-jobs/{id}`` only for the jobs
whose status changed in the list or that left it. When nothing changed, one
running job may get a detail refresh so its progress moves (the one refreshed
longest ago; one such refresh per two intervals, and never sooner than a second):
a quiet tick costs at most 2 requests however many jobs are watched. With a
single watched job the list is skipped and its detail is fetched directly.

Timing: the interval drops to ``poll_interval_min`` after a change and grows
x1.5 while nothing changes. It stays at most 1 s while some job may change soon
(it is young, near its expected end, queued briefly with no long estimated
wait, or running with no way to tell when it ends), so a server change shows
within about a second; it grows to ``poll_interval_max`` while every job is
queued for a while or running far from its end (judged from its progress, or
from its script's length). Jobs marked ``background`` (a sweep's, followed in
bulk) never make it hurry: their changes and youth leave the interval to grow
to ``poll_interval_max``, a change between active states is read from the list
alone (no detail request), and they get no progress refreshes; so a sweep costs
about one list request per interval plus one detail per job that ends (a new
background job does not wake the watcher early either). ``Retry-After`` is
honoured. When the API cannot be reached every watched job is marked
``reconnecting`` and the watcher retries with backoff until it recovers; no
exception ends the loop, and it always sleeps between ticks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from odyssey_jupyter.errors import (
    APIError,
    InvalidResponseError,
    NotFoundError,
    OdysseyConnectionError,
    OdysseyError,
    OdysseyTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.session.config import get_config

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVE_CAP = 1.0
"""Longest interval while a watched job runs (a change must show within ~1 s)."""
YOUNG_SECONDS = 5.0
"""A job this young polls at the short end."""
QUEUED_LONG_SECONDS = 30.0
"""A job pending this long (or with an estimated wait of a minute or more) may back off fully."""
PROGRESS_EVERY = 1.0
"""Shortest time between two progress refreshes (at least two intervals apart, too)."""
RECONNECT_NOTICE = 2.0
"""A tick unanswered this long marks the jobs ``reconnecting`` while it keeps trying."""
MIN_SLEEP = 0.05
"""Floor between two ticks, even when woken: the watcher never spins."""
PAGE = 100
DETAIL_CONCURRENCY = 8


class WatchedJob(Protocol):
    """What the watcher needs from a job it follows (``Job`` implements it).

    Every method is called on the loop thread. The watcher decides when to ask;
    the job decides what an answer, a failure or its end mean for itself.
    """

    @property
    def job_id(self) -> str | None: ...

    @property
    def detail(self) -> SimulationJobDetail | None: ...

    @property
    def status(self) -> JobStatus | None: ...

    @property
    def created(self) -> float:
        """When the job was made (wall clock): a young job polls at the short end."""

    @property
    def reconnecting(self) -> bool: ...

    @property
    def background(self) -> bool:
        """Followed in bulk (a sweep's job): a few seconds late is fine, never a hurry."""

    needs_detail: bool
    """The list cannot tell this job's state: fetch its detail on the next tick."""
    last_detail_at: float
    """When its detail was last read (monotonic)."""

    def apply(self, detail: SimulationJobDetail) -> bool:
        """Take a fresh detail; True when the status changed."""

    def listed_as(self, status: JobStatus) -> None:
        """The active list shows a new status for this background job (no detail fetched)."""

    def finishing(self) -> Coroutine[Any, Any, None] | None:
        """The step that ends a job whose detail is terminal (download, done); None after."""

    def mark_reconnecting(self, exc: BaseException | None) -> None:
        """The API is not answering (``exc`` is why, when known); polling goes on."""

    def poll_failed(self, exc: BaseException) -> None:
        """The API answered but refused the poll; polling goes on, slowly."""

    def poll_recovered(self) -> None:
        """A tick succeeded: clear what ``mark_reconnecting``/``poll_failed`` showed."""

    def give_up(self, exc: BaseException) -> None:
        """The job can never be polled (404/403); it stops being watched."""

    def may_change_soon(self, now: float, high: float) -> bool:
        """Whether it could change before a full ``high`` interval has passed."""

    def near_expected_end(self, now: float) -> bool:
        """Whether it is around the time its script says it should end."""


@dataclass(frozen=True, slots=True)
class TickStats:
    """What one tick cost and why (kept for tests and benchmarks)."""

    watched: int
    list_requests: int
    detail_requests: int
    changed: int
    """Jobs that needed a detail because they are new, changed status or left the list."""
    progress_refreshes: int
    ok: bool


class Watcher:
    """Polls every watched job together; pushes each change to the job's listeners."""

    request_budget: float = 8.0
    """A tick still unanswered after this many seconds is abandoned and retried."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._jobs: dict[str, WatchedJob] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._finishing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._interval: float | None = None
        self._last_progress_at = 0.0
        self._failures = 0
        self._list_complaint: str | None = None
        self.ticks: collections.deque[TickStats] = collections.deque(maxlen=10_000)

    # ------------------------------------------------------------------ public

    @classmethod
    def of(cls, runtime: Runtime) -> Watcher:
        """The runtime's one watcher (started with the first watched job)."""
        return runtime.service(cls)

    @property
    def jobs(self) -> list[WatchedJob]:
        """The jobs being polled now (terminal ones have left)."""
        return list(self._jobs.values())

    def watch(self, job: WatchedJob) -> None:
        """Start polling ``job`` (thread-safe)."""
        if self._runtime.in_loop_thread():
            self._watch(job)
        else:
            self._runtime.loop.call_soon_threadsafe(self._watch, job)

    def unwatch(self, job: WatchedJob) -> None:
        """Stop polling ``job`` (thread-safe); its listeners stay."""
        if self._runtime.in_loop_thread():
            self._unwatch(job)
        else:
            self._runtime.loop.call_soon_threadsafe(self._unwatch, job)

    def wake(self) -> None:
        """Poll soon instead of at the end of the current interval (thread-safe)."""
        if self._runtime.in_loop_thread():
            self._wake_now()
        else:
            self._runtime.loop.call_soon_threadsafe(self._wake_now)

    def client_changed(self) -> None:
        """A new client: poll through it soon (the runtime's service hook)."""
        self.wake()

    def _wake_now(self) -> None:
        self._interval = None
        self._wake.set()

    def _watch(self, job: WatchedJob) -> None:
        if self._closed or job.job_id is None:
            return
        if job.detail is not None and job.detail.is_terminal:
            self.observe(job, job.detail)
            return
        if job.detail is None:
            job.needs_detail = True
        self._jobs[job.job_id] = job
        if self._task is None or self._task.done():
            self._task = self._runtime.loop.create_task(self._run(), name="odyssey-watcher")
        if not job.background or len(self._jobs) == 1:
            self._wake_now()

    def _unwatch(self, job: WatchedJob) -> None:
        if job.job_id is not None:
            self._jobs.pop(job.job_id, None)

    async def aclose(self) -> None:
        """Stop polling and cancel downloads in flight (runtime shutdown)."""
        self._closed = True
        tasks = [t for t in (self._task, *self._finishing) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()

    # ------------------------------------------------------------------ results

    def observe(self, job: WatchedJob, detail: SimulationJobDetail) -> bool:
        """Apply a fresh detail to ``job`` (loop thread); finish it when terminal.

        Used by the poll, ``Job.refresh`` and ``Job.cancel`` alike, so a job ends
        the same way whoever noticed first. Returns True if the status changed.
        """
        changed = job.apply(detail)
        step = job.finishing()
        if step is not None:
            if job.job_id is not None:
                self._jobs.pop(job.job_id, None)
            task = self._runtime.loop.create_task(step)
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
        return changed

    def _give_up(self, job: WatchedJob, exc: BaseException) -> None:
        """A job that can never be polled (404/403): show why and stop."""
        self._unwatch(job)
        job.give_up(exc)

    # ------------------------------------------------------------------ loop

    async def _run(self) -> None:
        while not self._closed:
            started = time.monotonic()
            if not self._jobs:
                self._interval = None
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                delay = await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watcher must never die
                log.exception("the job watcher hit an unexpected error; it keeps going")
                for job in self.jobs:
                    job.poll_failed(exc)
                delay = get_config().poll_bounds()[1]
            await self._sleep(delay, started)

    async def _sleep(self, delay: float, started: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(delay, MIN_SLEEP))
        self._wake.clear()
        rest = MIN_SLEEP - (time.monotonic() - started)
        if rest > 0:
            await asyncio.sleep(rest)

    async def _tick(self) -> float:
        low, high = get_config().poll_bounds()
        jobs = self.jobs
        counts = {"list": 0, "detail": 0, "changed": 0, "progress": 0}
        notice = self._runtime.loop.call_later(
            RECONNECT_NOTICE, self._mark_reconnecting, jobs, None
        )
        try:
            client = await self._runtime.get_client()
            changed = await asyncio.wait_for(
                self._poll(client, jobs, counts), timeout=self.request_budget
            )
        except RateLimitError as exc:
            self._record(jobs, counts, ok=False)
            wait = exc.retry_after if exc.retry_after is not None else high
            self._interval = max(wait, low)
            return self._interval
        except (OdysseyConnectionError, ServerError, asyncio.TimeoutError, OSError) as exc:
            self._record(jobs, counts, ok=False)
            self._failures += 1
            if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, OdysseyError):
                exc = OdysseyTimeoutError(
                    f"the API did not answer within {self.request_budget:g} s; retrying"
                )
            self._mark_reconnecting(jobs, exc)
            return float(min(high, low * 2**self._failures))
        except APIError as exc:
            # reachable but refusing (a revoked key...): show it on every job, retry slowly
            self._record(jobs, counts, ok=False)
            log.warning("polling jobs failed: %s", exc)
            for job in jobs:
                if job.job_id in self._jobs:
                    job.poll_failed(exc)
            return high
        finally:
            notice.cancel()
        self._record(jobs, counts, ok=True)
        self._failures = 0
        for job in jobs:
            job.poll_recovered()
        return self._next_interval(changed, low, high)

    def _record(self, jobs: list[WatchedJob], counts: dict[str, int], *, ok: bool) -> None:
        self.ticks.append(
            TickStats(
                watched=len(jobs),
                list_requests=counts["list"],
                detail_requests=counts["detail"],
                changed=counts["changed"],
                progress_refreshes=counts["progress"],
                ok=ok,
            )
        )

    def _mark_reconnecting(self, jobs: list[WatchedJob], exc: BaseException | None) -> None:
        for job in jobs:
            if job.job_id in self._jobs:
                job.mark_reconnecting(exc)

    async def _poll(self, client: Odyssey, jobs: list[WatchedJob], counts: dict[str, int]) -> bool:
        """One round of requests; returns True when some job changed status."""
        if len(jobs) == 1:
            need = jobs  # one job: its detail is cheaper than the list and carries progress
        else:
            need = await self._changed_by_list(client, jobs, counts)
        counts["changed"] = len(need)
        now = time.monotonic()
        every = max(PROGRESS_EVERY, 2 * (self._interval or 0.0))
        if not need and len(jobs) > 1 and now - self._last_progress_at >= every:
            candidate = self._progress_candidate(jobs)
            if candidate is not None:
                need = [candidate]
                counts["progress"] = 1
                self._last_progress_at = now
        if not need:
            return False
        return await self._fetch_details(client, need, counts)

    async def _changed_by_list(
        self, client: Odyssey, jobs: list[WatchedJob], counts: dict[str, int]
    ) -> list[WatchedJob]:
        """The jobs whose detail must be fetched, as the active-jobs list tells."""
        need: list[WatchedJob] = [job for job in jobs if job.needs_detail]
        try:
            listed = await self._list_active(client, jobs, counts)
        except InvalidResponseError as exc:
            # one unusable entry spoils the list, not the jobs: ask each for its detail
            if str(exc) != self._list_complaint:
                log.warning("the active-jobs list is unusable (%s); polling each job", exc)
            self._list_complaint = str(exc)
            listed = {}
        else:
            self._list_complaint = None
        for job in jobs:
            if job in need:
                continue
            status = listed.get(job.job_id or "")
            if job.background and status is not None and job.status is not None:
                if status != job.status:
                    job.listed_as(status)  # still active: the list says enough
                continue
            if status is None or job.status is None or status != job.status:
                need.append(job)
        return need

    async def _fetch_details(
        self, client: Odyssey, need: list[WatchedJob], counts: dict[str, int]
    ) -> bool:
        """Fetch the jobs' details, a few at a time; True when one changed status."""
        semaphore = asyncio.Semaphore(DETAIL_CONCURRENCY)

        async def fetch(job: WatchedJob) -> bool:
            async with semaphore:
                if job.job_id is None or job.job_id not in self._jobs:
                    return False
                counts["detail"] += 1
                try:
                    detail = await client.get_simulate_status(job.job_id)
                except (NotFoundError, PermissionDeniedError, InvalidResponseError) as exc:
                    # an unusable answer would come back the same: show it, stop polling
                    self._give_up(job, exc)
                    return True
                # a background job's change does not drop the interval to the short end
                return self.observe(job, detail) and not job.background

        results = await asyncio.gather(*(fetch(job) for job in need))
        return any(results)

    async def _list_active(
        self, client: Odyssey, jobs: list[WatchedJob], counts: dict[str, int]
    ) -> dict[str, JobStatus]:
        wanted = {job.job_id for job in jobs if job.job_id is not None}
        statuses: dict[str, JobStatus] = {}
        offset = 0
        while True:
            counts["list"] += 1
            page = await client.list_simulations(active=True, limit=PAGE, offset=offset or None)
            for info in page.jobs:
                statuses[info.job_id] = info.status
            offset += len(page.jobs)
            if not page.jobs or offset >= page.total or wanted.issubset(statuses):
                return statuses

    def _progress_candidate(self, jobs: list[WatchedJob]) -> WatchedJob | None:
        """The running job whose progress was refreshed longest ago (>= 1 s), if any."""
        now = time.monotonic()
        best: WatchedJob | None = None
        for job in jobs:
            detail = job.detail
            if job.background:
                continue
            if detail is None or detail.progress is None or detail.status == JobStatus.PENDING:
                continue
            if now - job.last_detail_at < PROGRESS_EVERY:
                continue
            if best is None or job.last_detail_at < best.last_detail_at:
                best = job
        return best

    def _next_interval(self, changed: bool, low: float, high: float) -> float:
        now_wall = time.time()
        now = time.monotonic()
        urgent = False
        soon = False
        for job in self._jobs.values():
            if job.background:
                pass  # followed in bulk (a sweep's): never a reason to hurry
            elif now_wall - job.created < YOUNG_SECONDS or job.near_expected_end(now):
                urgent = True
            if job.may_change_soon(now, high):
                soon = True
        cap = min(high, max(ACTIVE_CAP, low)) if soon else high
        if changed or urgent or self._interval is None:
            self._interval = low
        else:
            self._interval = min(self._interval * 1.5, cap)
        return self._interval
