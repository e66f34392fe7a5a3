"""A sweep's gallery: a grid of its items labelled by their params; a click plays one.

With JavaScript the videos show their posters without controls and the first
click plays (and brings the controls); playing one pauses the others. Tick 2 to
6 items and "Compare selected" plays them side by side in sync (the sync rules
of :mod:`odyssey_jupyter.display.media.compare`, one copy).

Static HTML with a small inline script (filters by each param and by state,
and pages of ``page_size``), so it works in a saved or exported notebook with
no kernel. Without JavaScript every card shows and each video still plays.
Every label, value and error is escaped; params are matched by index, never
put into attribute names.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odyssey_jupyter.display.common.labels import item_label, param_text
from odyssey_jupyter.display.common.palette import (
    BODY_TEXT,
    BORDER,
    MUTED_TEXT,
    PANEL,
    RAISED,
    UI_FONT,
)
from odyssey_jupyter.display.media.compare import SYNC_JS, chapters_of_script
from odyssey_jupyter.display.media.player import video_src, video_style
from odyssey_jupyter.text.markup import escape, safe_url

PAGE_SIZE = 24
CONTROL_STYLE = (
    f"font-family:{UI_FONT};font-size:0.85em;color:{BODY_TEXT};background:{PANEL};"
    f"border:1px solid {BORDER};border-radius:3px;padding:2px 6px;cursor:pointer"
)
"""The filters and buttons in JupyterLab's theme colours (light fallbacks elsewhere)."""


def _card(item: Any, keys: list[str], base_dir: Path | None) -> str:
    attrs = [f'data-state="{escape(str(item.status))}"']
    for position, key in enumerate(keys):
        value = param_text(item.params.get(key, ""))
        attrs.append(f'data-p{position}="{escape(value)}"')
    label = escape(item_label(item.index, {key: item.params.get(key, "") for key in keys}))
    recordings = item.recordings
    pick = ""
    if recordings:
        rec = recordings[0]
        chapters = [
            [round(float(c.time_s), 3), str(c.prompt or "")] for c in getattr(rec, "chapters", ())
        ] or [[t, p] for t, p in chapters_of_script(item.script)]
        facts = {"chapters": chapters, "duration": rec.duration_seconds}
        attrs.append(f'data-compare="{escape(json.dumps(facts))}"')
        pick = (
            '<label style="font-size:0.8em"><input type="checkbox" class="odg-pick"> compare'
            "</label>"
        )
        poster = ""
        if rec.thumbnail_path is not None and Path(rec.thumbnail_path).is_file():
            poster = f' poster="{safe_url(video_src(rec.thumbnail_path, base_dir))}"'
        media = (
            f'<video controls preload="none"{poster} '
            f'src="{safe_url(video_src(rec.video_path, base_dir))}" '
            f'style="{video_style(rec)}"></video>'
        )
    else:
        text = str(item.status)
        if item.error:
            text += ": " + str(item.error)[:200]
        elif getattr(item, "stored_video", None):  # output= with keep_local=False
            text += f": no local copy to play; the video is at {item.stored_video}"
        media = (
            '<div style="aspect-ratio:9/16;display:flex;align-items:center;justify-content:center;'
            f'background:{RAISED};color:{MUTED_TEXT};font-size:0.8em;padding:4px;overflow:hidden">'
            f"{escape(text)}</div>"
        )
    return (
        f'<figure class="odg-card" {" ".join(attrs)} style="margin:0">{media}'
        f'<figcaption style="font-size:0.8em;word-break:break-word">{label}</figcaption>'
        f"{pick}</figure>"
    )


_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var size = %(size)d, page = 0;
  var cards = Array.prototype.slice.call(root.querySelectorAll(".odg-card"));
  var selects = Array.prototype.slice.call(root.querySelectorAll("select"));
  var label = root.querySelector(".odg-page");
  root.querySelector(".odg-controls").style.display = "flex";
  function shown() { return cards.filter(function (c) {
    return selects.every(function (s) {
      return !s.value || c.getAttribute(s.dataset.attr) === s.value; });
  }); }
  function draw() {
    var ok = shown(), pages = Math.max(1, Math.ceil(ok.length / size));
    page = Math.min(page, pages - 1);
    cards.forEach(function (c) { c.style.display = "none"; });
    ok.slice(page * size, (page + 1) * size).forEach(function (c) { c.style.display = ""; });
    label.textContent = "page " + (page + 1) + " of " + pages + " (" + ok.length + " items)";
  }
  selects.forEach(function (s) {
    s.addEventListener("change", function () { page = 0; draw(); }); });
  root.querySelector(".odg-prev").addEventListener("click", function () {
    page = Math.max(0, page - 1); draw(); });
  root.querySelector(".odg-next").addEventListener("click", function () { page += 1; draw(); });
  cards.forEach(function (c) {
    var v = c.querySelector("video"); if (!v) return;
    v.controls = false; v.style.cursor = "pointer";
    v.addEventListener("click", function () {
      if (v.controls) return;
      v.controls = true; var p = v.play(); if (p && p.catch) p.catch(function () {}); });
    v.addEventListener("play", function () { root.querySelectorAll("video").forEach(function (o) {
      if (o !== v) o.pause(); }); }); });
  var out = root.querySelector(".odg-compare");
  function el(tag, css, cls) { var e = document.createElement(tag);
    if (css) e.style.cssText = css; if (cls) e.className = cls; return e; }
  root.querySelector(".odg-compare-btn").addEventListener("click", function () {
    var chosen = cards.filter(function (c) { var b = c.querySelector(".odg-pick");
      return b && b.checked; });
    out.textContent = "";
    if (chosen.length < 2 || chosen.length > 6) {
      out.textContent = "select 2 to 6 items with a video, then Compare"; return; }
    var box = el("div", "", "odyssey-compare");
    var row = el("div", "display:flex;gap:8px;flex-wrap:wrap");
    var facts = chosen.map(function (c) { return JSON.parse(c.dataset.compare || "{}"); });
    var longest = 1;
    facts.forEach(function (f) { longest = Math.max(longest, f.duration || 0);
      (f.chapters || []).forEach(function (ch) { longest = Math.max(longest, ch[0]); }); });
    var bar = el("div", "display:none;align-items:flex-start;gap:8px;margin-top:4px", "odc-bar");
    var button = el("button", "", "odc-play"); button.type = "button"; button.textContent = "Play";
    var track = el("div", "position:relative;flex:1;height:" + (26 + 6 * chosen.length) + "px",
      "odc-track");
    var seek = el("input", "width:100%%;margin:0", "odc-seek"); seek.type = "range";
    seek.min = "0"; seek.max = String(longest); seek.step = "0.01"; seek.value = "0";
    track.appendChild(seek);
    chosen.forEach(function (c, i) {
      var fig = el("figure", "margin:0;flex:1 1 0;min-width:110px;max-width:320px");
      var v = el("video", "width:100%%;display:block;background:#000", "odc-v");
      v.muted = true; v.preload = "auto"; v.setAttribute("playsinline", "");
      v.src = c.querySelector("video").getAttribute("src");
      var cap = el("figcaption", "font-size:0.85em;word-break:break-all");
      cap.textContent = c.querySelector("figcaption").textContent;
      fig.appendChild(v); fig.appendChild(cap); row.appendChild(fig);
      (facts[i].chapters || []).forEach(function (ch) {
        var m = el("span", "position:absolute;left:" + (100 * Math.min(1, ch[0] / longest)) +
          "%%;top:" + (22 + 6 * i) + "px;width:6px;height:6px;margin-left:-3px;" +
          "border-radius:3px;cursor:pointer;background:hsl(" + (60 * i) + ",70%%,45%%)",
          "odc-mark");
        m.dataset.time = String(ch[0]); m.title = cap.textContent + ": " + ch[1];
        track.appendChild(m); });
    });
    var time = el("span", "font-family:monospace", "odc-time");
    bar.appendChild(button); bar.appendChild(track); bar.appendChild(time);
    box.appendChild(row); box.appendChild(bar); out.appendChild(box);
    window.odysseySync(box, longest);
  });
  draw();
})();
"""


def _select(attr: str, title: str, values: Sequence[str]) -> str:
    options = [f'<option value="">{escape(title)}: all</option>']
    for value in values:
        options.append(f'<option value="{escape(value)}">{escape(title)}={escape(value)}</option>')
    return f'<select data-attr="{attr}" style="{CONTROL_STYLE}">{"".join(options)}</select>'


def _button(css_class: str, text: str) -> str:
    return (
        f'<button type="button" class="{css_class}" style="{CONTROL_STYLE}">{escape(text)}</button>'
    )


def gallery_html(
    items: Sequence[Any], *, page_size: int = PAGE_SIZE, base_dir: Path | None = None
) -> str:
    """The gallery of sweep items (anything with index, params, status, error, recordings)."""
    ident = "odg-" + secrets.token_hex(6)
    keys: list[str] = []
    for item in items:
        for key in item.params:
            if key not in keys:
                keys.append(key)
    selects = []
    for position, key in enumerate(keys):
        values = sorted({param_text(item.params.get(key, "")) for item in items})
        if 1 < len(values) <= 200:
            selects.append(_select(f"data-p{position}", key, values))
    states = sorted({str(item.status) for item in items})
    selects.append(_select("data-state", "state", states))
    cards = "".join(_card(item, keys, base_dir) for item in items)
    script = SYNC_JS + _SCRIPT % {"id": json.dumps(ident), "size": max(1, int(page_size))}
    return (
        f'<div class="odyssey-gallery" id="{ident}">'
        '<div class="odg-controls" style="display:none;gap:6px;flex-wrap:wrap;margin:4px 0">'
        f"{''.join(selects)}{_button('odg-prev', '‹')}"
        f'<span class="odg-page" style="color:{MUTED_TEXT};align-self:center"></span>'
        f"{_button('odg-next', '›')}{_button('odg-compare-btn', 'Compare selected')}</div>"
        '<div class="odg-compare"></div>'
        '<div class="odg-grid" style="display:grid;grid-template-columns:'
        f'repeat(auto-fill,minmax(140px,1fr));gap:8px">{cards}</div>'
        f"<script>{script}</script></div>"
    )


class Gallery:
    """``sweep.gallery()``: the items as a grid (a static output that lasts)."""

    def __init__(self, items: Sequence[Any], *, page_size: int = PAGE_SIZE) -> None:
        self.items = list(items)
        self.page_size = page_size

    def _repr_html_(self) -> str:
        return gallery_html(self.items, page_size=self.page_size)

    def __repr__(self) -> str:
        done = sum(1 for item in self.items if item.recordings)
        return f"<Gallery of {len(self.items)} items, {done} with a video>"


def gallery(sweep_or_items: Any, *, page_size: int = PAGE_SIZE) -> Gallery:
    """``odyssey_jupyter.gallery(sweep)``: a sweep's items (or a list of them) as a grid.

    :param sweep_or_items: a :class:`~odyssey_jupyter.Sweep`, or a list of its items.
    :param page_size: tiles per page.
    :returns: a :class:`~odyssey_jupyter.display.media.gallery.Gallery`, displayed by a notebook.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        oj.gallery(oj.Sweep.open("rainy_animals"), page_size=12)
    """
    items = getattr(sweep_or_items, "items", sweep_or_items)
    return Gallery(list(items), page_size=page_size)
