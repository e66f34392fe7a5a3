"""The live status of one job, under the name the README and the magic use.

The parts live in their own modules: the pure view (:mod:`.status_view`, no
widgets), its HTML (:mod:`.status_html`) and text forms (:mod:`.status_text`),
and the widget (:mod:`.status_widget`). This module gathers them so that
``odyssey_jupyter.display.live.status.StatusWidget`` and friends stay where they were.
"""

from __future__ import annotations

from odyssey_jupyter.display.job.status_html import badge_html, panel_html
from odyssey_jupyter.display.job.status_text import JobSummary, TextStatus, status_line
from odyssey_jupyter.display.job.status_view import (
    STAGES,
    JobLike,
    Stage,
    StatusView,
    StreamRow,
    common_dir,
    error_text,
    fmt_seconds,
    snapshot,
    stream_facts,
    time_left,
)
from odyssey_jupyter.display.live.status_widget import TICK_SECONDS, StatusWidget

# The names the final output has imported from here since before the split.
_common_dir = common_dir
_fmt_seconds = fmt_seconds

__all__ = [
    "STAGES",
    "TICK_SECONDS",
    "JobLike",
    "JobSummary",
    "Stage",
    "StatusView",
    "StatusWidget",
    "StreamRow",
    "TextStatus",
    "badge_html",
    "common_dir",
    "error_text",
    "fmt_seconds",
    "panel_html",
    "snapshot",
    "status_line",
    "stream_facts",
    "time_left",
]
