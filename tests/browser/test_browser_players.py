"""Batch players and the dry-run timeline in JupyterLab and Chromium, in light and dark themes.

Real parts: a JupyterLab server, Chromium, a kernel and the session's engine. A
notebook runs a landscape batch and a portrait batch (three scripts each, with
``--wait``) and a dry run of a batch with long prompts. Measured in the page:
each batch's players sit side by side in columns of equal width, their headings
count scripts from 1 and keep the stream id in the tooltip; the timeline's text
form is folded; in JupyterLab Dark and Dark High Contrast the timeline's and the
players' backgrounds are dark and their text light (computed colours); the same
markup in a page without JupyterLab's CSS falls back to light colours and keeps
its columns. Screenshots land in build/screenshots/; with ``ODYSSEY_UPDATE_DOCS=1``
the README's pictures in docs/ are written too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.engines import RunningEngine
from support.notebooks import code_notebook

from odyssey_jupyter.display.job.timeline import ScriptTimeline
from odyssey_jupyter.display.media.player import players_html
from odyssey_jupyter.script.rules import validate_script
from odyssey_jupyter.session.recording import Chapter, LocalRecording

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

DOCS = lab.REPO / "docs"
PROMPTS = (
    "A harbour at dawn, fishing boats leaving one by one through the morning mist",
    "A desert road at noon with heat shimmer and a lone truck far away",
    "A snowy forest at night, lanterns swinging between the pines",
)
LONG_PROMPT = (
    "A lighthouse keeper climbs the spiral stairs at dusk while the storm rolls in from the "
    "west and gulls circle the lamp room windows, rain streaking the glass"
)


def _batch(flags: str) -> str:
    scripts = [f"0s start {prompt}\n1s end" for prompt in PROMPTS]
    return f"%%odyssey_simulate --wait {flags}\n" + "\n---\n".join(scripts)


LANDSCAPE = _batch("--landscape -o land")
PORTRAIT = _batch("-o tall")
DRY_RUN = (
    "%%odyssey_simulate --dry-run\n"
    f"0s start {LONG_PROMPT}\n4s interact the lamp flares and a wave breaks over the rocks\n"
    "8s end\n---\n0s start A quiet street after the rain, neon signs reflected in puddles\n6s end"
)
CELLS = ("%load_ext odyssey_jupyter", LANDSCAPE, PORTRAIT, DRY_RUN)
DOC_PICTURES = frozenset({"batch_light", "batch_dark", "batch_portrait_dark", "dry_run_dark"})
"""The screenshots the README shows (the others stay in build/screenshots/)."""
THEMES = ("JupyterLab Dark", "JupyterLab Dark High Contrast")


def _luminance(css: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed ``rgb()``/``rgba()`` colour."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    assert len(numbers) == 3, css

    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(n) for n in numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


_COLOURS_JS = """
(root) => {
  const css = (el, name) => el ? getComputedStyle(el)[name] : null;
  const svg = root.querySelector('.odyssey-timeline');
  const player = root.querySelector('.odyssey-player');
  return {
    svgBackground: css(svg && svg.querySelector('.odyssey-timeline-background'), 'fill'),
    svgPrompt: css(svg && svg.querySelector('.odyssey-cue text'), 'fill'),
    svgLane: css(svg && svg.querySelector('text[font-weight="600"]'), 'fill'),
    playerBackground: css(player, 'backgroundColor'),
    heading: css(player && player.querySelector('.odyssey-player-title'), 'color'),
    chapter: css(player && player.querySelector('.odyssey-chapter-prompt'), 'color'),
    facts: css(player && player.querySelector('.odyssey-player-facts'), 'color'),
  };
}
"""


@pytest.fixture(scope="module")
def browser(engine: RunningEngine) -> Iterator[Browser]:
    lab.need_browser()
    with lab.chromium() as running:
        yield running


def _saved_outputs_notebook() -> Any:
    """A notebook holding a batch's players and a dry run as saved outputs, never signed:
    JupyterLab opens it untrusted and sanitises its HTML."""
    recs = [
        LocalRecording(
            stream_id=f"stream-{n}",
            script_index=n,
            video_path=Path(f"missing-{n}.mp4"),
            width=1280,
            height=704,
            chapters=(Chapter(0.0, prompt, "start"),),
        )
        for n, prompt in enumerate(PROMPTS)
    ]
    script = validate_script(
        [{"timestamp_ms": 0, "start": {"prompt": LONG_PROMPT}}, {"timestamp_ms": 4000, "end": {}}]
    )
    cell = nbformat.v4.new_code_cell("# outputs saved elsewhere")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": players_html(recs, embed=False), "text/plain": "-"}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": ScriptTimeline([script])._repr_html_(), "text/plain": "-"},
        ),
    ]
    nb = code_notebook()
    nb.cells = [cell]
    return nb


@pytest.fixture(scope="module")
def lab_server(
    engine: RunningEngine, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lab.LabServer]:
    root = tmp_path_factory.mktemp("players-root")
    nbformat.write(code_notebook(*CELLS), root / "players.ipynb")
    nbformat.write(_saved_outputs_notebook(), root / "untrusted.ipynb")
    env = {"ODYSSEY_API_URL": engine.url, "ODYSSEY_API_KEY": engine.api_key, "ODYSSEY_WAIT": ""}
    server = lab.start_lab(root, tmp_path_factory.mktemp("players-state"), env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notebook(lab_server: lab.LabServer, browser: Browser) -> Iterator[Page]:
    """The notebook above, run to the end in JupyterLab (light theme), shared by the tests."""
    server = lab_server
    page = lab.new_page(browser, width=1280, height=1100)
    try:
        lab.open_notebook(page, server, "players.ipynb")
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        lab.run_all_cells(page)
        lab.wait_until_idle(page, timeout=240)
        page.wait_for_function(
            "() => document.querySelectorAll('.odyssey-final .odyssey-player').length >= 6",
            timeout=120_000,
            polling=250,
        )
        yield page
    finally:
        page.context.close()


def _cell(page: Page, text: str) -> Locator:
    return page.locator(".jp-CodeCell", has_text=text).first


def _output(page: Page, text: str) -> Locator:
    return _cell(page, text).locator(".jp-OutputArea").first


def _save(page: Page, target: Locator | None, name: str) -> None:
    """A screenshot in build/screenshots/; the README's are copied to docs/ when
    ODYSSEY_UPDATE_DOCS=1."""
    lab.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = lab.SCREENSHOTS / f"{name}.png"
    if target is None:
        page.screenshot(path=str(path))
    else:
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path))
    assert path.stat().st_size > 0
    update = os.environ.get("ODYSSEY_UPDATE_DOCS", "").strip() in {"1", "true", "yes"}
    if update and name in DOC_PICTURES:
        shutil.copy2(path, DOCS / f"{name}.png")


def _players(output: Locator) -> list[dict[str, Any]]:
    return output.locator(".odyssey-final .odyssey-player").evaluate_all(  # type: ignore[no-any-return]
        """els => els.map(el => {
             const box = el.getBoundingClientRect();
             const video = el.querySelector('video').getBoundingClientRect();
             const title = el.querySelector('.odyssey-player-title');
             return {left: box.left, top: box.top, width: box.width,
                     videoWidth: video.width, videoHeight: video.height,
                     heading: title.textContent, tooltip: title.getAttribute('title'),
                     cut: title.scrollWidth > title.clientWidth,
                     stream: el.getAttribute('data-stream-id')};
           })"""
    )


@pytest.mark.parametrize(("cell", "landscape"), [("-o land", True), ("-o tall", False)])
def test_a_batch_sits_in_equal_columns_side_by_side(
    notebook: Page, cell: str, landscape: bool
) -> None:
    players = _players(_output(notebook, cell))
    assert len(players) == 3, players
    widths = [p["width"] for p in players]
    assert max(widths) - min(widths) <= 1, widths  # equal columns
    assert max(p["top"] for p in players) - min(p["top"] for p in players) <= 1, players
    lefts = [p["left"] for p in players]
    assert lefts == sorted(lefts) and lefts[1] - lefts[0] >= widths[0], lefts  # side by side
    for player in players:
        assert (player["videoWidth"] > player["videoHeight"]) is landscape, player
    for number, (player, prompt) in enumerate(zip(players, PROMPTS, strict=True), start=1):
        assert player["heading"] == f"Script {number} · {prompt}", player
        assert player["tooltip"].endswith(f"stream {player['stream']}"), player
        assert len(player["stream"]) >= 8 and player["stream"] not in player["heading"]
    assert any(p["cut"] for p in players)  # a long prompt is cut by CSS, not widening a column
    text = _output(notebook, cell).inner_text()
    assert "script 0" not in text.lower()


def test_the_dry_run_folds_its_text_and_keeps_whole_prompts(notebook: Page) -> None:
    output = _output(notebook, "--dry-run")
    header = output.locator(".odyssey-dry-run b").first.inner_text()
    assert header.startswith("Dry run (nothing sent): 2 scripts, 2 streams, 14.0 s of video")
    details = output.locator("details.odyssey-script-text-fold")
    assert details.evaluate("d => d.open") is False
    assert not output.locator("pre.odyssey-script-text").is_visible()
    titles = output.locator(".odyssey-cue > title").all_text_contents()
    assert f"0s start: {LONG_PROMPT}" in titles  # the whole prompt on hover
    shown = output.locator(".odyssey-cue text").first.evaluate(
        "t => Array.from(t.querySelectorAll('tspan')).map(s => s.textContent)"
    )
    assert len(shown) >= 2, shown  # wrapped over lines
    lanes = output.locator(".odyssey-timeline text[font-weight='600']").all_text_contents()
    assert lanes == ["script 1", "script 2"]
    details.locator("summary").click()
    assert output.locator("pre.odyssey-script-text").is_visible()
    details.locator("summary").click()


def test_light_theme_colours_and_screenshots(notebook: Page) -> None:
    colours = _output(notebook, "-o land").evaluate(_COLOURS_JS)
    assert _luminance(colours["playerBackground"]) > 0.8, colours
    assert _luminance(colours["heading"]) < 0.2, colours
    svg = _output(notebook, "--dry-run").evaluate(_COLOURS_JS)
    assert _luminance(svg["svgBackground"]) > 0.8 and _luminance(svg["svgPrompt"]) < 0.2, svg
    _save(notebook, _output(notebook, "-o land"), "batch_light")
    _save(notebook, _output(notebook, "--dry-run"), "dry_run_light")


def _set_theme(page: Page, theme: str) -> None:
    lab.run_command(page, "apputils:change-theme", {"theme": theme})
    light = "false" if "Dark" in theme else "true"
    page.wait_for_function(
        "([t, light]) => document.body.dataset.jpThemeName === t"
        " && document.body.dataset.jpThemeLight === light",
        arg=[theme, light],
        timeout=30_000,
    )
    page.wait_for_timeout(500)  # the theme's stylesheet applies


@pytest.mark.parametrize("theme", THEMES)
def test_dark_themes_give_dark_backgrounds_and_light_text(notebook: Page, theme: str) -> None:
    _set_theme(notebook, theme)
    try:
        measured = {}
        for cell in ("-o land", "-o tall", "--dry-run"):
            measured[cell] = _output(notebook, cell).evaluate(_COLOURS_JS)
        for cell in ("-o land", "-o tall"):
            seen = measured[cell]
            assert _luminance(seen["playerBackground"]) < 0.1, (theme, seen)
            for name in ("heading", "chapter", "facts"):
                assert _luminance(seen[name]) > 0.3, (theme, name, seen)
        svg = measured["--dry-run"]
        assert _luminance(svg["svgBackground"]) < 0.1, (theme, svg)
        assert _luminance(svg["svgPrompt"]) > 0.5 and _luminance(svg["svgLane"]) > 0.5, svg
        suffix = "dark" if theme == "JupyterLab Dark" else "high_contrast"
        _save(notebook, _output(notebook, "-o land"), f"batch_{suffix}")
        _save(notebook, _output(notebook, "--dry-run"), f"dry_run_{suffix}")
        if theme == "JupyterLab Dark":
            _save(notebook, _output(notebook, "-o tall"), "batch_portrait_dark")
    finally:
        _set_theme(notebook, "JupyterLab Light")


def test_a_page_without_jupyterlab_css_falls_back_to_light(notebook: Page, tmp_path: Path) -> None:
    """What an exported or plain HTML page shows: the fallbacks, and the same columns."""
    final = (
        _output(notebook, "-o land").locator(".odyssey-final").first.evaluate("e => e.outerHTML")
    )
    dry = (
        _output(notebook, "--dry-run")
        .locator(".odyssey-dry-run")
        .first.evaluate("e => e.outerHTML")
    )
    page = notebook.context.new_page()
    try:
        page.set_viewport_size({"width": 1100, "height": 900})
        page.set_content(f"<!doctype html><html><body>{final}{dry}</body></html>")
        seen = page.evaluate(_COLOURS_JS, page.locator("body").element_handle())
        assert _luminance(seen["playerBackground"]) > 0.9 and _luminance(seen["heading"]) < 0.1
        assert _luminance(seen["svgBackground"]) > 0.9 and _luminance(seen["svgPrompt"]) < 0.2
        widths = page.locator(".odyssey-player").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert len(widths) == 3 and max(widths) - min(widths) <= 1, widths
    finally:
        page.close()


_BACKDROP_JS = """
(el) => {
  // the colour a reader sees behind ``el``: its own background or the nearest painted one
  for (let node = el; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && colour !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(colour)) return colour;
  }
  return 'rgb(255, 255, 255)';
}
"""


def test_an_untrusted_notebook_keeps_columns_and_the_dark_theme(
    lab_server: lab.LabServer, browser: Browser
) -> None:
    """JupyterLab sanitises an untrusted output's styles: what it drops (the theme
    variables with a colour fallback) leaves the theme's own colours, never a light box;
    the grid's columns survive. (JupyterLab drops the SVG itself; the header and text stay.)"""
    page = lab.new_page(browser, width=1280, height=1000)
    try:
        lab.open_notebook(page, lab_server, "untrusted.ipynb")
        page.locator(".odyssey-player").first.wait_for(timeout=60_000)
        _set_theme(page, "JupyterLab Dark")
        boxes = page.locator(".odyssey-player").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [r.left, r.top, r.width]; })"
        )
        assert len(boxes) == 3
        widths = [box[2] for box in boxes]
        assert max(widths) - min(widths) <= 1 and boxes[1][0] > boxes[0][0], boxes
        assert boxes[0][1] == pytest.approx(boxes[1][1], abs=1), boxes  # side by side
        for selector in (".odyssey-player", ".odyssey-dry-run"):
            element = page.locator(selector).first
            backdrop = element.evaluate(_BACKDROP_JS)
            assert _luminance(backdrop) < 0.1, (selector, backdrop)
            assert _luminance(element.evaluate("e => getComputedStyle(e).color")) > 0.3
        heading = page.locator(".odyssey-player-title").first
        assert heading.inner_text() == f"Script 1 · {PROMPTS[0]}"
        assert _luminance(heading.evaluate("e => getComputedStyle(e).color")) > 0.3
        assert page.locator("details.odyssey-script-text-fold").evaluate("d => d.open") is False
        header = page.locator(".odyssey-dry-run b").first.inner_text()
        assert header.startswith("Dry run (nothing sent): 1 stream, 4.0 s of video")
    finally:
        _set_theme(page, "JupyterLab Light")
        page.context.close()


def _crowded_recording(engine: RunningEngine, root: Path, chapters: int) -> LocalRecording:
    """A real recording from the engine whose events log then grows to ``chapters``
    prompts (what a log at the size cap holds, and more than a player lists)."""
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.recordings import load

    script = [{"timestamp_ms": 0, "start": {"prompt": "a fox"}}, {"timestamp_ms": 3000, "end": {}}]

    async def fetch() -> tuple[Any, dict[str, Path]]:
        async with Odyssey(engine.api_key, engine.url) as client:
            job = await client.simulate(script)
            done = await client.wait(job.job_id, timeout=120, poll_interval=0.1)
            stream = done.streams[0]
            files = await client.download(stream.stream_id, root / "rec")
            return stream, files

    with ThreadPoolExecutor(1) as pool:  # Playwright's own loop runs in this thread
        stream, files = pool.submit(asyncio.run, fetch()).result()
    lines = [json.dumps({"type": "start", "timestamp_ms": 0, "prompt": "a fox"})]
    lines += [
        json.dumps({"type": "interact", "timestamp_ms": n * 2500 // chapters, "prompt": f"p{n}"})
        for n in range(1, chapters)
    ]
    files["events"].write_text("\n".join(lines), encoding="utf-8")
    recording = load(job_id="crowded", stream=stream, files=files)
    assert recording is not None and len(recording.chapters) == chapters
    return recording


def test_a_crowded_chapter_list_seeks_in_an_nbconvert_export(
    engine: RunningEngine, browser: Browser, tmp_path: Path
) -> None:
    """A stock nbconvert HTML page of a player with 5,000 chapters: the first
    MAX_CHAPTERS are listed with a line for the rest, one handler on the list serves
    every item, and a click on a chapter seeks the video to it."""
    from nbconvert import HTMLExporter

    from odyssey_jupyter.display.media.player import MAX_CHAPTERS

    recording = _crowded_recording(engine, tmp_path, 5_000)
    cell = nbformat.v4.new_code_cell("# a player saved with its outputs")
    html = players_html([recording], embed=False, base_dir=tmp_path)
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "-"})
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    page_path = tmp_path / "export.html"
    page_path.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    page = lab.new_page(browser)
    try:
        page.goto(page_path.as_uri())
        chapters = page.locator(".odyssey-chapter")
        assert chapters.count() == MAX_CHAPTERS
        more = page.locator(".odyssey-chapters-more").inner_text()
        assert more == f"… and {5_000 - MAX_CHAPTERS:,} more chapters (not listed)"
        assert page.locator(".odyssey-player [onclick]").count() == 1
        video = page.locator("video").first
        video.evaluate("v => { if (v.readyState < 1) v.load(); }")
        page.wait_for_function("v => v.readyState >= 1", arg=video.element_handle())
        video.evaluate(
            "v => { window.__seekedAt = null; v.addEventListener('seeked',"
            " () => { window.__seekedAt = v.currentTime; }, {once: true}); }"
        )
        chapter = chapters.nth(150)
        target = float(chapter.get_attribute("data-time") or "nan")
        assert 0.05 < target < 2.5
        chapter.locator(".odyssey-chapter-prompt").click()
        page.wait_for_function("() => window.__seekedAt !== null", timeout=15_000)
        assert page.evaluate("() => window.__seekedAt") == pytest.approx(target, abs=0.1)
    finally:
        page.context.close()
