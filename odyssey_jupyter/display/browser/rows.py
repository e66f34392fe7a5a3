"""What one row of the job browser says, and the same table as text and HTML.

Kept apart from the widgets so the text fallback (terminal IPython), the HTML
fallback (nbconvert) and the widget rows all read one ``RowData`` and agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from odyssey_jupyter.display.common.palette import status_colour, tint
from odyssey_jupyter.display.common.relative_time import (
    absolute_time,
    format_duration,
    full_time,
    relative_time,
)
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail, SimulationJobInfo
from odyssey_jupyter.text.markup import class_name, escape, printable

DASH = "—"
PROMPT_CHARS = 80

# Column widths (px) shared by the widget header, the widget rows and the HTML table.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Job", 120),
    ("Status", 150),
    ("Created", 100),
    ("Duration", 120),
    ("First prompt", 260),
)


@dataclass(frozen=True, slots=True)
class Known:
    """What the local submission history knows of a job (nothing for jobs from elsewhere)."""

    prompt: str | None = None
    stream_count: int | None = None
    expected_seconds: float | None = None
    """Seconds of video the script asks for: every stream, end to end."""


@dataclass(frozen=True, slots=True)
class RowData:
    """One job as the browser shows it."""

    job_id: str
    status: JobStatus
    created_at: str | None = None
    duration_seconds: float | None = None
    """Recorded video length (sum over streams) once known from the job detail."""
    first_prompt: str | None = None
    """From the local submission history; ``None`` for jobs submitted elsewhere."""
    stream_count: int | None = None
    error_message: str | None = None
    progress: float | None = None
    """0..1 while the job renders, when the server reports it."""
    expected_seconds: float | None = None
    """The length the script asks for (from the history), shown while the job is active."""

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def can_preview(self) -> bool:
        return str(self.status) == "completed"


def row_from(
    info: SimulationJobInfo | SimulationJobDetail,
    detail: SimulationJobDetail | None = None,
    known: Known | None = None,
) -> RowData:
    """Merge a list row, the job detail (if fetched) and what the history knows."""
    known = known or Known()
    duration: float | None = None
    streams = known.stream_count
    status, error, progress = info.status, info.error_message, None
    if detail is not None:
        lengths = [s.duration_seconds for s in detail.streams if s.duration_seconds is not None]
        duration = sum(lengths) if lengths else None
        streams = len(detail.streams) or streams
        if detail.status.is_terminal or status.is_active:
            status, error = detail.status, detail.error_message or error
        progress = detail.progress if status.is_active else None
    return RowData(
        job_id=info.job_id,
        status=status,
        created_at=info.created_at,
        duration_seconds=duration,
        first_prompt=known.prompt,
        stream_count=streams,
        error_message=error,
        progress=progress,
        expected_seconds=known.expected_seconds,
    )


def short_id(job_id: str) -> str:
    """Eight identifier characters of a job id, for ``job_<short id>`` names and narrow columns.

    A leading type prefix such as ``job_`` or ``sim-`` is skipped when enough remains,
    so the characters that tell jobs apart are kept.
    """
    clean = re.sub(r"[^0-9A-Za-z_]", "", job_id)
    head, sep, rest = clean.partition("_")
    if sep and len(re.sub(r"_", "", rest)) >= 8 and len(head) <= 4:
        clean = rest
    clean = clean.replace("_", "")
    return clean[:8] or "unknown"


def clip(text: str | None, limit: int = PROMPT_CHARS) -> str:
    """A prompt shortened to one table line."""
    if not text:
        return DASH
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def badge_html(status: JobStatus | str) -> str:
    name = str(status)
    fg = status_colour(name)
    bg = tint(fg)
    return (
        f'<span class="odyssey-badge odyssey-status-{class_name(name)}" '
        f'style="color:{fg};background:{bg};padding:1px 8px;border-radius:9px;'
        f'font-size:0.85em">{escape(name)}</span>'
    )


def progress_text(row: RowData) -> str:
    """ "42%" while an active job reports its progress, else nothing."""
    if not row.is_active or row.progress is None or not math.isfinite(row.progress):
        return ""
    return f"{min(max(row.progress, 0.0), 1.0):.0%}"


def duration_text(row: RowData) -> str:
    """The recorded length; for an active job, the length its script asks for."""
    if row.is_active and row.duration_seconds is None:
        if row.expected_seconds is None:
            return DASH
        return f"{format_duration(row.expected_seconds)} expected"
    return format_duration(row.duration_seconds)


def streams_text(row: RowData) -> str:
    """ "3 streams" for a batch (or a script of several streams); nothing for one."""
    count = row.stream_count
    return f"{count} streams" if count is not None and count > 1 else ""


def prompt_text(row: RowData, limit: int = PROMPT_CHARS) -> str:
    """The first prompt on one line, after the stream count of a batch."""
    prompt = clip(row.first_prompt, limit) if row.first_prompt else ""
    return " · ".join(filter(None, (streams_text(row), prompt))) or DASH


def created_text(row: RowData, now: datetime | None) -> str:
    """ "3 min ago" in a live row (``now`` given); the absolute time in a table that lasts."""
    if now is None:
        return absolute_time(row.created_at)
    return relative_time(row.created_at, now)


def cells_html(row: RowData, now: datetime | None) -> list[str]:
    """A row's cells as HTML, in the order of :data:`COLUMNS` (the widget's and the tables')."""
    created = created_text(row, now)
    title = escape(row.first_prompt or "")
    error = f' title="{escape(row.error_message)}"' if row.error_message else ""
    progress = progress_text(row)
    status = badge_html(row.status) + (
        f' <span class="odyssey-progress">{escape(progress)}</span>' if progress else ""
    )
    streams = streams_text(row)
    prompt = escape(prompt_text(row))
    if streams:  # the count in its own span, so a narrow column still shows it first
        rest = prompt[len(escape(streams)) :]
        prompt = f'<span class="odyssey-streams">{escape(streams)}</span>{rest}'
    expected = ' title="the length its script asks for"' if row.is_active else ""
    return [
        f'<code title="{escape(row.job_id)}">{escape(short_id(row.job_id))}</code>',
        f"<span{error}>{status}</span>",
        f'<span class="odyssey-created" title="{escape(full_time(row.created_at))}">'
        f"{escape(created)}</span>",
        f'<span class="odyssey-duration"{expected}>{escape(duration_text(row))}</span>',
        f'<span title="{title}">{prompt}</span>',
    ]


def info_html(row: RowData, now: datetime | None = None) -> str:
    """The text cells of a widget row: fixed-width blocks aligned with :func:`header_html`."""
    cells = cells_html(row, now)
    return (
        '<div class="odyssey-row" style="display:flex;align-items:center">'
        + "".join(_block(cell, width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))
        + "</div>"
    )


def header_html() -> str:
    """The widget table's header line."""
    return (
        '<div class="odyssey-header" style="display:flex;font-weight:600">'
        + "".join(_block(escape(name), width) for name, width in COLUMNS)
        + "</div>"
    )


def _block(content: str, width: int) -> str:
    return (
        f'<div style="width:{width}px;flex:none;overflow:hidden;white-space:nowrap;'
        f'text-overflow:ellipsis;padding-right:8px">{content}</div>'
    )


def html_table(rows: Sequence[RowData], caption: str, now: datetime | None = None) -> str:
    """The page as a static HTML table (for nbconvert and frontends without widgets).

    Times are absolute unless ``now`` is given: the table is saved and read later.
    """
    head = "".join(f"<th style='text-align:left'>{escape(name)}</th>" for name, _ in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells_html(row, now)) + "</tr>"
        for row in rows
    )
    return (
        '<table class="odyssey-jobs"><caption style="text-align:left">'
        f"{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def text_table(rows: Sequence[RowData], caption: str, now: datetime | None = None) -> str:
    """The page as aligned plain text (terminal IPython, ``text/plain`` outputs).

    Times are absolute unless ``now`` is given, as in :func:`html_table`.
    """
    header = ("JOB", "STATUS", "CREATED", "DURATION", "FIRST PROMPT")
    lines = [
        (
            row.job_id,
            " ".join(filter(None, (str(row.status), progress_text(row)))),
            created_text(row, now),
            duration_text(row),
            prompt_text(row, 60),
        )
        for row in rows
    ]
    widths = [max([len(header[i]), *(len(line[i]) for line in lines)]) for i in range(4)]
    out = [caption]
    for line in (header, *lines):
        cells = [line[i].ljust(widths[i]) for i in range(4)]
        out.append("  ".join([*cells, line[4]]).rstrip())
    return printable("\n".join(out))


def caption_text(total: int, offset: int, shown: int, filters: str = "") -> str:
    """ "Showing 21-40 of 143" (or "No jobs"), with the active filters."""
    suffix = f" ({filters})" if filters else ""
    if total <= 0 or shown <= 0:
        return f"No jobs{suffix}" if offset == 0 else f"Nothing at {offset + 1}+ of {total}{suffix}"
    return f"Showing {offset + 1}-{offset + shown} of {total}{suffix}"
