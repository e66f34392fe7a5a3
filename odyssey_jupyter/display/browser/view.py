"""The widget tree of a job browser: toolbar, header, the pool of rows, message, preview.

The browser decides what to show; this draws it. Rows are a fixed pool of widgets
whose values change on each page or refresh, so hours of auto-refresh create no
new widgets. Every method is called from the ``odyssey-loop`` thread, except the
handlers, which hand the click or the new filter straight back to the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from odyssey_jupyter.display.browser.cache import thumbs
from odyssey_jupyter.display.browser.controls import (
    TOOLBAR_CSS,
    BrowserRow,
    PreviewPanel,
    SharedStyles,
    Toolbar,
)
from odyssey_jupyter.display.browser.rows import RowData, header_html, info_html
from odyssey_jupyter.protocol.types import JobStatus

STATUSES = tuple(status.value for status in JobStatus)

OnClick = Callable[[str, BrowserRow | None], None]
OnFilter = Callable[[str | None, bool | None], None]
"""A new status filter (``""``: any) or "Active only" value; ``None`` for what is unchanged."""


def close_tree(widget: widgets.Widget) -> None:
    """Close a widget, its children and their layout/style models (idempotent)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, widgets.Widget):
            part.close()
    widget.close()


class BrowserView:
    """The browser's widgets, and the few ways its page changes on screen."""

    def __init__(
        self, status: str | None, active: bool, on_click: OnClick, on_filter: OnFilter
    ) -> None:
        self.shared = SharedStyles()
        self.rows: list[BrowserRow] = []
        self.on_click = on_click
        self.on_filter = on_filter
        options = [("any status", ""), *((s, s) for s in STATUSES)]
        if status and status not in STATUSES:
            options.append((status, status))
        self.toolbar = Toolbar(options, status or "", active)
        self.message = widgets.HTML(value="")
        header = widgets.HTML(
            value=TOOLBAR_CSS + header_html(), layout=widgets.Layout(margin="0 0 0 56px")
        )
        self.table = widgets.VBox()
        self.preview = PreviewPanel()
        self.widget = widgets.VBox(
            [self.toolbar.box, header, self.table, self.message, self.preview.box],
            _dom_classes=("odyssey-browser",),
        )
        for button, action in (
            (self.toolbar.refresh_button, "refresh"),
            (self.toolbar.previous_button, "previous"),
            (self.toolbar.next_button, "next"),
            (self.preview.full_button, "full"),
            (self.preview.close_button, "close_preview"),
        ):
            button.on_click(lambda _b, action=action: self.on_click(action, None))
        self.toolbar.status_select.observe(self._status_changed, names="value")
        self.toolbar.active_toggle.observe(self._active_changed, names="value")
        self._syncing = False

    def _status_changed(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.on_filter(str(change["new"] or ""), None)

    def _active_changed(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.on_filter(None, bool(change["new"]))

    def say(self, text_html: str, *, error: bool = False) -> None:
        """The message line under the table (red for an error)."""
        value = f'<span style="color:#b91c1c">{text_html}</span>' if error else text_html
        if self.message.value != value:
            self.message.value = value

    def show_filter(self, status: str | None, active: bool) -> None:
        """Set the controls to the filters in force, without calling back."""
        select, toggle = self.toolbar.status_select, self.toolbar.active_toggle
        self._syncing = True
        try:
            if select.value != (status or ""):
                if status and status not in STATUSES:
                    select.options = [*select.options, (status, status)]
                select.value = status or ""
            if toggle.value != active:
                toggle.value = active
        finally:
            self._syncing = False

    def show_rows(self, data: Sequence[RowData], now: datetime) -> None:
        """One row per job (more widgets only when the page is longer than ever before)."""
        while len(self.rows) < len(data):
            self.rows.append(BrowserRow(self.on_click, self.shared))
        if len(self.table.children) != len(self.rows):
            self.table.children = tuple(row.box for row in self.rows)
        for row, item in zip(self.rows, data, strict=False):
            row.show(item, thumbs.get(item.job_id), info_html(item, now))
        for row in self.rows[len(data) :]:
            row.hide()

    def show_paging(self, caption: str, *, first: bool, last: bool) -> None:
        """The caption, and Previous / Next enabled where there is a page to turn to."""
        self.toolbar.set_caption(caption)
        self.toolbar.previous_button.disabled = first
        self.toolbar.next_button.disabled = last

    def update_row(
        self, index: int, item: RowData, thumb: tuple[bytes, str] | None, now: datetime
    ) -> None:
        """Redraw row ``index`` with what was fetched, if it still shows that job."""
        row = self.rows[index]
        if row.job_id == item.job_id:
            row.show(item, thumb, info_html(item, now))

    def retell(self, data: Sequence[RowData], now: datetime) -> None:
        """ "Created" told afresh ("3 min ago" becomes "4 min ago"), nothing else redrawn."""
        for row, item in zip(self.rows, data, strict=False):
            if row.job_id == item.job_id:
                row.set_info(info_html(item, now))

    def row(self, job_id: str) -> BrowserRow:
        for row in self.rows:
            if row.job_id == job_id:
                return row
        raise KeyError(f"job {job_id} is not on the page shown")

    def close(self) -> None:
        for row in self.rows:
            row.close()  # also the confirm buttons, which are not always in the tree
        close_tree(self.widget)
