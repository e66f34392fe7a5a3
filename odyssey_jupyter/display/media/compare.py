"""Compare: 2 to 6 recordings side by side, played, paused and sought by one control.

Static HTML with a small inline script, so it works in a saved notebook, in an
exported HTML file and from files on disk, with no kernel and no widget. Each
item's prompt chapters are drawn as markers on one shared timeline (one row per
item); a marker seeks every player. Without JavaScript (an untrusted notebook)
each video keeps its own native controls.

Sync: the first video leads; the others follow it on play, pause and seek, and
every 100 ms while playing any that drifted more than 50 ms is put back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_jupyter.display.common.labels import item_label
from odyssey_jupyter.display.media.player import video_src
from odyssey_jupyter.text.markup import escape, printable, safe_url

MIN_ITEMS = 2
MAX_ITEMS = 6


@dataclass(frozen=True)
class CompareEntry:
    """One player of a comparison: its video, a label and its chapters (seconds, prompt)."""

    video: Path
    label: str
    chapters: tuple[tuple[float, str], ...] = ()
    duration: float | None = None


def chapters_of_script(script: Sequence[Any]) -> tuple[tuple[float, str], ...]:
    """(seconds, prompt) of a script's start/interact entries: chapters without an events file."""
    out = []
    for entry in script:
        if not isinstance(entry, dict):
            continue
        for action in ("start", "interact"):
            body = entry.get(action)
            if isinstance(body, dict) and isinstance(body.get("prompt"), str):
                out.append((float(entry.get("timestamp_ms", 0)) / 1000.0, body["prompt"]))
    return tuple(out)


def _entries_of(thing: Any, index: int) -> list[CompareEntry]:
    """What a Job, a LocalRecording, a sweep item or a path contributes."""
    if isinstance(thing, CompareEntry):
        return [thing]
    if isinstance(thing, str | Path):
        return [CompareEntry(Path(thing), Path(thing).parent.name or str(index))]
    recordings = getattr(thing, "local_recordings", None)
    if recordings is not None or (hasattr(thing, "job_id") and hasattr(thing, "wait")):
        return [
            _entry_of_recording(rec, f"{thing.job_id} #{rec.script_index}")
            for rec in recordings or ()
        ]
    if hasattr(thing, "recordings") and hasattr(thing, "params"):  # a sweep item
        label = item_label(thing.index, thing.params)
        stored = getattr(thing, "stored_video", None)
        if not thing.recordings and stored:  # output= with keep_local=False
            raise ValueError(
                f"item {thing.index} has no local copy to play (its sweep keeps none); "
                f"its video is at {stored}"
            )
        out = []
        for rec in thing.recordings[:1]:
            entry = _entry_of_recording(rec, label)
            if not entry.chapters:
                entry = CompareEntry(
                    entry.video, label, chapters_of_script(thing.script), entry.duration
                )
            out.append(entry)
        return out
    if hasattr(thing, "video_path"):
        return [_entry_of_recording(thing, getattr(thing, "stream_id", str(index)))]
    raise TypeError(f"cannot compare a {type(thing).__name__}: give Jobs, recordings or paths")


def _entry_of_recording(rec: Any, label: str) -> CompareEntry:
    chapters = tuple((float(c.time_s), str(c.prompt or "")) for c in getattr(rec, "chapters", ()))
    return CompareEntry(
        Path(rec.video_path), label, chapters, getattr(rec, "duration_seconds", None)
    )


def entries(things: Iterable[Any]) -> list[CompareEntry]:
    out: list[CompareEntry] = []
    for index, thing in enumerate(things):
        out.extend(_entries_of(thing, index))
    if not MIN_ITEMS <= len(out) <= MAX_ITEMS:
        raise ValueError(
            f"compare takes {MIN_ITEMS} to {MAX_ITEMS} recordings, got {len(out)} "
            "(a Job counts once per stream)"
        )
    return out


SYNC_JS = """
window.odysseySync = window.odysseySync || function (root, fallback) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var vids = Array.prototype.slice.call(root.querySelectorAll("video.odc-v"));
  var lead = vids[0];
  var seek = root.querySelector(".odc-seek");
  var play = root.querySelector(".odc-play");
  var time = root.querySelector(".odc-time");
  root.querySelector(".odc-bar").style.display = "flex";
  vids.forEach(function (v) { v.controls = false; });
  function fmt(s) { s = Math.max(0, s || 0); var m = Math.floor(s / 60);
    var r = (s - 60 * m).toFixed(1); return m + ":" + (r < 10 ? "0" : "") + r; }
  function longest() { var d = 0; vids.forEach(function (v) {
    if (isFinite(v.duration)) d = Math.max(d, v.duration); }); return d || fallback; }
  function align(t) { vids.forEach(function (v) {
    if (Math.abs(v.currentTime - t) > 0.001) v.currentTime = Math.min(t, v.duration || t); }); }
  function show() { var d = longest(); seek.max = d; seek.value = lead.currentTime;
    time.textContent = fmt(lead.currentTime) + " / " + fmt(d); }
  function doPlay() { align(lead.currentTime);
    vids.forEach(function (v) { var p = v.play(); if (p && p.catch) p.catch(function () {}); });
    play.textContent = "Pause"; }
  function doPause() { vids.forEach(function (v) { v.pause(); }); align(lead.currentTime);
    play.textContent = "Play"; show(); }
  function doSeek(t) { align(t); show(); }
  play.addEventListener("click", function () { if (lead.paused) doPlay(); else doPause(); });
  seek.addEventListener("input", function () { doSeek(parseFloat(seek.value)); });
  root.querySelectorAll(".odc-mark").forEach(function (m) {
    m.addEventListener("click", function () { doSeek(parseFloat(m.dataset.time)); });
  });
  lead.addEventListener("timeupdate", show);
  lead.addEventListener("loadedmetadata", show);
  lead.addEventListener("ended", function () { play.textContent = "Play"; });
  setInterval(function () {
    if (lead.paused) return;
    vids.forEach(function (v) { if (v !== lead && !v.ended &&
      Math.abs(v.currentTime - lead.currentTime) > 0.05) v.currentTime = lead.currentTime; });
  }, 100);
  root.odysseyCompare = { play: doPlay, pause: doPause, seek: doSeek, videos: vids };
};
"""
"""The one home of the sync rules; the gallery's "Compare selected" uses it too."""

_SCRIPT = SYNC_JS + "window.odysseySync(document.getElementById(%(id)s), %(duration)s);"


def compare_html(things: Iterable[Any], *, base_dir: Path | None = None) -> str:
    """The comparison as one self-contained HTML fragment (every label escaped)."""
    chosen = entries(things)
    ident = "odc-" + secrets.token_hex(6)
    duration = max((e.duration or 0.0 for e in chosen), default=0.0)
    longest = max([duration, *(t for e in chosen for t, _ in e.chapters)], default=0.0) or 1.0
    players = []
    for entry in chosen:
        players.append(
            '<figure style="margin:0;flex:1 1 0;min-width:110px;max-width:320px">'
            f'<video class="odc-v" controls preload="auto" muted playsinline '
            f'src="{safe_url(video_src(entry.video, base_dir))}" '
            'style="width:100%;display:block;background:#000"></video>'
            f'<figcaption style="font-size:0.85em;word-break:break-all">'
            f"{escape(entry.label)}</figcaption></figure>"
        )
    rows = []
    for row, entry in enumerate(chosen):
        for seconds, prompt in entry.chapters:
            left = 100.0 * min(1.0, seconds / longest)
            title = f"{entry.label} @ {seconds:.1f}s: {prompt}"
            rows.append(
                f'<span class="odc-mark" data-time="{seconds:.3f}" data-row="{row}" '
                f'title="{escape(title)}" style="position:absolute;'
                f"left:{left:.2f}%;top:{22 + 6 * row}px;width:6px;height:6px;margin-left:-3px;"
                f'border-radius:3px;background:hsl({row * 60},70%,45%);cursor:pointer"></span>'
            )
    height = 26 + 6 * len(chosen)
    script = _SCRIPT % {"id": json.dumps(ident), "duration": json.dumps(longest)}
    return (
        f'<div class="odyssey-compare" id="{ident}">'
        f'<div style="display:flex;gap:8px;flex-wrap:wrap">{"".join(players)}</div>'
        '<div class="odc-bar" style="display:none;align-items:flex-start;gap:8px;margin-top:4px">'
        '<button class="odc-play" type="button">Play</button>'
        f'<div class="odc-track" style="position:relative;flex:1;height:{height}px">'
        f'<input class="odc-seek" type="range" min="0" max="{longest:.3f}" step="0.01" value="0" '
        'style="width:100%;margin:0" aria-label="seek every player">'
        f"{''.join(rows)}</div>"
        '<span class="odc-time" style="font-family:monospace">0:00.0</span></div>'
        f"<script>{script}</script></div>"
    )


class Compare:
    """``odyssey_jupyter.compare(job_a, job_b, ...)``: shows as synced players."""

    def __init__(self, *things: Any, base_dir: Path | None = None) -> None:
        flat: list[Any] = []
        for thing in things:
            if isinstance(thing, list | tuple):
                flat.extend(thing)
            else:
                flat.append(thing)
        self.entries = entries(flat)
        self._base_dir = base_dir

    def _repr_html_(self) -> str:
        return compare_html(self.entries, base_dir=self._base_dir)

    def __repr__(self) -> str:
        lines = [f"<Compare of {len(self.entries)} recordings>"]
        lines += [f"  {e.label}: {e.video}" for e in self.entries]
        return printable("\n".join(lines))


def compare(*things: Any, base_dir: Path | None = None) -> Compare:
    """Play 2-6 Jobs, recordings, sweep items or video paths side by side, in sync.

    :param things: 2 to 6 Jobs, recordings, sweep items or video paths.
    :param base_dir: the folder relative video paths are written against (default: the
        working directory, where the notebook's players look).
    :returns: a :class:`~odyssey_jupyter.display.media.compare.Compare`, displayed by a notebook.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.Sweep.open("rainy_animals")
        oj.compare(s.items[0], s.items[1])
    """
    return Compare(*things, base_dir=base_dir)
