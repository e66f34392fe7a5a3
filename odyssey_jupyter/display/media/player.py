"""Inline players for downloaded recordings, as plain HTML that survives a saved notebook.

Why plain ``text/html`` with a relative ``<video src>``: JupyterLab and Notebook 7
rewrite a relative ``src`` in a display output to their ``/files/`` route, so the
video plays from the local download directory long after presigned URLs expire;
the project's labextension does the same for ``poster``, which they leave alone.
``<source>`` is stripped in untrusted notebooks, so ``src`` sits on ``<video>``
itself. The chapter list seeks the video through one ``onclick`` on the list (each
item carries its time as ``data-time``); untrusted, the handler is stripped and a
plain list of times and prompts remains. At most ``MAX_CHAPTERS`` are listed: an
events log may hold hundreds of thousands of prompts. Where files
cannot be served (Colab, VS Code) a size-capped base64 copy is embedded instead.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from odyssey_jupyter.display.common.frontend import serves_no_files
from odyssey_jupyter.display.common.labels import from_a_batch, stream_name, stream_numbers
from odyssey_jupyter.display.common.palette import BODY_TEXT, MUTED_TEXT, PANEL, RULE, TEXT, WARNING
from odyssey_jupyter.display.common.relative_time import format_duration, format_timestamp
from odyssey_jupyter.session.mp4_info import Mp4Info, read_mp4_info
from odyssey_jupyter.text.markup import escape, printable, safe_url

if TYPE_CHECKING:
    from odyssey_jupyter.session.config import OdysseyJupyter


class ChapterLike(Protocol):
    @property
    def time_s(self) -> float: ...
    @property
    def prompt(self) -> str: ...
    @property
    def action(self) -> str: ...


class RecordingLike(Protocol):
    """What a player needs of :class:`odyssey_jupyter.session.recording.LocalRecording`."""

    @property
    def stream_id(self) -> str: ...
    @property
    def script_index(self) -> int: ...
    @property
    def video_path(self) -> Path: ...
    @property
    def thumbnail_path(self) -> Path | None: ...
    @property
    def preview_path(self) -> Path | None: ...
    @property
    def duration_seconds(self) -> float | None: ...
    @property
    def frame_count(self) -> int | None: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def chapters(self) -> Sequence[ChapterLike]: ...


_MIME = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

# One handler on the chapter list for all its items: the clicked item's data-time seeks
# the sibling video (the list and the video share one .odyssey-player parent).
_SEEK_JS = (
    "var c=event.target.closest('[data-time]');if(!c||!this.contains(c))return;"
    "var p=this.closest('.odyssey-player');var v=p&&p.querySelector('video');"
    "if(v){v.currentTime=parseFloat(c.getAttribute('data-time'));v.play();}return false;"
)

MAX_CHAPTERS = 200
"""Chapters a player lists at most; a line says how many more the events log holds."""


def should_embed(path: Path | None, config: OdysseyJupyter | None = None) -> bool:
    """Whether to inline ``path`` as a data URL, per ``embed_videos`` and ``embed_max_mb``.

    ``never``: always a file reference. ``always``: embed when the file fits the cap.
    ``auto``: embed only where files cannot be served (Colab, VS Code), under the cap.
    """
    if config is None:
        from odyssey_jupyter.session.config import get_config

        config = get_config()
    policy = str(config.embed_videos).lower()
    if path is None or policy == "never":
        return False
    if policy == "auto" and not serves_no_files():
        return False
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False
    return size <= float(config.embed_max_mb) * 1024 * 1024


def relative_src(path: Path, base_dir: Path | None = None) -> str:
    """``path`` relative to the notebook's working directory, URL-quoted, with ``/``."""
    base = Path(base_dir) if base_dir is not None else Path(os.getcwd())
    try:
        rel = os.path.relpath(Path(path).absolute(), base.absolute())
    except ValueError:  # another drive on Windows: nothing relative exists
        rel = str(Path(path).absolute())
    return quote(Path(rel).as_posix(), safe="/._-~")


def data_url(path: Path) -> str:
    """The file as a base64 ``data:`` URL (size is the caller's business)."""
    mime = _MIME.get(Path(path).suffix.lower(), "application/octet-stream")
    payload = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:{mime};base64,{payload}"


def video_src(path: Path, base_dir: Path | None = None, *, embed: bool | None = None) -> str:
    """The file as a data URL when embedded, else a relative URL served by Jupyter.

    ``embed=None`` asks :func:`should_embed` (the configuration and the frontend).
    """
    if embed is None:
        embed = should_embed(path)
    if embed and Path(path).is_file():
        return data_url(path)
    return relative_src(path, base_dir)


def _facts(rec: RecordingLike, preview_path: Path | None) -> list[str]:
    """Length, size and frames of what plays: the preview's own when it is the preview."""
    facts: list[str] = []
    shown: RecordingLike | Mp4Info = rec
    if preview_path is not None:
        facts.append("short preview")
        shown = read_mp4_info(preview_path)
    if shown.duration_seconds is not None:
        facts.append(format_duration(shown.duration_seconds))
    if shown.width and shown.height:
        facts.append(f"{shown.width}×{shown.height}")
    if shown.frame_count is not None:
        facts.append(f"{shown.frame_count} frames")
    return facts


def _more_chapters(count: int) -> str:
    """The line that stands for the chapters left out of a list."""
    return f"… and {count:,} more chapter{'s' if count != 1 else ''} (not listed)"


def chapters_html(rec: RecordingLike) -> str:
    """The prompt chapters as a list that seeks the video (plain list when untrusted):
    the first ``MAX_CHAPTERS``, then a line saying how many more there are."""
    if not rec.chapters:
        return ""
    items = []
    for chapter in rec.chapters[:MAX_CHAPTERS]:
        stamp = format_timestamp(chapter.time_s)
        items.append(
            f'<li class="odyssey-chapter" data-time="{chapter.time_s:.3f}" '
            f'title="seek to {stamp}" style="cursor:pointer">'
            f'<span class="odyssey-chapter-time" style="font-family:monospace;color:{MUTED_TEXT}">'
            f"{stamp}</span> "
            f'<span class="odyssey-chapter-prompt">{escape(chapter.prompt or "")}</span>'
            "</li>"
        )
    left_out = len(rec.chapters) - MAX_CHAPTERS
    if left_out > 0:
        items.append(
            f'<li class="odyssey-chapters-more" style="list-style:none;color:{MUTED_TEXT}">'
            f"{escape(_more_chapters(left_out))}</li>"
        )
    return (
        f'<ol class="odyssey-chapters" onclick="{escape(_SEEK_JS)}" '
        'style="margin:4px 0 0 0;padding-left:1.4em;'
        f'font-size:0.9em;color:{BODY_TEXT}">' + "".join(items) + "</ol>"
    )


GRID_GAP_PX = 12
COLUMN_PX = {True: (280, 640), False: (160, 240)}
"""Landscape (True) and portrait columns: (narrowest, widest) in CSS pixels.

The narrowest decides how many fit side by side; the widest keeps a single player
(or two in a wide output) from growing past a comfortable size.
"""


def is_landscape(rec: RecordingLike) -> bool:
    """Wider than tall; unknown sizes count as portrait, the API's default."""
    return bool(rec.width and rec.height and rec.width > rec.height)


def video_style(rec: RecordingLike) -> str:
    """The video's box: its column's width at the recording's own shape, black letterbox.

    Set before the file's metadata loads, so the grid does not jump when it does.
    """
    ratio = f"{rec.width}/{rec.height}" if rec.width and rec.height else "704/1280"
    return f"width:100%;aspect-ratio:{ratio};object-fit:contain;display:block;background:#000"


def grid_style(recs: Sequence[RecordingLike]) -> str:
    """Equal columns, as many side by side as fit; one player alone keeps a sensible size."""
    narrow, wide = COLUMN_PX[any(is_landscape(rec) for rec in recs)]
    count = max(len(recs), 1)
    return (
        "display:grid;grid-template-columns:"
        f"repeat(auto-fit,minmax(min(100%,{narrow}px),1fr));gap:{GRID_GAP_PX}px;"
        f"align-items:start;max-width:{count * wide + (count - 1) * GRID_GAP_PX}px"
    )


def _first_prompt(rec: RecordingLike) -> str:
    return next((c.prompt for c in rec.chapters if c.prompt), "")


def headings(recs: Sequence[RecordingLike]) -> list[str]:
    """Each player's heading: "Script 2 · <first prompt>" in a batch, the prompt alone if
    the job has one stream. Numbers count from 1 (:mod:`odyssey_jupyter.display.common.labels`)."""
    indexes = [rec.script_index for rec in recs]
    batch = from_a_batch(indexes)
    found = []
    for rec, (number, count) in zip(recs, stream_numbers(indexes), strict=True):
        name = ""
        if batch or count > 1:
            name = stream_name(rec.script_index, number, batch=batch, several=count > 1)
        parts = [part for part in (name, _first_prompt(rec)) if part]
        found.append(" · ".join(parts) or "recording")
    return [text[:1].upper() + text[1:] for text in found]


def plays_preview(rec: RecordingLike) -> bool:
    """Whether ``rec`` has its short preview on disk to play."""
    return rec.preview_path is not None and Path(rec.preview_path).is_file()


def played_path(rec: RecordingLike, prefer_preview: bool = False) -> Path:
    """The file a player plays: the short preview when preferred and on disk, else the video."""
    if prefer_preview and plays_preview(rec) and rec.preview_path is not None:
        return Path(rec.preview_path)
    return Path(rec.video_path)


def player_html(
    rec: RecordingLike,
    *,
    label: str | None = None,
    embed: bool = False,
    base_dir: Path | None = None,
    prefer_preview: bool = False,
) -> str:
    """One recording's card: heading, video, poster, facts, download link and chapters.

    ``prefer_preview`` plays the short preview file when it is on disk (the browser's
    quick look); the full video stays one click away. The heading keeps to one line
    (the whole text and the stream id are in its tooltip), so a long prompt or id never
    widens a column.
    """
    video_path = played_path(rec, prefer_preview)
    preview = video_path != Path(rec.video_path)
    src = video_src(video_path, base_dir, embed=embed)
    poster = ""
    if rec.thumbnail_path is not None and Path(rec.thumbnail_path).is_file():
        # JupyterLab does not rewrite a relative poster: the labextension resolves it.
        poster = f' poster="{safe_url(video_src(rec.thumbnail_path, base_dir, embed=embed))}"'
    heading = label or headings([rec])[0]
    tooltip = escape(f"{heading}\nstream {rec.stream_id}")
    facts = " · ".join(escape(f) for f in _facts(rec, video_path if preview else None))
    link_src = safe_url(relative_src(video_path, base_dir))
    missing = ""
    if not video_path.is_file():
        missing = (
            f'<div class="odyssey-missing" style="color:{WARNING}">File missing: '
            f"{link_src} (job.recordings() downloads it again)</div>"
        )
    return (
        f'<div class="odyssey-player" data-stream-id="{escape(rec.stream_id)}" '
        f'style="min-width:0;box-sizing:border-box;padding:6px;border:1px solid {RULE};'
        f'border-radius:4px;background:{PANEL};color:{BODY_TEXT}">'
        f'<div class="odyssey-player-title" title="{tooltip}" style="font-weight:600;'
        f"color:{TEXT};white-space:nowrap;overflow:hidden;text-overflow:ellipsis;"
        f'margin-bottom:4px">{escape(heading)}</div>'
        f'<video class="odyssey-video" controls preload="metadata" src="{safe_url(src)}"'
        f'{poster} style="{video_style(rec)}"></video>'
        f'<div class="odyssey-player-facts" style="font-size:0.9em;color:{MUTED_TEXT}">{facts}'
        f'{" · " if facts else ""}<a class="odyssey-download" href="{link_src}" download>'
        "download</a></div>"
        f"{missing}{chapters_html(rec)}</div>"
    )


def players_html(
    recs: Sequence[RecordingLike],
    *,
    labels: Sequence[str | None] | None = None,
    embed: bool | None = None,
    base_dir: Path | None = None,
    prefer_preview: bool = False,
    config: OdysseyJupyter | None = None,
) -> str:
    """The players in a grid of equal columns (a batch's streams side by side).

    ``embed=None`` decides per file with :func:`should_embed` and the configuration.
    """
    named = headings(recs)
    parts = []
    for index, rec in enumerate(recs):
        label = labels[index] if labels is not None else None
        use_embed = (
            should_embed(played_path(rec, prefer_preview), config) if embed is None else embed
        )
        parts.append(
            player_html(
                rec,
                label=label or named[index],
                embed=use_embed,
                base_dir=base_dir,
                prefer_preview=prefer_preview,
            )
        )
    return f'<div class="odyssey-players" style="{grid_style(recs)}">' + "".join(parts) + "</div>"


def player_text(rec: RecordingLike, base_dir: Path | None = None) -> str:
    """A recording in one line plus its chapters, for text-only frontends."""
    facts = ", ".join(_facts(rec, None))
    lines = [f"{relative_src(rec.video_path, base_dir)}" + (f" ({facts})" if facts else "")]
    lines += [f"    {format_timestamp(c.time_s)}  {c.prompt}" for c in rec.chapters[:MAX_CHAPTERS]]
    if len(rec.chapters) > MAX_CHAPTERS:
        lines.append("    " + _more_chapters(len(rec.chapters) - MAX_CHAPTERS))
    return printable("\n".join(lines))


class PlayerGroup:
    """Displayable players for some recordings: HTML in notebooks, file list as text."""

    def __init__(
        self,
        recs: Sequence[RecordingLike],
        *,
        labels: Sequence[str | None] | None = None,
        embed: bool | None = None,
        base_dir: Path | None = None,
        prefer_preview: bool = False,
    ) -> None:
        self.recordings = list(recs)
        self.labels = labels
        self.embed = embed
        self.base_dir = base_dir
        self.prefer_preview = prefer_preview

    def _repr_html_(self) -> str:
        return players_html(
            self.recordings,
            labels=self.labels,
            embed=self.embed,
            base_dir=self.base_dir,
            prefer_preview=self.prefer_preview,
        )

    def __repr__(self) -> str:
        count = len(self.recordings)
        head = f"{count} recording{'s' if count != 1 else ''}"
        body = [player_text(rec, self.base_dir) for rec in self.recordings]
        if count > 1:  # a batch: say which is which, as the players' headings do
            named = headings(self.recordings)
            body = [printable(name) + "\n  " + text for name, text in zip(named, body, strict=True)]
        return "\n".join([head, *("  " + b.replace("\n", "\n  ") for b in body)])

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]
