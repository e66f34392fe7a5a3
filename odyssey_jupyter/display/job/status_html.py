"""A status view as HTML: the badge and the widget's panel, in JupyterLab's theme colours.

Pure functions of a :class:`~odyssey_jupyter.display.job.status_view.StatusView`: the
live widget sets the panel as one ``HTML`` value, and the final output reuses
the badge. Every string from the view is escaped here (``ipywidgets.HTML`` sets
``innerHTML`` with no sanitiser). Text and accent colours are JupyterLab CSS
variables with light-theme fallbacks, so JupyterLab Dark reads right and other
frontends keep today's look.
"""

from __future__ import annotations

from odyssey_jupyter.display.common.palette import status_colour
from odyssey_jupyter.display.common.relative_time import format_duration
from odyssey_jupyter.display.job.status_view import StatusView, StreamRow
from odyssey_jupyter.text.markup import class_name, escape

ERROR_STYLE = "color:var(--jp-error-color1,#c62828)"
WARN_STYLE = "color:var(--jp-warn-color1,#ef6c00)"
MUTED_STYLE = "color:var(--jp-ui-font-color2,#616161)"
PANEL_STYLE = "color:var(--jp-ui-font-color1,#212121);font-family:var(--jp-ui-font-family,inherit)"
_ROW = '<div style="display:flex;gap:10px;align-items:center;flex-wrap:wrap">'


def badge_html(status: str, css_class: str) -> str:
    colour = status_colour(status)
    return (
        f'<span class="odyssey-badge {escape(css_class)}" style="background:{colour};color:#fff;'
        'padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600">'
        f"{escape(status)}</span>"
    )


def time_left_text(view: StatusView) -> str | None:
    """ "~42.0 s left" while rendering with a known rate; ``None`` otherwise."""
    if view.time_left_s is None:
        return None
    return f"~{format_duration(view.time_left_s)} left"


def _header(view: StatusView) -> str:
    ident = escape(view.job_id or "—")
    bits = [
        badge_html(view.status, view.badge_class),
        f'<code class="odyssey-job-id" style="user-select:text;-webkit-user-select:text">'
        f"{ident}</code>",
        f'<span class="odyssey-elapsed">{format_duration(view.elapsed_s)}</span>',
    ]
    if view.wait_text:
        bits.append(f'<span class="odyssey-wait">{escape(view.wait_text)}</span>')
    if view.reconnecting:
        bits.append(
            f'<span class="odyssey-reconnecting" style="{WARN_STYLE}">reconnecting...</span>'
        )
    return f"{_ROW}{''.join(bits)}</div>"


def _bar(view: StatusView) -> str:
    """Determinate when the server reports progress, indeterminate (animated) otherwise."""
    if view.progress is not None or view.terminal:
        value = view.stage_fraction
        bar = f'<progress class="odyssey-progress" max="1" value="{value:.3f}"></progress>'
    else:
        bar = '<progress class="odyssey-progress odyssey-progress-stage"></progress>'
    stage = view.stage
    if view.progress is not None and not view.terminal:
        stage = f"{stage} {view.progress:.0%}"
    left = time_left_text(view)
    eta = (
        f'<span class="odyssey-time-left" style="{MUTED_STYLE}">{escape(left)}</span>'
        if left
        else ""
    )
    return f'{_ROW}{bar}<span class="odyssey-stage">{escape(stage)}</span>{eta}</div>'


def _stream(stream: StreamRow) -> str:
    css = "odyssey-status-" + class_name(stream.status)
    err = (
        f' <span class="odyssey-error" style="{ERROR_STYLE}">{escape(stream.error)}</span>'
        if stream.error
        else ""
    )
    return (
        f'<div class="odyssey-stream">{badge_html(stream.status, css)} '
        f"{escape(stream.label)}{err}</div>"
    )


def panel_html(view: StatusView, *, note: str | None = None, summary: bool = True) -> str:
    """The widget's whole text part as one HTML fragment (one model, one update per change)."""
    parts = [f'<div class="odyssey-status-panel" style="{PANEL_STYLE}">{_header(view)}', _bar(view)]
    parts += [_stream(stream) for stream in view.streams]
    parts += [
        f'<div class="odyssey-warning" style="{WARN_STYLE}">{escape(line)}</div>'
        for line in view.warnings
    ]
    error = "; ".join(e for e in (view.error, note) if e)
    if error:
        parts.append(f'<div class="odyssey-error" style="{ERROR_STYLE}">{escape(error)}</div>')
    if view.summary and summary:
        parts.append(f'<div class="odyssey-summary-line">{escape(view.summary)}</div>')
    parts.append("</div>")
    return "".join(parts)
