"""A job's output as it lasts: static HTML and text that need no kernel and no widget.

A widget view is saved as a reference to a model; reopened without widget state it
shows "Error displaying widget". So the live widget is shown under a display id,
and once the job is over that same output is replaced (``update_display``) by the
bundle built here: the outcome line, per-stream errors and the players with their
chapters, as ordinary ``text/html`` plus a real ``text/plain``. The same renderer
makes the "last state reached" bundle of a job that was still running when the
kernel stopped.

A state reached so far is saved as a snapshot: it says when it was taken (an
absolute UTC time, since "just now" is false a minute later) and how to see the
job as it is now, and it leaves out what only held at that moment (time left,
estimated wait).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from odyssey_jupyter.display.common.palette import ERROR, MUTED_TEXT
from odyssey_jupyter.display.common.relative_time import format_duration, full_time
from odyssey_jupyter.display.job.status_html import badge_html, panel_html
from odyssey_jupyter.display.job.status_text import status_line
from odyssey_jupyter.display.job.status_view import (
    JobLike,
    StatusView,
    common_dir,
    snapshot,
    stream_facts,
)
from odyssey_jupyter.protocol.types import TERMINAL_STATUSES
from odyssey_jupyter.text.markup import escape, printable, python_literal

MimeBundle = dict[str, str]

_ERROR_STYLE = f"color:{ERROR}"


def outcome_facts(job: JobLike, view: StatusView) -> list[str]:
    """The outcome line after the badge and id: time, streams, length, where the files are."""
    if view.status == "error":
        return [f"not submitted: {view.error or 'unknown error'}"]
    detail = job.detail
    facts: list[str] = []
    if view.terminal and view.status in TERMINAL_STATUSES:
        facts.append(
            f"{view.status} {'in' if view.status == 'completed' else 'after'} "
            f"{format_duration(view.elapsed_s)}"
        )
    elif view.terminal:  # this side stopped following an active job (404/403)
        facts.append(
            f"{view.status} when it stopped being followed, after {format_duration(view.elapsed_s)}"
        )
    else:
        facts.append(f"{view.stage} after {format_duration(view.elapsed_s)}")
    facts += stream_facts(detail)
    failed = [row for row in view.streams if row.error]
    if failed:
        facts.append(f"{len(failed)} stream{'s' if len(failed) != 1 else ''} failed")
    recs = job.local_recordings or []
    if recs:
        facts.append(f"files in {common_dir(recs)}")
    return facts


def _errors(view: StatusView) -> list[str]:
    """The job's own error and each failed stream's, once each."""
    found: list[str] = []
    if view.error:
        found.append(view.error)
    for row in view.streams:
        if row.error:
            found.append(f"{row.label}: {row.error}")
    return list(dict.fromkeys(found))


def final_bundle(job: JobLike, *, players: bool = True) -> MimeBundle:
    """The finished job as ``text/html`` + ``text/plain`` (no widget, works offline)."""
    from odyssey_jupyter.display.media.player import PlayerGroup

    view = snapshot(job)
    facts = outcome_facts(job, view)
    errors = _errors(view) if view.status != "error" else []
    recordings = list(job.local_recordings or []) if players else []
    ident = view.job_id or "(not submitted)"

    lines = [f"Odyssey job {ident}: " + " · ".join(facts)]
    lines += [f"  error: {text}" for text in errors]
    if recordings:
        lines.append(repr(PlayerGroup(recordings)))

    parts = [
        f'<div class="odyssey-status odyssey-final {view.badge_class}" '
        f'data-job-id="{escape(view.job_id or "")}">',
        '<div class="odyssey-outcome" style="display:flex;gap:8px;align-items:center;'
        'flex-wrap:wrap">',
        badge_html(view.status, view.badge_class),
        f'<code class="odyssey-job-id">{escape(ident)}</code>',
        f'<span class="odyssey-facts">{escape(" · ".join(facts))}</span>',
        "</div>",
    ]
    parts += [
        f'<div class="odyssey-error" style="{_ERROR_STYLE}">{escape(text)}</div>' for text in errors
    ]
    if recordings:
        parts.append(PlayerGroup(recordings)._repr_html_())
    parts.append("</div>")
    return {"text/html": "".join(parts), "text/plain": printable("\n".join(lines))}


def saved_view(view: StatusView) -> StatusView:
    """The view as a snapshot shows it: without what held only at that moment."""
    return replace(view, time_left_s=None, wait_text=None)


def snapshot_note(job_id: str | None, when: datetime, *, hint: bool = True) -> str:
    """When a saved state was taken and, with ``hint``, how to see the job as it is now."""
    taken = f"Snapshot of {full_time(when)}"
    if not hint:
        return taken + "."
    if not job_id:
        return taken + ", before the job had an id."
    return (
        f"{taken}; the job may have moved on since. "
        f"odyssey_jupyter.Job.from_id({python_literal(job_id)}) shows it now."
    )


def live_bundle(
    job: JobLike, *, note: str | None = None, when: datetime | None = None
) -> MimeBundle:
    """The state reached so far as a dated snapshot, in static text and HTML.

    It is the live widget's fallback and what a headless run saves; ``note`` (the
    kernel stopped) replaces the hint on how to follow the job again.
    """
    view = saved_view(snapshot(job))
    taken = snapshot_note(view.job_id, when or datetime.now(timezone.utc), hint=note is None)
    notes = [taken] + ([note] if note else [])
    body = panel_html(view, summary=False) + "".join(
        f'<div class="odyssey-note" style="color:{MUTED_TEXT}">{escape(line)}</div>'
        for line in notes
    )
    return {
        "text/html": f'<div class="odyssey-last-state">{body}</div>',
        "text/plain": printable("\n".join([status_line(view), *notes])),
    }


def plain(bundle: dict[str, Any]) -> str:
    """The ``text/plain`` of a bundle (for logs and tests)."""
    return str(bundle.get("text/plain", ""))
