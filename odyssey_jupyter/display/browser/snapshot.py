"""What a job browser leaves behind: the last page it showed, as a static table.

A browser is a tree of widgets; saved without widget state it reopens as "Error
displaying widget". So ``%odyssey_jobs`` displays it under a display id, and the
browser is frozen into a snapshot (``update_display`` of that same output) when it
is closed, when a newer browser is opened in the same kernel, and when the kernel
exits. The snapshot holds the thumbnails this kernel has (embedded, a few kB
each, so the table needs no file route), status, created, duration and prompt, and
a line saying when it was taken and that re-running the cell makes it live again.

A headless run (nobody watching, see :func:`~odyssey_jupyter.display.common.frontend.headless`)
gets the snapshot of the complete first page straight away: a live browser would
only be saved as a widget view, which the stock nbconvert exporters cannot draw.

Times in a snapshot are absolute ("2026-12-07 14:03 UTC"): "just now" is only true
while a browser is live.

A notebook saved while its browser is still live holds the widget view, which
JupyterLab and Notebook 7 reopen as "Error displaying widget". So a second, small
output under the live browser keeps a folded copy of the last complete page
(``<details>``), refreshed as pages load; the freeze empties it, since the
snapshot then takes the browser's own place.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from odyssey_jupyter.display.browser.cache import thumbs
from odyssey_jupyter.display.browser.rows import COLUMNS, RowData, cells_html, text_table
from odyssey_jupyter.display.common.palette import MUTED_TEXT
from odyssey_jupyter.display.common.relative_time import full_time
from odyssey_jupyter.display.job.final import MimeBundle
from odyssey_jupyter.display.live.final_output import publish
from odyssey_jupyter.text.markup import escape, safe_url


class ShownBrowser(Protocol):
    """What an output needs of a job browser (:class:`~.widget.JobBrowser`)."""

    closed: bool
    on_close: Callable[[], object] | None
    on_page: Callable[[], object] | None

    @property
    def rows(self) -> list[RowData]: ...
    @property
    def caption(self) -> str: ...
    def wait_page(self, complete: bool) -> None: ...
    def shown(self) -> None: ...
    def close(self) -> None: ...
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]: ...


_live: list[BrowserOutput] = []
_lock = threading.Lock()


def _thumb_html(job_id: str) -> str:
    thumb = thumbs.get(job_id)
    if not thumb:
        return ""
    data, fmt = thumb
    src = safe_url(f"data:image/{fmt};base64,{base64.b64encode(data).decode('ascii')}")
    return f'<img class="odyssey-thumb" src="{src}" alt="" width="48" height="48">'


def taken_line(when: datetime) -> str:
    stamp = full_time(when)
    return f"Snapshot taken {stamp}. Re-run this cell to make the job browser live again."


def snapshot_bundle(browser: ShownBrowser, when: datetime | None = None) -> MimeBundle:
    """The page the browser shows now, as static HTML with thumbnails and as text."""
    when = when or datetime.now(timezone.utc)
    rows = browser.rows
    caption = f"Odyssey jobs: {browser.caption}"
    line = taken_line(when)
    head = "<th></th>" + "".join(
        f"<th style='text-align:left'>{escape(name)}</th>" for name, _ in COLUMNS
    )
    body = "".join(
        f'<tr data-job-id="{escape(row.job_id)}">'
        f"<td>{_thumb_html(row.job_id)}</td>"
        + "".join(f"<td>{cell}</td>" for cell in cells_html(row, None))
        + "</tr>"
        for row in rows
    )
    table = (
        '<div class="odyssey-browser-snapshot">'
        '<table class="odyssey-jobs"><caption style="text-align:left">'
        f"{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
        f'<div class="odyssey-snapshot-note" style="color:{MUTED_TEXT};font-size:0.9em">'
        f"{escape(line)}</div></div>"
    )
    text = f"{text_table(rows, caption, None)}\n{line}"
    return {"text/html": table, "text/plain": text}


def folded_copy(browser: ShownBrowser) -> MimeBundle:
    """The snapshot folded under one line, shown under a live browser for saved copies."""
    bundle = snapshot_bundle(browser)
    return {
        "text/html": (
            f'<details class="odyssey-browser-saved" style="font-size:0.85em;color:{MUTED_TEXT}">'
            "<summary>Saved copy of this page (shown when the notebook is reopened without "
            f"its kernel)</summary>{bundle['text/html']}</details>"
        ),
        "text/plain": bundle["text/plain"],
    }


class BrowserOutput:
    """A displayed job browser: live under display ids until it is frozen.

    One per browser: displaying the same browser again adds a view (a second display
    id) rather than freezing the first, and the freeze replaces every view.
    """

    def __init__(self, browser: ShownBrowser) -> None:
        self.browser = browser
        self.display_ids: list[str] = []
        self.frozen = False
        self._lock = threading.Lock()

    @classmethod
    def of(cls, browser: ShownBrowser) -> BrowserOutput:
        """The live output of ``browser``, or a new one."""
        for output in live_browsers():
            if output.browser is browser:
                return output
        return cls(browser)

    @property
    def display_id(self) -> str | None:
        """The first view's display id (``None`` before :meth:`show`)."""
        return self.display_ids[0] if self.display_ids else None

    def show(self) -> BrowserOutput:
        """Freeze the browsers shown before (their cells keep a snapshot), then show this one.

        A browser already closed shows its snapshot: there is nothing live to show.
        """
        from odyssey_jupyter.display.common.frontend import detect_frontend, headless
        from odyssey_jupyter.session import at_exit

        if not (self.frozen or self.browser.closed) and headless():
            self.browser.wait_page(complete=True)  # headless: the complete page, once
            self.frozen = True
            self.browser.close()
        if self.frozen or self.browser.closed:
            publish(snapshot_bundle(self.browser), f"odyssey-jobs-{uuid.uuid4().hex}", update=False)
            return self
        for older in live_browsers():
            if older is not self:
                older.freeze()
        display_id = f"odyssey-jobs-{uuid.uuid4().hex}"
        publish(self.browser._repr_mimebundle_(), display_id, update=False)
        if detect_frontend() == "widget":  # a text frontend has nothing to reopen
            publish(folded_copy(self.browser), f"{display_id}-saved", update=False)
        with _lock:
            self.display_ids.append(display_id)
            if self not in _live:
                _live.append(self)
        self.browser.on_close = self.freeze
        self.browser.on_page = self._page_shown
        self.browser.shown()
        at_exit.on_exit(_freeze_at_exit)  # also without %load_ext: a browser from code
        return self

    def _page_shown(self) -> None:
        """Loop thread: a page is complete; the folded copies follow it."""
        if not self.frozen:
            copy = folded_copy(self.browser)
            for display_id in list(self.display_ids):
                publish(copy, f"{display_id}-saved", update=True)

    def freeze(self) -> bool:
        """Replace every view of the live browser by its snapshot and close it (once)."""
        with self._lock:
            if self.frozen:
                return False
            self.frozen = True
        with _lock:
            if self in _live:
                _live.remove(self)
        try:
            bundle = snapshot_bundle(self.browser)
            for display_id in list(self.display_ids):
                publish(bundle, display_id, update=True)
                publish({"text/plain": ""}, f"{display_id}-saved", update=True)
        finally:
            self.browser.on_page = None
            self.browser.on_close = None
            self.browser.close()
        return True


def _freeze_at_exit() -> None:
    freeze_all()


def live_browsers() -> list[BrowserOutput]:
    with _lock:
        return list(_live)


def freeze_all() -> int:
    """Freeze every live browser (kernel shutdown); how many were."""
    count = 0
    for output in live_browsers():
        try:
            count += output.freeze()
        except Exception:  # shutting down: keep going
            continue
    return count


__all__ = ["BrowserOutput", "freeze_all", "live_browsers", "snapshot_bundle", "taken_line"]
