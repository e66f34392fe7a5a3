"""The job browser's widgets: the toolbar, one reusable table row, the preview panel.

Rows are created once per page slot and re-filled on every page turn or
refresh, so auto-refreshing for hours creates no new widget models. Layouts and
styles are shared models, so a row costs ten widgets rather than twenty.
Every method except the constructors runs on the ``odyssey-loop`` thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from odyssey_jupyter.display.browser.rows import RowData
from odyssey_jupyter.text.markup import escape

TOOLBAR_CSS = (
    "<style>.odyssey-browser-caption .widget-html-content,"
    ".odyssey-browser-caption .jupyter-widget-html-content"
    "{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}</style>"
)
"""Keeps the caption on the toolbar's line: it shortens with an ellipsis instead of
wrapping (an ``HTML`` widget's style has no ``white-space``)."""

# 1x1 transparent GIF: an empty Image value renders as a broken-image icon in browsers.
_BLANK = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


class SharedStyles:
    """Layouts and styles shared by every row: one model each instead of one per row."""

    def __init__(self) -> None:
        self.thumb = widgets.Layout(
            width="48px",
            min_width="48px",
            max_width="48px",
            height="48px",
            object_fit="cover",
            flex="0 0 48px",
        )
        # the text cells may shrink (they ellipsize); the buttons never do
        self.info = widgets.Layout(
            flex="1 1 auto", min_width="0", margin="0 0 0 8px", overflow="hidden"
        )
        self.button = widgets.Layout(width="auto", margin="0 2px", flex="0 0 auto")
        self.actions = widgets.Layout(align_items="center", flex="0 0 auto")
        self.button_style = widgets.ButtonStyle()
        self.html_style = HTMLStyle()


class BrowserRow:
    """One reusable table row; ``job_id`` says which job it shows right now."""

    def __init__(self, on_click: Callable[[str, BrowserRow], None], shared: SharedStyles) -> None:
        self.job_id: str | None = None
        self.data: RowData | None = None
        self.confirming = False
        self.thumb = widgets.Image(value=_BLANK, format="gif", layout=shared.thumb)
        self.info = widgets.HTML(layout=shared.info, style=shared.html_style)

        def button(name: str, label: str, tip: str, kind: str = "") -> widgets.Button:
            return widgets.Button(
                description=label,
                tooltip=tip,
                button_style=kind,
                layout=shared.button,
                style=shared.button_style,
                _dom_classes=(f"odyssey-browser-{name}",),
            )

        self.preview_button = button("preview", "Preview", "Play this job's recording below")
        self.cancel_button = button("cancel", "Cancel", "Cancel this job (asks first)")
        self.load_button = button("load", "Load", "Put a Job handle for this job in the notebook")
        self.confirm_button = button("confirm", "Yes, cancel", "Cancel the job now", "danger")
        self.keep_button = button("keep", "No", "Keep the job running")
        self.actions = widgets.HBox(layout=shared.actions)
        self.box = widgets.HBox(
            [self.thumb, self.info, self.actions],
            layout=widgets.Layout(align_items="center", display="none"),
            _dom_classes=("odyssey-browser-row",),
        )
        self.preview_button.on_click(lambda _b: on_click("preview", self))
        self.cancel_button.on_click(lambda _b: on_click("cancel", self))
        self.load_button.on_click(lambda _b: on_click("load", self))
        self.confirm_button.on_click(lambda _b: on_click("confirm", self))
        self.keep_button.on_click(lambda _b: on_click("keep", self))

    # The methods below run on the loop thread only.

    def show(self, data: RowData, thumb: tuple[bytes, str] | None, html_text: str) -> None:
        changed_job = data.job_id != self.job_id
        with self.box.hold_sync():
            if changed_job:
                self.confirming = False
                self.set_thumb(thumb)
            elif thumb is not None:
                self.set_thumb(thumb)
            self.job_id, self.data = data.job_id, data
            if self.info.value != html_text:
                self.info.value = html_text
            self.preview_button.disabled = not data.can_preview
            self.set_actions()
            if self.box.layout.display != "flex":
                self.box.layout.display = "flex"

    def set_info(self, html_text: str) -> None:
        """New text cells for the same job (the clock re-telling "Created")."""
        if self.info.value != html_text:
            self.info.value = html_text

    def set_thumb(self, thumb: tuple[bytes, str] | None) -> None:
        value, fmt = thumb if thumb is not None else (_BLANK, "gif")
        if self.thumb.value != value:
            with self.thumb.hold_sync():
                self.thumb.format = fmt
                self.thumb.value = value

    def set_actions(self) -> None:
        data = self.data
        if self.confirming and data is not None and data.is_active:
            wanted: tuple[widgets.Widget, ...] = (self.confirm_button, self.keep_button)
        elif data is not None and data.is_active:
            wanted = (self.preview_button, self.cancel_button, self.load_button)
        else:
            wanted = (self.preview_button, self.load_button)
        if tuple(self.actions.children) != wanted:
            self.actions.children = wanted

    def hide(self) -> None:
        self.job_id, self.data, self.confirming = None, None, False
        if self.box.layout.display != "none":
            self.box.layout.display = "none"

    def close(self) -> None:
        for widget in (
            self.thumb,
            self.info,
            self.preview_button,
            self.cancel_button,
            self.load_button,
            self.confirm_button,
            self.keep_button,
            self.actions,
            self.box.layout,
            self.box,
            self.thumb.layout,
            self.info.layout,
            self.info.style,
            self.preview_button.layout,
            self.preview_button.style,
            self.actions.layout,
        ):
            widget.close()


def _compact(description: str, **kwargs: object) -> widgets.Button:
    """A button as wide as its label (ipywidgets' default is a fixed 148 px)."""
    return widgets.Button(
        description=description, layout=widgets.Layout(width="auto", flex="0 0 auto"), **kwargs
    )


class Toolbar:
    """Status filter, "Active only", Refresh, paging and the caption, on one line."""

    def __init__(self, options: Sequence[tuple[str, str]], status: str, active: bool) -> None:
        self.status_select = widgets.Dropdown(
            options=list(options),
            value=status,
            description="Status",
            layout=widgets.Layout(width="210px", flex="0 0 auto"),
        )
        self.active_toggle = widgets.ToggleButton(
            value=active,
            description="Active only",
            tooltip="Show active jobs only",
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self.refresh_button = _compact("Refresh", icon="refresh")
        self.previous_button = _compact("‹ Previous", disabled=True)
        self.next_button = _compact("Next ›", disabled=True)
        # the caption takes what is left and shortens (never wraps below the buttons)
        self.caption = widgets.HTML(
            value="Loading jobs…",
            layout=widgets.Layout(flex="1 1 auto", min_width="0", overflow="hidden"),
            _dom_classes=("odyssey-browser-caption",),
        )
        self.box = widgets.HBox(
            [
                self.status_select,
                self.active_toggle,
                self.refresh_button,
                self.previous_button,
                self.next_button,
                self.caption,
            ],
            layout=widgets.Layout(align_items="center", flex_flow="row nowrap"),
            _dom_classes=("odyssey-browser-toolbar",),
        )

    def set_caption(self, text: str) -> None:
        """ "Showing 21-40 of 143": the filters in force show in the controls beside it."""
        if self.caption.value != escape(text):
            self.caption.value = escape(text)


class PreviewPanel:
    """Under the table: the title, "Full video", "Close preview" and the players."""

    def __init__(self) -> None:
        self.title = widgets.HTML(value="")
        self.full_button = _compact("Full video", tooltip="Download and play the full recording")
        self.close_button = _compact("Close preview")
        self.output = widgets.Output(_dom_classes=("odyssey-browser-preview-area",))
        self.box = widgets.VBox(
            [widgets.HBox([self.title, self.full_button, self.close_button]), self.output],
            layout=widgets.Layout(display="none"),
        )

    def fetching(self, what_html: str) -> None:
        with self.box.hold_sync():
            self.title.value = what_html
            self.full_button.layout.display = "none"
            self.box.layout.display = "flex"

    def show(self, title_html: str, body_html: str, text: str, *, can_go_full: bool) -> None:
        with self.box.hold_sync():
            self.title.value = title_html
            self.full_button.layout.display = "inline-flex" if can_go_full else "none"
            self.output.outputs = (
                {
                    "output_type": "display_data",
                    "data": {"text/html": body_html, "text/plain": text},
                    "metadata": {},
                },
            )

    def clear(self, title_html: str | None = None) -> None:
        """Empty the players; with a title, keep the panel open to say why."""
        if title_html is None:
            self.output.outputs = ()
            self.box.layout.display = "none"
            return
        self.title.value = title_html
        self.output.outputs = ()
