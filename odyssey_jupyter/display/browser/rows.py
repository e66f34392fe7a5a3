"""What one row of the job browser says, and the same table as text and HTML.

Kept apart from the widgets so the text fallback (terminal IPython), the HTML
fallback (nbconvert) and the widget rows all read one ``RowData`` and agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from odyssey_jupyter.display.markup import class_name, escape, printable
from odyssey_jupyter.display.palette import status_colour, tint
from odyssey_jupyter.display.relative_time import format_duration, full_time, relative_time
from odyssey_jupyter.types import JobStatus, SimulationJobDetail, SimulationJobInfo

DASH = "—"
PROMPT_CHARS = 80

# Column widths (px) shared by the widget header, the widget rows and the HTML table.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Job", 120),
    ("Status", 100),
    ("Created", 100),
    ("Duration", 80),
    ("First prompt", 260),
)


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

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def can_preview(self) -> bool:
        return str(self.status) == "completed"


def row_from(
    info: SimulationJobInfo | SimulationJobDetail,
    detail: SimulationJobDetail | None = None,
    prompt: str | None = None,
) -> RowData:
    """Merge a list row, the job detail (if fetched) and the history's prompt."""
    duration: float | None = None
    streams: int | None = None
    status = info.status
    error = info.error_message
    if detail is not None:
        known = [s.duration_seconds for s in detail.streams if s.duration_seconds is not None]
        duration = sum(known) if known else None
        streams = len(detail.streams)
        if detail.status.is_terminal or status.is_active:
            status, error = detail.status, detail.error_message or error
    return RowData(
        job_id=info.job_id,
        status=status,
        created_at=info.created_at,
        duration_seconds=duration,
        first_prompt=prompt,
        stream_count=streams,
        error_message=error,
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


def _cells_html(row: RowData, now: datetime | None) -> list[str]:
    created = relative_time(row.created_at, now)
    prompt = clip(row.first_prompt)
    title = escape(row.first_prompt or "")
    error = f' title="{escape(row.error_message)}"' if row.error_message else ""
    return [
        f'<code title="{escape(row.job_id)}">{escape(short_id(row.job_id))}</code>',
        f"<span{error}>{badge_html(row.status)}</span>",
        f'<span title="{escape(full_time(row.created_at))}">{escape(created)}</span>',
        escape(format_duration(row.duration_seconds)),
        f'<span title="{title}">{escape(prompt)}</span>',
    ]


def info_html(row: RowData, now: datetime | None = None) -> str:
    """The text cells of a widget row: fixed-width blocks aligned with :func:`header_html`."""
    cells = _cells_html(row, now)
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
    """The page as a static HTML table (for nbconvert and frontends without widgets)."""
    head = "".join(f"<th style='text-align:left'>{escape(name)}</th>" for name, _ in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in _cells_html(row, now)) + "</tr>"
        for row in rows
    )
    return (
        '<table class="odyssey-jobs"><caption style="text-align:left">'
        f"{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def text_table(rows: Sequence[RowData], caption: str, now: datetime | None = None) -> str:
    """The page as aligned plain text (terminal IPython, ``text/plain`` outputs)."""
    header = ("JOB", "STATUS", "CREATED", "DURATION", "FIRST PROMPT")
    lines = [
        (
            row.job_id,
            str(row.status),
            relative_time(row.created_at, now),
            format_duration(row.duration_seconds),
            clip(row.first_prompt, 60),
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
