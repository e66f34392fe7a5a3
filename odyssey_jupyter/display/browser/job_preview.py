"""Playing a completed job under the browser's table: its short previews or full videos.

Only missing files are fetched, with fresh URLs asked by stream id; an answer that
comes after another preview was asked for is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odyssey_jupyter.display.browser.controls import PreviewPanel
from odyssey_jupyter.display.browser.fetch import job_detail, local_recordings
from odyssey_jupyter.display.browser.preview import preview_players
from odyssey_jupyter.text.markup import escape

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey


class JobPreview:
    """The preview area: which job it plays (previews or full videos), and playing it."""

    def __init__(self, panel: PreviewPanel) -> None:
        self.panel = panel
        self.job_id: str | None = None
        self.full = False

    def close(self) -> None:
        self.job_id = None
        self.panel.clear()

    async def play(self, client: Odyssey, job_id: str, full: bool) -> None:
        """Fetch (only missing files, fresh URLs by stream id) and play every stream."""
        self.job_id, self.full = job_id, full
        what = "full video" if full else "preview"
        self.panel.fetching(f"<b>Fetching the {what} of <code>{escape(job_id)}</code>…</b>")
        detail = await job_detail(client, job_id)
        if str(detail.status) != "completed":
            detail = await job_detail(client, job_id, fresh=True)
        if str(detail.status) != "completed" or not detail.streams:
            self.panel.clear(
                f"<b>Job <code>{escape(job_id)}</code> has no recording "
                f"({escape(str(detail.status))}).</b>"
            )
            return
        recs = await local_recordings(client, detail, full)
        if self.job_id != job_id or self.full != full:
            return  # another preview was asked for meanwhile
        if not recs:
            self.panel.title.value = (
                f"<b>No recording files could be fetched for <code>{escape(job_id)}</code>.</b>"
            )
            return
        body, text, previews = preview_players(recs, full=full)
        label = ("Preview" if previews else "Recording") + ("s" if len(recs) > 1 else "")
        title = f"<b>{label} of <code>{escape(job_id)}</code></b>"
        if len(recs) > 1:
            title += f" · {len(recs)} streams"
        self.panel.show(title, body, text, can_go_full=previews)
