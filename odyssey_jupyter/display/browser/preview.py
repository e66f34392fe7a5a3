"""What Preview shows under the table: players that start at once, with their chapters.

A click on Preview is a request to watch, so the players start by themselves,
muted: browsers only let a video play without a click on it when it is muted.
The preview is the first seconds of a recording, so its chapter list keeps only
the prompts that happen within them; a chapter past its end would seek nowhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from odyssey_jupyter.display.media.player import players_html, plays_preview
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.session.recording import LocalRecording

AUTOPLAY = "autoplay muted playsinline"
"""``playsinline``: mobile Safari would otherwise take a playing video full screen."""


def within_preview(rec: LocalRecording) -> LocalRecording:
    """``rec`` with only the chapters that start before its preview file ends."""
    if rec.preview_path is None:
        return rec
    length = read_mp4_info(Path(rec.preview_path)).duration_seconds
    if length is None:
        return rec
    kept = tuple(chapter for chapter in rec.chapters if chapter.time_s < length)
    return rec if len(kept) == len(rec.chapters) else dataclasses.replace(rec, chapters=kept)


def autoplaying(markup: str, *, muted: bool = True) -> str:
    """Players' HTML whose videos start on their own (muted unless ``muted=False``).

    Every string inside a player is escaped, so ``<video`` only ever opens a real tag.
    """
    attributes = AUTOPLAY if muted else "autoplay playsinline"
    return markup.replace("<video ", f"<video {attributes} ")


def preview_players(recs: Sequence[LocalRecording], *, full: bool) -> tuple[str, str, bool]:
    """(HTML, text, whether previews play) for every stream of a job.

    Each stream plays its preview when it has one on disk (unless ``full``), else its
    full video with every chapter. The videos start at once: previews muted, the
    full videos with their sound (the click on "Full video" allows it).
    """
    previews = not full and any(plays_preview(rec) for rec in recs)
    shown = [within_preview(rec) if previews and plays_preview(rec) else rec for rec in recs]
    markup = autoplaying(players_html(shown, prefer_preview=previews), muted=previews)
    text = "\n".join(
        str(rec.preview_path if previews and plays_preview(rec) else rec.video_path)
        for rec in shown
    )
    return markup, text, previews
