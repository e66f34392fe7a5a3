"""Inline players for downloaded recordings, as plain HTML that survives a saved notebook.

Why plain ``text/html`` with a relative ``<video src>``: JupyterLab and Notebook 7
rewrite a relative ``src`` in a display output to their ``/files/`` route, so the
video plays from the local download directory long after presigned URLs expire.
``<source>`` is stripped in untrusted notebooks, so ``src`` sits on ``<video>``
itself. The chapter list seeks the video through a tiny ``onclick``; untrusted, the
handler is stripped and a plain list of times and prompts remains. Where files
cannot be served (Colab, VS Code) a size-capped base64 copy is embedded instead.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from odyssey_jupyter.display.markup import escape, printable, safe_url
from odyssey_jupyter.display.relative_time import format_duration, format_timestamp
from odyssey_jupyter.recordings import Mp4Info, read_mp4_info

if TYPE_CHECKING:
    from odyssey_jupyter.config import OdysseyJupyter


class ChapterLike(Protocol):
    @property
    def time_s(self) -> float: ...
    @property
    def prompt(self) -> str: ...
    @property
    def action(self) -> str: ...


class RecordingLike(Protocol):
    """What a player needs of :class:`odyssey_jupyter.recordings.LocalRecording`."""

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

# Seeks the sibling video: the chapter list and the video share one .odyssey-player parent.
_SEEK_JS = (
    "var p=this.closest('.odyssey-player');var v=p&&p.querySelector('video');"
    "if(v){v.currentTime=parseFloat(this.getAttribute('data-time'));v.play();}return false;"
)

# JupyterLab and Notebook 7 rewrite a relative ``src`` to their files route, but not
# ``poster``: a hidden <img> of the thumbnail gets the rewritten URL and hands it on.
_POSTER_JS = (
    "var p=this.closest('.odyssey-player');var v=p&&p.querySelector('video');"
    "if(v&&v.poster!==this.src){v.poster=this.src;}"
)


def in_colab() -> bool:
    """Colab serves no local files to outputs: videos must be embedded there."""
    return "google.colab" in sys.modules


def in_vscode() -> bool:
    """VS Code's notebook renderer cannot fetch relative files from the kernel's folder."""
    return any(name in os.environ for name in ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"))


def should_embed(path: Path | None, config: OdysseyJupyter | None = None) -> bool:
    """Whether to inline ``path`` as a data URL, per ``embed_videos`` and ``embed_max_mb``.

    ``never``: always a file reference. ``always``: embed when the file fits the cap.
    ``auto``: embed only where files cannot be served (Colab, VS Code), under the cap.
    """
    if config is None:
        from odyssey_jupyter.config import get_config

        config = get_config()
    policy = str(config.embed_videos).lower()
    if path is None or policy == "never":
        return False
    if policy == "auto" and not (in_colab() or in_vscode()):
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


def _src(path: Path, embed: bool, base_dir: Path | None) -> str:
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


def chapters_html(rec: RecordingLike) -> str:
    """The prompt chapters as a list that seeks the video (plain list when untrusted)."""
    if not rec.chapters:
        return ""
    items = []
    for chapter in rec.chapters:
        stamp = format_timestamp(chapter.time_s)
        items.append(
            f'<li class="odyssey-chapter" data-time="{chapter.time_s:.3f}" '
            f'title="seek to {stamp}" style="cursor:pointer" onclick="{escape(_SEEK_JS)}">'
            f'<span class="odyssey-chapter-time" style="font-family:monospace">{stamp}</span> '
            f'<span class="odyssey-chapter-prompt">{escape(chapter.prompt or "")}</span>'
            "</li>"
        )
    return (
        '<ol class="odyssey-chapters" style="margin:4px 0 0 0;padding-left:1.4em;'
        'font-size:0.9em">' + "".join(items) + "</ol>"
    )


def player_html(
    rec: RecordingLike,
    *,
    label: str | None = None,
    embed: bool = False,
    base_dir: Path | None = None,
    prefer_preview: bool = False,
) -> str:
    """One recording's player: video, poster, facts, download link and chapters.

    ``prefer_preview`` plays the short preview file when it is on disk (the browser's
    quick look); the full video stays one click away.
    """
    preview = bool(prefer_preview and rec.preview_path and Path(rec.preview_path).is_file())
    video_path = Path(rec.preview_path) if preview and rec.preview_path else Path(rec.video_path)
    src = _src(video_path, embed, base_dir)
    poster = poster_fix = ""
    if rec.thumbnail_path is not None and Path(rec.thumbnail_path).is_file():
        poster_src = safe_url(_src(rec.thumbnail_path, embed, base_dir))
        poster = f' poster="{poster_src}"'
        if not embed:
            poster_fix = (
                f'<img class="odyssey-poster" src="{poster_src}" alt="" style="display:none" '
                f'onload="{escape(_POSTER_JS)}">'
            )
    landscape = bool(rec.width and rec.height and rec.width > rec.height)
    # A fixed box, so a small preview and a full-size poster show at the same size.
    size = "width:100%;max-width:640px" if landscape else "height:400px;max-width:100%"
    title = escape(label or f"stream {rec.stream_id}")
    facts = " · ".join(escape(f) for f in _facts(rec, video_path if preview else None))
    link_src = safe_url(relative_src(video_path, base_dir))
    missing = ""
    if not video_path.is_file():
        missing = (
            '<div class="odyssey-missing" style="color:#b45309">File missing: '
            f"{link_src} (job.recordings() downloads it again)</div>"
        )
    return (
        f'<div class="odyssey-player" data-stream-id="{escape(rec.stream_id)}" '
        'style="display:inline-block;vertical-align:top;margin:4px 12px 8px 0;max-width:640px">'
        f'<div class="odyssey-player-title" style="font-weight:600">{title}</div>'
        f'<video class="odyssey-video" controls preload="metadata" src="{safe_url(src)}"'
        f'{poster} style="{size};display:block;background:#000"></video>{poster_fix}'
        f'<div class="odyssey-player-facts" style="font-size:0.9em;color:#555">{facts}'
        f'{" · " if facts else ""}<a class="odyssey-download" href="{link_src}" download>'
        "download</a></div>"
        f"{missing}{chapters_html(rec)}</div>"
    )


def _label(rec: RecordingLike, index: int, total: int) -> str | None:
    if total <= 1:
        return None
    return f"script {rec.script_index} · stream {rec.stream_id}"


def players_html(
    recs: Sequence[RecordingLike],
    *,
    labels: Sequence[str | None] | None = None,
    embed: bool | None = None,
    base_dir: Path | None = None,
    prefer_preview: bool = False,
    config: OdysseyJupyter | None = None,
) -> str:
    """Players side by side (a batch's streams form a grid).

    ``embed=None`` decides per file with :func:`should_embed` and the configuration.
    """
    parts = []
    for index, rec in enumerate(recs):
        label = labels[index] if labels is not None else _label(rec, index, len(recs))
        video = rec.preview_path if prefer_preview and rec.preview_path else rec.video_path
        use_embed = should_embed(video, config) if embed is None else embed
        parts.append(
            player_html(
                rec,
                label=label,
                embed=use_embed,
                base_dir=base_dir,
                prefer_preview=prefer_preview,
            )
        )
    return (
        '<div class="odyssey-players" style="display:flex;flex-wrap:wrap;align-items:flex-start">'
        + "".join(parts)
        + "</div>"
    )


def player_text(rec: RecordingLike, base_dir: Path | None = None) -> str:
    """A recording in one line plus its chapters, for text-only frontends."""
    facts = ", ".join(_facts(rec, None))
    lines = [f"{relative_src(rec.video_path, base_dir)}" + (f" ({facts})" if facts else "")]
    lines += [f"    {format_timestamp(c.time_s)}  {c.prompt}" for c in rec.chapters]
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
        return "\n".join([head, *("  " + b.replace("\n", "\n  ") for b in body)])

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]
