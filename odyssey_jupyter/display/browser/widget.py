"""The job browser: every job of the account, paged, filtered, and acted on.

Backed by the API's list endpoint, so jobs submitted from other notebooks or
machines appear, and nothing is lost when the kernel restarts. The first page is
shown as soon as the list call answers; details, durations and thumbnails fill in
afterwards (finished jobs come from a process-wide cache).

Threading: button handlers run on the kernel's main thread, and only while the
kernel is idle. They only hand a coroutine to the ``odyssey-loop`` thread and
return; every widget of the browser (:mod:`.view`) is written from that thread
alone. A displayed browser also runs a clock on that thread that re-tells
"Created" once a minute; closing stops it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Coroutine, MutableMapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.display.browser.auto_refresh import AutoRefresh
from odyssey_jupyter.display.browser.cache import details, thumbs
from odyssey_jupyter.display.browser.controls import BrowserRow
from odyssey_jupyter.display.browser.fetch import (
    cancel_line,
    history_for,
    job_detail,
    table_thumbnail,
    user_namespace,
)
from odyssey_jupyter.display.browser.job_preview import JobPreview
from odyssey_jupyter.display.browser.rows import (
    Known,
    RowData,
    caption_text,
    html_table,
    row_from,
    short_id,
    text_table,
)
from odyssey_jupyter.display.browser.snapshot import BrowserOutput
from odyssey_jupyter.display.browser.view import BrowserView
from odyssey_jupyter.display.common.live_marker import marked_live
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.protocol.types import (
    JobStatus,
    SimulationJobDetail,
    SimulationJobInfo,
    SimulationJobsList,
)
from odyssey_jupyter.text.markup import escape, printable, python_call

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.runtime import Runtime

log = logging.getLogger(__name__)

DETAIL_CONCURRENCY = 6
FIRST_PAGE_WAIT = 10.0
"""How long a text/HTML repr waits for the first page before showing "loading"."""
CLOCK_SECONDS = 60.0
"""How often a displayed browser re-tells "Created" ("3 min ago") without a refresh."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class JobBrowser:
    """A table of the account's simulation jobs, with paging, filters and actions.

    ``status`` filters by one status, ``active=True`` keeps active jobs only,
    ``limit`` (1..100) is the page size and ``offset`` the first job shown (0 or more).
    ``auto_refresh`` (default: on where widgets are shown) re-fetches the page every
    ``refresh_interval`` seconds while a listed job is active, and keeps "Created"
    current once a minute while the browser is displayed. ``namespace`` is where Load
    puts ``job_<short id>`` (default: the IPython user namespace, when there is one).
    Display it in a notebook for the widget; its text and HTML reprs are the same
    table for terminals and nbconvert.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        oj.JobBrowser(status="completed", limit=5)
    """

    def __init__(
        self,
        status: str | JobStatus | None = None,
        active: bool = False,
        limit: int | None = 20,
        *,
        offset: int = 0,
        namespace: MutableMapping[str, Any] | None = None,
        auto_refresh: bool | None = None,
        refresh_interval: float = 2.0,
        runtime: Runtime | None = None,
    ) -> None:
        limit = 20 if limit is None else int(limit)
        if not 1 <= limit <= 100:
            raise ValueError(f"limit must be between 1 and 100 (the API's page size), not {limit}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a whole number, 0 or more, not {offset!r}")
        self.status: str | None = str(status).lower() if status else None
        self.active = bool(active)
        self.limit = limit
        self.offset = offset
        self.namespace = namespace if namespace is not None else user_namespace()
        if auto_refresh is None:
            from odyssey_jupyter.display.common.frontend import detect_frontend

            # nobody sees a refreshed widget in a terminal: refresh on demand there
            auto_refresh = detect_frontend() == "widget"
        self.auto_refresh = auto_refresh
        self._auto = AutoRefresh(
            self._wants_auto,
            self._refresh,
            lambda: self.list_failed,
            max(0.2, float(refresh_interval)),
        )
        self.clock_seconds = CLOCK_SECONDS
        self._now: Callable[[], datetime] = _utc_now
        """Where "Created" reads the time (a test moves it forward)."""
        self.loaded: dict[str, Any] = {}
        self.last_error: BaseException | None = None
        self.list_failed = False
        """True while the last list call failed (auto-refresh keeps retrying, backing off)."""
        self.refresh_count = 0
        self.clock_ticks = 0
        """How many times the clock re-told "Created" (tests, benchmarks)."""
        self.total = 0
        self._init_state()
        if runtime is None:
            from odyssey_jupyter.session.runtime import get_runtime

            runtime = get_runtime()
        self._runtime = runtime
        self.view = BrowserView(self.status, self.active, self._clicked, self._filter_changed)
        self._preview = JobPreview(self.view.preview)
        self.widget = self.view.widget
        self.refresh()

    def _init_state(self) -> None:
        self._rows_data: list[RowData] = []
        self._active_details: dict[str, SimulationJobDetail] = {}
        """The last detail of each active job listed (its progress), by id."""
        self._generation = 0
        self.closed = False
        """True once ``close()`` has run: nothing more is fetched or drawn."""
        self._clock: concurrent.futures.Future[None] | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._pending_lock = threading.Lock()
        self._first_page = threading.Event()
        self._page_done = threading.Event()
        """A page has been shown complete once (details, durations, thumbnails)."""
        self._semaphore: asyncio.Semaphore | None = None
        self.on_close: Callable[[], object] | None = None
        """Set while shown under a display id: closing freezes the output into a snapshot."""
        self.on_page: Callable[[], object] | None = None
        """Called on the loop thread once a page is shown complete (details, thumbnails)."""

    # ------------------------------------------------------------------ public API

    def refresh(self) -> concurrent.futures.Future[None]:
        """Fetch the current page again (returns at once; the future ends when it is shown)."""
        return self._submit(self._refresh())

    def next_page(self) -> concurrent.futures.Future[None]:
        return self._submit(self._turn(+1))

    def previous_page(self) -> concurrent.futures.Future[None]:
        return self._submit(self._turn(-1))

    def set_filter(
        self, status: str | None = None, active: bool | None = None
    ) -> concurrent.futures.Future[None]:
        """Show one status (``None``/``""``: any) and/or active jobs only; back to page 1."""
        return self._submit(self._filter(status or "", active))

    def preview(self, job_id: str, *, full: bool = False) -> concurrent.futures.Future[None]:
        """Play a completed job under the table: the short previews, or the full videos."""
        return self._submit(self._play(job_id, full))

    def cancel(self, job_id: str) -> concurrent.futures.Future[None]:
        """Cancel a job without the confirmation step (the Cancel button asks first)."""
        return self._submit(self._cancel(job_id))

    def load(self, job_id: str) -> concurrent.futures.Future[None]:
        """Put ``job_<short id>`` (a ``Job`` handle) into the namespace."""
        return self._submit(self._load(job_id))

    @property
    def rows(self) -> list[RowData]:
        """The jobs of the page shown now."""
        return list(self._rows_data)

    def row(self, job_id: str) -> BrowserRow:
        """The widget row showing ``job_id`` (its buttons can be ``.click()``-ed)."""
        return self.view.row(job_id)

    @property
    def caption(self) -> str:
        """ "Showing 21-40 of 143", with the filters in force."""
        return caption_text(self.total, self.offset, len(self._rows_data), self._filters_text())

    @property
    def auto_refreshing(self) -> bool:
        """True while a timer re-fetches the page because a listed job is active."""
        return self._auto.running

    @property
    def clock_running(self) -> bool:
        """True while the once-a-minute clock keeps "Created" current (displayed, open)."""
        return self._clock is not None and not self._clock.done()

    @property
    def preview_outputs(self) -> tuple[dict[str, Any], ...]:
        """The outputs of the preview area (player HTML), for tests and scripts."""
        return tuple(self.view.preview.output.outputs)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the work handed to the loop so far is done (scripts, tests)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._pending_lock:
                pending = [f for f in self._pending if not f.done()]
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the job browser was still busy after {timeout:g} s")
            concurrent.futures.wait(pending, timeout=min(0.1, remaining))

    def close(self) -> None:
        """Stop auto-refresh and the clock, and close every widget of the browser."""
        if self.closed:
            return
        if self.on_close is not None:
            self.on_close()  # leaves the last page as a snapshot, then closes here
            return
        self.closed = True
        if self._runtime.running:
            self._auto.stop(self._runtime.loop)
        if self._clock is not None:
            self._clock.cancel()  # thread-safe: the loop cancels the task itself
        self.view.close()

    # ------------------------------------------------------------------ display

    def _ipython_display_(self) -> None:
        """``display(browser)`` (or a cell ending in it), like ``%odyssey_jobs``: shown under
        a display id, so that it is frozen into its snapshot when it is closed, when a
        newer browser opens and when the kernel exits."""
        BrowserOutput.of(self).show()

    def shown(self) -> None:
        """Main thread: the browser is on screen; keep "Created" current while it is."""
        if self.auto_refresh and not self.closed and not self.clock_running:
            self._clock = self._runtime.submit(self._clock_loop())

    def wait_page(self, complete: bool) -> None:
        """Wait (bounded) for the first page, or for it complete with its durations."""
        event = self._page_done if complete else self._first_page
        if not event.is_set():
            event.wait(FIRST_PAGE_WAIT)

    def _text(self, complete: bool) -> str:
        self.wait_page(complete)
        if not self._first_page.is_set():
            return f"Odyssey jobs: loading… ({self._filters_text() or 'all jobs'})"
        table = text_table(self._rows_data, f"Odyssey jobs: {self.caption}")
        if self.list_failed and self.last_error is not None:
            table = f"Could not list jobs: {self.last_error}\n{table}"
        return printable(table)

    def __repr__(self) -> str:
        return self._text(complete=True)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        self.wait_page(complete=True)
        return html_table(self._rows_data, f"Odyssey jobs: {self.caption}")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget for live frontends, plus the text and HTML tables for everything else.

        Where widgets show, the bundle goes out with the first page (details fill in
        live); elsewhere the tables wait for the durations, which are all there is.
        """
        from odyssey_jupyter.display.common.frontend import detect_frontend

        complete = detect_frontend() != "widget"
        data: dict[str, Any] = dict(self.widget._repr_mimebundle_() or {})
        data["text/plain"] = self._text(complete)
        data["text/html"] = html_table(self._rows_data, f"Odyssey jobs: {self.caption}")
        return marked_live(data)

    # ------------------------------------------------------------------ threading

    def _submit(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        future = self._runtime.submit(self._guard(coro))
        with self._pending_lock:
            self._pending = {f for f in self._pending if not f.done()}
            self._pending.add(future)
        return future

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        """Errors of a background action land in the message line, never in a traceback."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = exc
            log.debug("job browser action failed", exc_info=True)
            self._first_page.set()  # the reprs must not wait for a page that is not coming
            self._page_done.set()
            if not self.closed:
                self.view.say(f"Error: {escape(exc)}", error=True)

    def _clicked(self, action: str, row: BrowserRow | None) -> None:
        """Button handlers (main thread, kernel idle): hand over to the loop and return."""
        if self.closed:
            return
        job_id = row.job_id if row is not None else None
        self._submit(self._act(action, row, job_id))

    async def _act(self, action: str, row: BrowserRow | None, job_id: str | None) -> None:
        page_actions: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "refresh": self._refresh,
            "previous": lambda: self._turn(-1),
            "next": lambda: self._turn(+1),
            "full": self._full_video,
            "close_preview": self._close_preview,
        }
        if action in page_actions:
            await page_actions[action]()
        elif row is not None and job_id is not None and row.job_id == job_id:
            await self._row_action(action, row, job_id)
        # else: the row shows another job now, the click is stale

    async def _row_action(self, action: str, row: BrowserRow, job_id: str) -> None:
        if action == "preview":
            await self._play(job_id, False)
        elif action == "load":
            await self._load(job_id)
        elif action in ("cancel", "keep", "confirm"):
            row.confirming = action == "cancel"
            row.set_actions()
            if action == "cancel":
                self.view.say(f"Cancel job <code>{escape(job_id)}</code>? It cannot be resumed.")
            elif action == "keep":
                self.view.say("")
            else:
                await self._cancel(job_id)

    def _filter_changed(self, status: str | None, active: bool | None) -> None:
        """The status filter or "Active only" was changed on screen (main thread)."""
        if not self.closed:
            self._submit(self._filter(status, active))

    # ------------------------------------------------------------------ loop side

    async def _client(self) -> Odyssey:
        return await self._runtime.get_client()

    def _filters_text(self) -> str:
        parts = []
        if self.status:
            parts.append(f"status={self.status}")
        if self.active:
            parts.append("active only")
        return ", ".join(parts)

    async def _filter(self, status: str | None, active: bool | None) -> None:
        if status is not None:
            self.status = status.lower() or None
        if active is not None:
            self.active = active
        self.offset = 0
        self.view.show_filter(self.status, self.active)
        await self._refresh()

    async def _turn(self, step: int) -> None:
        new_offset = max(0, self.offset + step * self.limit)
        if step > 0 and new_offset >= self.total:
            return
        self.offset = new_offset
        await self._refresh()

    async def _list(self, generation: int) -> SimulationJobsList | None:
        """The page from the API; ``None`` when it failed (said) or a newer one is asked."""
        client = await self._client()
        try:
            page = await client.list_simulations(
                status=self.status or None,
                active=True if self.active else None,
                limit=self.limit,
                offset=self.offset,
            )
        except OdysseyError as exc:
            self.last_error, self.list_failed = exc, True
            self.view.say(f"Could not list jobs: {escape(str(exc))}", error=True)
            self._first_page.set()
            self._page_done.set()
            self._auto.schedule()
            return None
        if generation != self._generation or self.closed:
            return None
        return page

    async def _refresh(self) -> None:
        """List the page, show it at once, then fill in details and thumbnails."""
        if self.closed:
            return
        self._generation += 1
        generation = self._generation
        page = await self._list(generation)
        if page is None:
            return
        if not page.jobs and page.total > 0 and self.offset > 0:
            # the page emptied under us (jobs filtered out): go to the last page
            self.offset = max(0, (page.total - 1) // self.limit * self.limit)
            await self._refresh()
            return
        self.refresh_count += 1
        known = history_for([job.job_id for job in page.jobs])
        self._show_page(page, known)
        self._first_page.set()
        if self.list_failed:
            self.list_failed = False
            self.view.say("")
        self._auto.schedule()
        await self._fill(page, known, generation)
        if generation == self._generation:
            self._page_done.set()
            if self.on_page is not None:
                self.on_page()  # the page is complete: its saved snapshot follows it

    def _known_detail(self, info: SimulationJobInfo) -> SimulationJobDetail | None:
        """What this process already knows of a listed job, without asking the API."""
        if info.status.is_active:  # its last progress, while the list still agrees
            detail = self._active_details.get(info.job_id)
            return detail if detail is not None and detail.status == info.status else None
        return details.get(info.job_id)

    def _show_page(self, page: SimulationJobsList, known: dict[str, Known]) -> None:
        self.total = page.total
        listed = {info.job_id for info in page.jobs if info.status.is_active}
        self._active_details = {k: v for k, v in self._active_details.items() if k in listed}
        data = [
            row_from(info, self._known_detail(info), known.get(info.job_id)) for info in page.jobs
        ]
        self.view.show_rows(data, self._now())  # "Created" is told afresh on every refresh
        self._rows_data = data
        self.view.show_paging(
            caption_text(self.total, self.offset, len(data)),
            first=self.offset <= 0,
            last=self.offset + self.limit >= self.total,
        )

    async def _fill(self, page: SimulationJobsList, known: dict[str, Known], gen: int) -> None:
        """Details (duration, progress, status) and thumbnails for rows that need them.

        A finished job's detail and thumbnail are fetched once for the process; an
        active job's detail on every refresh (its progress), and no thumbnail yet.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(DETAIL_CONCURRENCY)
        semaphore = self._semaphore
        wanted = [
            (index, info)
            for index, info in enumerate(page.jobs)
            if info.status.is_active or info.job_id not in details or info.job_id not in thumbs
        ]
        results = await asyncio.gather(
            *(
                self._fill_one(semaphore, index, info, known.get(info.job_id), gen)
                for index, info in wanted
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                log.debug("could not fill a job browser row: %r", result)

    async def _fill_one(
        self,
        semaphore: asyncio.Semaphore,
        index: int,
        info: SimulationJobInfo,
        known: Known | None,
        gen: int,
    ) -> None:
        job_id = info.job_id
        async with semaphore:
            if self.closed or gen != self._generation:
                return
            client = await self._client()
            detail = await job_detail(client, job_id, fresh=info.status.is_active)
            if not detail.is_terminal:
                self._active_details[job_id] = detail
            thumb = await table_thumbnail(client, detail)
        if self.closed or gen != self._generation:
            return
        item = row_from(info, detail, known)
        if index < len(self._rows_data) and self._rows_data[index].job_id == job_id:
            self._rows_data[index] = item
        self.view.update_row(index, item, thumb, self._now())

    # ------------------------------------------------------------------ timers

    def _wants_auto(self) -> bool:
        return (
            not self.closed
            and self.auto_refresh
            and (self.list_failed or any(row.is_active for row in self._rows_data))
        )

    async def _clock_loop(self) -> None:
        """While displayed and open: "3 min ago" becomes "4 min ago" with no API call."""
        while not self.closed:
            await asyncio.sleep(self.clock_seconds)
            if self.closed:
                return
            self.view.retell(self._rows_data, self._now())
            self.clock_ticks += 1

    # ------------------------------------------------------------------ actions

    async def _cancel(self, job_id: str) -> None:
        client = await self._client()
        self.view.say(f"Cancelling <code>{escape(job_id)}</code>…")
        line, failed = await cancel_line(client, job_id)
        if failed is not None:
            self.last_error = failed
        self.view.say(line, error=failed is not None)
        await self._refresh()

    async def _load(self, job_id: str) -> None:
        from odyssey_jupyter.session.jobs import Job

        loop = asyncio.get_running_loop()
        # Job.from_id may block on the loop (runtime.run): call it from a worker thread.
        job = await loop.run_in_executor(None, Job.from_id, job_id)
        name = f"job_{short_id(job_id)}"
        self.loaded[name] = job
        if self.namespace is not None:
            self.namespace[name] = job
        code = python_call(name, "odyssey_jupyter.Job.from_id", job_id)
        where = "is now in the notebook" if self.namespace is not None else "is in browser.loaded"
        self.view.say(
            f"<code>{escape(name)}</code> {where}; the same in code: <code>{escape(code)}</code>"
        )

    async def _full_video(self) -> None:
        if self._preview.job_id:
            await self._preview.play(await self._client(), self._preview.job_id, True)

    async def _close_preview(self) -> None:
        self._preview.close()

    async def _play(self, job_id: str, full: bool) -> None:
        await self._preview.play(await self._client(), job_id, full)
