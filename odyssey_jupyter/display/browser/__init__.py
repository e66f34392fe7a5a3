"""The job browser (``%odyssey_jobs``, ``JobBrowser``): every job of the account, paged.

One module per job:

- ``widget``: ``JobBrowser``, the widget tree and what its buttons do;
- ``controls``: the toolbar, one reusable table row and the preview panel;
- ``rows``: what a row says, and the same page as text and HTML tables;
- ``preview``: what Preview plays (every stream, muted, chapters within the preview);
- ``fetch``: loop-side reads (prompts, thumbnails, playable recordings);
- ``cache``: finished jobs' details and thumbnails, kept for the process;
- ``snapshot``: the static table a browser leaves in its cell when it is frozen.
"""

from __future__ import annotations

from odyssey_jupyter.display.browser.cache import clear_caches
from odyssey_jupyter.display.browser.snapshot import BrowserOutput, freeze_all, snapshot_bundle
from odyssey_jupyter.display.browser.view import STATUSES
from odyssey_jupyter.display.browser.widget import JobBrowser

__all__ = [
    "STATUSES",
    "BrowserOutput",
    "JobBrowser",
    "clear_caches",
    "freeze_all",
    "snapshot_bundle",
]
