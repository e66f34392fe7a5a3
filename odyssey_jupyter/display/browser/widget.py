"""The job browser: every job of the account, paged, filtered, and acted on.

Backed by the API's list endpoint, so jobs submitted from other notebooks or
machines appear, and nothing is lost when the kernel restarts. The first page is
shown as soon as the list call answers; details, durations and thumbnails fill in
afterwards (finished jobs come from a process-wide cache).

Threading: button handlers run on the kernel's main thread, and only while the
kernel is idle. They only hand a coroutine to the ``odyssey-loop`` thread and
return; every widget of the browser is written from that thread alone.
Rows are a fixed pool of widgets whose values change on each page or refresh,
so hours of auto-refresh create no new widgets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Coroutine, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from odyssey_jupyter.display.browser.cache import details as _details
from odyssey_jupyter.display.browser.cache import thumbs as _thumbs
from odyssey_jupyter.display.browser.controls import BrowserRow, SharedStyles
from odyssey_jupyter.display.browser.fetch import (
    fetch_thumbnail,
    local_recordings,
    prompts_for,
    user_namespace,
)
from odyssey_jupyter.display.browser.rows import (
    RowData,
    caption_text,
    header_html,
    html_table,
    info_html,
    row_from,
    short_id,
    text_table,
)
from odyssey_jupyter.display.markup import escape, printable, python_call
from odyssey_jupyter.display.player import players_html
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.types import JobStatus, SimulationJobDetail, SimulationJobsList

if TYPE_CHECKING:
    from odyssey_jupyter.client import Odyssey
    from odyssey_jupyter.runtime import Runtime

log = logging.getLogger(__name__)

STATUSES = tuple(status.value for status in JobStatus)
DETAIL_CONCURRENCY = 6
FIRST_PAGE_WAIT = 10.0
"""How long a text/HTML repr waits for the first page before showing "loading"."""


def _close_tree(widget: widgets.Widget) -> None:
    """Close a widget, its children and their layout/style models (idempotent)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, widgets.Widget):
            part.close()
    widget.close()


class JobBrowser:
    """A table of the account's simulation jobs, with paging, filters and actions.

    ``status`` filters by one status, ``active=True`` keeps active jobs only,
    ``limit`` (1..100) is the page size. ``auto_refresh`` (default: on where widgets
    are shown) re-fetches the page every ``refresh_interval`` seconds while a listed
    job is active. ``namespace`` is where Load puts
    ``job_<short id>`` (default: the IPython user namespace, when there is one).
    Display it in a notebook for the widget; its text and HTML reprs are the same
    table for terminals and nbconvert.
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
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, not {offset}")
        self.status: str | None = str(status).lower() if status else None
        self.active = bool(active)
        self.limit = limit
        self.offset = int(offset)
        self.namespace = namespace if namespace is not None else user_namespace()
        if auto_refresh is None:
            from odyssey_jupyter.display.frontend import detect_frontend

            # nobody sees a refreshed widget in a terminal: refresh on demand there
            auto_refresh = detect_frontend() == "widget"
        self.auto_refresh = auto_refresh
        self.refresh_interval = max(0.2, float(refresh_interval))
        self.loaded: dict[str, Any] = {}
        self.last_error: BaseException | None = None
        self.list_failed = False
        """True while the last list call failed (auto-refresh keeps retrying, backing off)."""
        self.refresh_count = 0
        self.total = 0
        self._rows_data: list[RowData] = []
        self._generation = 0
        self._closed = False
        self._auto_task: asyncio.Task[None] | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._pending_lock = threading.Lock()
        self._first_page = threading.Event()
        self._preview_job: str | None = None
        self._preview_full = False
        self._semaphore: asyncio.Semaphore | None = None
        self._on_close: Callable[[], object] | None = None
        """Set while shown under a display id: closing freezes the output into a snapshot."""
        self._on_page: Callable[[], object] | None = None
        """Called on the loop thread once a page is shown complete (details, thumbnails)."""
        if runtime is None:
            from odyssey_jupyter.runtime import get_runtime

            runtime = get_runtime()
        self._runtime = runtime
        self._build_widgets()
        self.refresh()

    # ------------------------------------------------------------------ widgets

    def _build_widgets(self) -> None:
        self._shared = SharedStyles()
        self._rows: list[BrowserRow] = []
        options = [("any status", ""), *((s, s) for s in STATUSES)]
        if self.status and self.status not in STATUSES:
            options.append((self.status, self.status))
        self._status_select = widgets.Dropdown(
            options=options,
            value=self.status or "",
            description="Status",
            layout=widgets.Layout(width="210px"),
        )
        self._active_toggle = widgets.ToggleButton(
            value=self.active, description="Active only", tooltip="Show active jobs only"
        )
        self._refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self._previous_button = widgets.Button(description="‹ Previous", disabled=True)
        self._next_button = widgets.Button(description="Next ›", disabled=True)
        self._caption = widgets.HTML(value="Loading jobs…")
        self._message = widgets.HTML(value="")
        self._header = widgets.HTML(value=header_html(), layout=widgets.Layout(margin="0 0 0 56px"))
        self._table = widgets.VBox()
        self._preview_title = widgets.HTML(value="")
        self._full_button = widgets.Button(
            description="Full video", tooltip="Download and play the full recording"
        )
        self._close_preview_button = widgets.Button(description="Close preview")
        self._preview_output = widgets.Output(_dom_classes=("odyssey-browser-preview-area",))
        self._preview_panel = widgets.VBox(
            [
                widgets.HBox([self._preview_title, self._full_button, self._close_preview_button]),
                self._preview_output,
            ],
            layout=widgets.Layout(display="none"),
        )
        toolbar = widgets.HBox(
            [
                self._status_select,
                self._active_toggle,
                self._refresh_button,
                self._previous_button,
                self._next_button,
                self._caption,
            ],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.widget = widgets.VBox(
            [toolbar, self._header, self._table, self._message, self._preview_panel],
            _dom_classes=("odyssey-browser",),
        )
        self._refresh_button.on_click(lambda _b: self._clicked("refresh", None))
        self._previous_button.on_click(lambda _b: self._clicked("previous", None))
        self._next_button.on_click(lambda _b: self._clicked("next", None))
        self._full_button.on_click(lambda _b: self._clicked("full", None))
        self._close_preview_button.on_click(lambda _b: self._clicked("close_preview", None))
        self._status_select.observe(self._on_status_change, names="value")
        self._active_toggle.observe(self._on_active_change, names="value")
        self._syncing_controls = False

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
        """Play a completed job under the table: the short preview, or the full video."""
        return self._submit(self._preview(job_id, full))

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
        for row in self._rows:
            if row.job_id == job_id:
                return row
        raise KeyError(f"job {job_id} is not on the page shown")

    @property
    def caption(self) -> str:
        """ "Showing 21-40 of 143", with the filters in force."""
        return caption_text(self.total, self.offset, len(self._rows_data), self._filters_text())

    @property
    def auto_refreshing(self) -> bool:
        """True while a timer re-fetches the page because a listed job is active."""
        return self._auto_task is not None and not self._auto_task.done()

    @property
    def preview_outputs(self) -> tuple[dict[str, Any], ...]:
        """The outputs of the preview area (player HTML), for tests and scripts."""
        return tuple(self._preview_output.outputs)

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
        """Stop auto-refresh and close every widget of the browser."""
        if self._closed:
            return
        if self._on_close is not None:
            self._on_close()  # leaves the last page as a snapshot, then closes here
            return
        self._closed = True
        task = self._auto_task
        if task is not None and self._runtime.running:
            self._runtime.loop.call_soon_threadsafe(task.cancel)
        for row in self._rows:
            row.close()  # also the confirm buttons, which are not always in the tree
        _close_tree(self.widget)

    # ------------------------------------------------------------------ display

    def _wait_first_page(self) -> None:
        if not self._first_page.is_set():
            self._first_page.wait(FIRST_PAGE_WAIT)

    def __repr__(self) -> str:
        self._wait_first_page()
        if not self._first_page.is_set():
            return f"Odyssey jobs: loading… ({self._filters_text() or 'all jobs'})"
        table = text_table(self._rows_data, f"Odyssey jobs: {self.caption}")
        if self.list_failed and self.last_error is not None:
            table = f"Could not list jobs: {self.last_error}\n{table}"
        return printable(table)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        self._wait_first_page()
        return html_table(self._rows_data, f"Odyssey jobs: {self.caption}")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget for live frontends, plus the text and HTML tables for everything else."""
        data: dict[str, Any] = dict(self.widget._repr_mimebundle_() or {})
        data["text/plain"] = repr(self)
        data["text/html"] = self._repr_html_()
        return data

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
            if not self._closed:
                self._say(f"Error: {escape(exc)}", error=True)

    def _clicked(self, action: str, row: BrowserRow | None) -> None:
        """Button handlers (main thread, kernel idle): hand over to the loop and return."""
        if self._closed:
            return
        job_id = row.job_id if row is not None else None
        self._submit(self._act(action, row, job_id))

    async def _act(self, action: str, row: BrowserRow | None, job_id: str | None) -> None:
        if action == "refresh":
            await self._refresh()
        elif action == "previous":
            await self._turn(-1)
        elif action == "next":
            await self._turn(+1)
        elif action == "full" and self._preview_job:
            await self._preview(self._preview_job, True)
        elif action == "close_preview":
            self._preview_job = None
            self._preview_output.outputs = ()
            self._preview_panel.layout.display = "none"
        elif row is None or job_id is None or row.job_id != job_id:
            return  # the row shows another job now: the click is stale
        elif action == "preview":
            await self._preview(job_id, False)
        elif action == "load":
            await self._load(job_id)
        elif action == "cancel":
            row.confirming = True
            row.set_actions()
            self._say(f"Cancel job <code>{escape(job_id)}</code>? It cannot be resumed.")
        elif action == "keep":
            row.confirming = False
            row.set_actions()
            self._say("")
        elif action == "confirm":
            row.confirming = False
            row.set_actions()
            await self._cancel(job_id)

    def _on_status_change(self, change: dict[str, Any]) -> None:
        if not self._syncing_controls and not self._closed:
            self._submit(self._filter(str(change["new"] or ""), None))

    def _on_active_change(self, change: dict[str, Any]) -> None:
        if not self._syncing_controls and not self._closed:
            self._submit(self._filter(None, bool(change["new"])))

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

    def _say(self, text_html: str, *, error: bool = False) -> None:
        value = f'<span style="color:#b91c1c">{text_html}</span>' if error else text_html
        if self._message.value != value:
            self._message.value = value

    async def _filter(self, status: str | None, active: bool | None) -> None:
        if status is not None:
            self.status = status.lower() or None
        if active is not None:
            self.active = active
        self.offset = 0
        self._syncing_controls = True
        try:
            if self._status_select.value != (self.status or ""):
                if self.status and self.status not in STATUSES:
                    self._status_select.options = [
                        *self._status_select.options,
                        (self.status, self.status),
                    ]
                self._status_select.value = self.status or ""
            if self._active_toggle.value != self.active:
                self._active_toggle.value = self.active
        finally:
            self._syncing_controls = False
        await self._refresh()

    async def _turn(self, step: int) -> None:
        new_offset = max(0, self.offset + step * self.limit)
        if step > 0 and new_offset >= self.total:
            return
        self.offset = new_offset
        await self._refresh()

    async def _refresh(self) -> None:
        """List the page, show it at once, then fill in details and thumbnails."""
        if self._closed:
            return
        self._generation += 1
        generation = self._generation
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
            self._say(f"Could not list jobs: {escape(str(exc))}", error=True)
            self._first_page.set()
            self._schedule_auto()
            return
        if generation != self._generation or self._closed:
            return
        if not page.jobs and page.total > 0 and self.offset > 0:
            # the page emptied under us (jobs filtered out): go to the last page
            self.offset = max(0, (page.total - 1) // self.limit * self.limit)
            await self._refresh()
            return
        self.refresh_count += 1
        prompts = prompts_for([job.job_id for job in page.jobs])
        self._show_page(page, prompts)
        self._first_page.set()
        if self.list_failed:
            self.list_failed = False
            self._say("")
        self._schedule_auto()
        await self._fill(page, prompts, generation)
        if self._on_page is not None and generation == self._generation:
            self._on_page()  # the page is complete: its saved snapshot follows it

    def _show_page(self, page: SimulationJobsList, prompts: dict[str, str]) -> None:
        self.total = page.total
        data = [
            row_from(info, _details.get(info.job_id), prompts.get(info.job_id))
            for info in page.jobs
        ]
        while len(self._rows) < len(data):
            self._rows.append(BrowserRow(self._clicked, self._shared))
        if len(self._table.children) != len(self._rows):
            self._table.children = tuple(row.box for row in self._rows)
        for row, item in zip(self._rows, data, strict=False):
            row.show(item, _thumbs.get(item.job_id), info_html(item))
        for row in self._rows[len(data) :]:
            row.hide()
        self._rows_data = data
        caption = escape(self.caption)
        if self._caption.value != caption:
            self._caption.value = caption
        self._previous_button.disabled = self.offset <= 0
        self._next_button.disabled = self.offset + self.limit >= self.total

    async def _fill(self, page: SimulationJobsList, prompts: dict[str, str], gen: int) -> None:
        """Details (duration, status) and thumbnails for rows that need them, a few at a time."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(DETAIL_CONCURRENCY)
        semaphore = self._semaphore
        client = await self._client()

        async def one(index: int, job_id: str, status: JobStatus) -> None:
            detail = _details.get(job_id)
            async with semaphore:
                if self._closed or gen != self._generation:
                    return
                if detail is None:
                    detail = await client.get_simulate_status(job_id)
                    if detail.is_terminal:
                        _details.put(job_id, detail)
                thumb = _thumbs.get(job_id)
                if job_id not in _thumbs:
                    thumb = await fetch_thumbnail(client, detail) if detail.streams else None
                    if detail.is_terminal:
                        _thumbs.put(job_id, thumb)
            if self._closed or gen != self._generation:
                return
            item = row_from(page.jobs[index], detail, prompts.get(job_id))
            if index < len(self._rows_data) and self._rows_data[index].job_id == job_id:
                self._rows_data[index] = item
            row = self._rows[index]
            if row.job_id == job_id:
                row.show(item, thumb, info_html(item))

        # Active jobs need no detail yet: the list row has their status, and their
        # duration and thumbnail only exist once they finish.
        wanted = [
            (i, job.job_id, job.status)
            for i, job in enumerate(page.jobs)
            if job.status.is_terminal and (job.job_id not in _details or job.job_id not in _thumbs)
        ]
        results = await asyncio.gather(
            *(one(i, job_id, status) for i, job_id, status in wanted), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                log.debug("could not fill a job browser row: %r", result)

    # ------------------------------------------------------------------ auto refresh

    def _wants_auto(self) -> bool:
        return (
            not self._closed
            and self.auto_refresh
            and (self.list_failed or any(row.is_active for row in self._rows_data))
        )

    def _schedule_auto(self) -> None:
        """Start the timer when something listed is active; stop it as soon as nothing is."""
        task = self._auto_task
        current = asyncio.current_task()
        if self._wants_auto():
            if task is None or task.done():
                self._auto_task = asyncio.get_running_loop().create_task(self._auto_loop())
        elif task is not None and task is not current:
            task.cancel()
            self._auto_task = None

    async def _auto_loop(self) -> None:
        """Re-fetch the page while something on it is active (or the API was unreachable)."""
        delay = self.refresh_interval
        try:
            while self._wants_auto():
                await asyncio.sleep(delay)
                if not self._wants_auto():
                    return
                await self._refresh()
                delay = min(delay * 2, 30.0) if self.list_failed else self.refresh_interval
        finally:
            if self._auto_task is asyncio.current_task():
                self._auto_task = None

    # ------------------------------------------------------------------ actions

    async def _detail(self, job_id: str, *, fresh: bool = False) -> SimulationJobDetail:
        detail = None if fresh else _details.get(job_id)
        if detail is None:
            detail = await (await self._client()).get_simulate_status(job_id)
            if detail.is_terminal:
                _details.put(job_id, detail)
        return detail

    async def _cancel(self, job_id: str) -> None:
        client = await self._client()
        self._say(f"Cancelling <code>{escape(job_id)}</code>…")
        try:
            await client.cancel_simulation(job_id)
        except OdysseyError as exc:
            self.last_error = exc
            reason = escape(str(exc))
            self._say(f"Could not cancel {escape(job_id)}: {reason}", error=True)
            await self._refresh()
            return
        self._say(f"Cancelled <code>{escape(job_id)}</code>.")
        await self._refresh()

    async def _load(self, job_id: str) -> None:
        from odyssey_jupyter.jobs import Job

        loop = asyncio.get_running_loop()
        # Job.from_id may block on the loop (runtime.run): call it from a worker thread.
        job = await loop.run_in_executor(None, Job.from_id, job_id)
        name = f"job_{short_id(job_id)}"
        self.loaded[name] = job
        if self.namespace is not None:
            self.namespace[name] = job
        code = python_call(name, "odyssey_jupyter.Job.from_id", job_id)
        where = "is now in the notebook" if self.namespace is not None else "is in browser.loaded"
        self._say(
            f"<code>{escape(name)}</code> {where}; the same in code: <code>{escape(code)}</code>"
        )

    async def _preview(self, job_id: str, full: bool) -> None:
        """Fetch (only missing files, fresh URLs by stream id) and play under the table."""
        self._preview_job, self._preview_full = job_id, full
        what = "full video" if full else "preview"
        with self._preview_panel.hold_sync():
            self._preview_title.value = (
                f"<b>Fetching the {what} of <code>{escape(job_id)}</code>…</b>"
            )
            self._full_button.layout.display = "none"
            self._preview_panel.layout.display = "flex"
        detail = await self._detail(job_id)
        if str(detail.status) != "completed":
            detail = await self._detail(job_id, fresh=True)
        if str(detail.status) != "completed" or not detail.streams:
            self._preview_title.value = (
                f"<b>Job <code>{escape(job_id)}</code> has no recording "
                f"({escape(str(detail.status))}).</b>"
            )
            self._preview_output.outputs = ()
            return
        client = await self._client()
        recs = await local_recordings(client, detail, full)
        if self._preview_job != job_id or self._preview_full != full:
            return  # another preview was asked for meanwhile
        if not recs:
            self._preview_title.value = (
                f"<b>No recording files could be fetched for <code>{escape(job_id)}</code>.</b>"
            )
            return
        preview_shown = not full and any(
            r.preview_path is not None and Path(r.preview_path).is_file() for r in recs
        )
        body = players_html(recs, prefer_preview=preview_shown)
        text = "\n".join(str(r.preview_path if preview_shown else r.video_path) for r in recs)
        with self._preview_panel.hold_sync():
            label = "Preview" if preview_shown else "Recording"
            self._preview_title.value = f"<b>{label} of <code>{escape(job_id)}</code></b>"
            self._full_button.layout.display = "inline-flex" if preview_shown else "none"
            self._preview_output.outputs = (
                {
                    "output_type": "display_data",
                    "data": {"text/html": body, "text/plain": text},
                    "metadata": {},
                },
            )
