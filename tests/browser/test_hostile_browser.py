"""Every display fed hostile strings, rendered in the real Chromium: zero script runs.

The fragments come from ``support.hostile_displays.collect`` (a fake Simulate API
answering with the corpus, plus hostile prompts, variable values and file names;
final outputs, browser snapshots, notices and every sweep display included).
They are put into one page the way the frontends do it: an ``ipywidgets.HTML``
value is set as ``innerHTML`` (what its view does); a ``text/html`` output is set
as ``innerHTML`` and its ``<script>`` elements are then run, as JupyterLab does for
trusted outputs; ``text/plain`` becomes text. Every corpus payload that runs calls
``window.__pwned(n)`` or opens a dialog; the page records both, and every console
message. Hover and focus events are fired on every element, and any link or
action whose URL is ``javascript:`` is clicked; the gallery's filters and its
"Compare selected", and compare's chapter markers, are used. A control page renders the raw
corpus to prove the hook sees what it should.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import jupyterlab as lab
from support.hostile import PAYLOADS, hostile_server
from support.hostile_displays import Fragment, collect, collect_bad_total, point_at

from odyssey_jupyter.session.runtime import shutdown_runtime

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

pytestmark = pytest.mark.browser

ORIGIN = "http://notebook.test"

_HOOK = """
window.__hits = [];
window.__pwned = (n) => { window.__hits.push(n); };
"""

_RENDER = """
(fragments) => {
  const root = document.getElementById('root');
  for (const [kind, content] of fragments) {
    const box = document.createElement('div');
    box.className = 'fragment fragment-' + kind;
    root.appendChild(box);
    if (kind === 'text') {
      const pre = document.createElement('pre');
      pre.textContent = content;
      box.appendChild(pre);
      continue;
    }
    box.innerHTML = content;
    if (kind === 'output') {
      // JupyterLab runs the scripts of a trusted text/html output after inserting it.
      for (const old of Array.from(box.querySelectorAll('script'))) {
        const fresh = document.createElement('script');
        for (const attr of Array.from(old.attributes)) fresh.setAttribute(attr.name, attr.value);
        fresh.textContent = old.textContent;
        old.replaceWith(fresh);
      }
    }
  }
  return root.querySelectorAll('*').length;
}
"""

_PROVOKE = """
() => {
  const all = Array.from(document.querySelectorAll('#root *'));
  for (const el of all) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'focusin', 'animationstart']) {
      el.dispatchEvent(new Event(type, {bubbles: false}));
    }
    if (typeof el.focus === 'function') el.focus();
  }
  let clicked = 0;
  for (const el of all) {
    const url = ['href', 'formaction', 'action', 'data']
      .map((name) => el.getAttribute(name) || '').join(' ');
    if (/javascript:/i.test(url.replace(/[\\u0000-\\u0020]/g, ''))) { el.click(); clicked++; }
  }
  return clicked;
}
"""

_DRIVE = """
() => {
  // The gallery's and compare's own scripts build DOM from the items' data: use them.
  let used = 0;
  for (const gallery of Array.from(document.querySelectorAll('#root .odyssey-gallery'))) {
    for (const select of Array.from(gallery.querySelectorAll('select'))) {
      for (const option of Array.from(select.options)) {
        select.value = option.value;
        select.dispatchEvent(new Event('change'));
        used++;
      }
      select.value = '';
      select.dispatchEvent(new Event('change'));
    }
    const picks = Array.from(gallery.querySelectorAll('.odg-pick')).slice(0, 3);
    picks.forEach((pick) => { pick.checked = true; });
    const button = gallery.querySelector('.odg-compare-btn');
    if (button && picks.length >= 2) { button.click(); used++; }
  }
  for (const mark of Array.from(document.querySelectorAll('#root .odc-mark'))) {
    mark.dispatchEvent(new Event('mouseover'));
    mark.click();
    used++;
  }
  return used;
}
"""

_SETTLED = """
() => Array.from(document.images).every((img) => img.complete)
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    lab.need_browser()
    with lab.chromium() as browser:
        yield browser


def render(browser: Any, fragments: list[tuple[str, str]]) -> dict[str, Any]:
    """Render ``(kind, content)`` pairs in a fresh page; what ran, and what was clicked."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    console: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

    def serve(route: Any) -> None:
        if route.request.url.rstrip("/") == ORIGIN + "/lab":
            body = "<!doctype html><html><body><div id='root'></div></body></html>"
            route.fulfill(status=200, content_type="text/html", body=body)
        else:  # players' relative files, the corpus' "x" images: nothing is there
            route.fulfill(status=404, content_type="text/plain", body="not found")

    try:
        page.route(f"{ORIGIN}/**", serve)
        page.add_init_script(_HOOK)
        page.goto(f"{ORIGIN}/lab")
        elements = page.evaluate(_RENDER, fragments)
        page.wait_for_function(_SETTLED, timeout=60_000)
        driven = page.evaluate(_DRIVE)
        clicked = page.evaluate(_PROVOKE)
        page.wait_for_timeout(500)  # let queued error/load/toggle handlers fire
        page.wait_for_function(_SETTLED, timeout=60_000)
        hits = page.evaluate("() => window.__hits")
        href = page.evaluate("() => location.href")
    finally:
        context.close()
    return {
        "hits": hits,
        "dialogs": dialogs,
        "console": console,
        "elements": elements,
        "clicked": clicked,
        "driven": driven,
        "location": href,
    }


def _pairs(fragments: list[Fragment]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for fragment in fragments:
        seen.setdefault((fragment.kind, fragment.content), None)
    return list(seen)


def _assert_nothing_ran(outcome: dict[str, Any]) -> None:
    assert outcome["hits"] == [], f"script from the corpus ran: {outcome['hits']}"
    assert outcome["dialogs"] == [], f"dialogs opened: {outcome['dialogs']}"
    assert not [m for m in outcome["console"] if "pwned" in m or "pageerror" in m], outcome[
        "console"
    ]
    assert outcome["clicked"] == 0, "a javascript: URL made it into the page"
    assert outcome["location"].startswith(ORIGIN + "/lab")


def test_the_hook_sees_the_corpus_run_when_it_is_not_escaped(chromium: Any) -> None:
    """The control: raw payloads do run in this page, so zero below means something."""
    outcome = render(chromium, [("widget", text) for text in PAYLOADS])
    ran = set(outcome["hits"]) | {int(m) for m in outcome["dialogs"] if m.isdigit()}
    assert {1, 8, 13, 15, 18, 22} <= ran, outcome
    outcome = render(chromium, [("output", PAYLOADS[3])])
    assert 4 in outcome["hits"]


def test_every_display_runs_no_script_from_hostile_strings(
    chromium: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with hostile_server(slashed_every=4) as server:
        point_at(monkeypatch, tmp_path, server.url)
        fragments = collect(server, tmp_path)
    with hostile_server(total=PAYLOADS[0]) as server:
        point_at(monkeypatch, tmp_path, server.url)
        fragments += collect_bad_total(server)
    shutdown_runtime()
    kinds = {f.kind for f in fragments}
    assert kinds == {"widget", "output", "text"}
    pairs = _pairs(fragments)
    outcome = render(chromium, pairs)
    assert outcome["elements"] > len(pairs)  # the displays really were built in the page
    assert outcome["driven"] > 10  # gallery filters, its Compare and the chapter markers were used
    assert "sweep gallery" in {f.name for f in fragments}
    _assert_nothing_ran(outcome)
    # Keep what was rendered next to the test results, for a person to look at.
    out = lab.SCREENSHOTS.parent / "hostile-fragments.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(pairs, ensure_ascii=True, indent=1))
