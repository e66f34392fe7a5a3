"""Every relative URL the outputs hold resolves, in each frontend that can be run here.

A notebook shows a single player and a gallery of recordings stored beside it
(folder names with a space, as job ids may hold). In JupyterLab the cell runs
live; in Notebook 7 the notebook is reopened as nbclient saved it (untrusted, no
kernel run); the same notebook exported by nbconvert is opened from ``file://``.
In each, every video ``src``, ``poster`` and link ``href`` of the outputs must
answer with the file's own type, not the application's page.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.notebooks import code_notebook

pytestmark = pytest.mark.browser

SHOW = """
from pathlib import Path
from types import SimpleNamespace
from IPython.display import display
from odyssey_jupyter.display.media.gallery import gallery
from odyssey_jupyter.display.media.player import PlayerGroup
from odyssey_jupyter.session.recording import LocalRecording

def rec(name):
    folder = Path("odyssey_recordings") / "job 1" / name
    return LocalRecording(
        stream_id=name, script_index=0, video_path=folder / "video.mp4",
        thumbnail_path=folder / "thumbnail.jpg", duration_seconds=2.0, frame_count=48,
        width=640, height=360, chapters=(),
    )

recs = [rec("s1"), rec("s2")]
display(PlayerGroup(recs[:1]))
display(gallery([
    SimpleNamespace(index=i, params={"animal": a}, status="completed", error=None,
                    recordings=[r], script=[])
    for i, (a, r) in enumerate(zip(["cat", "owl"], recs))
]))
"""

# Each URL-bearing attribute of the outputs, with the element's kind.
URLS_JS = """
() => Array.from(document.querySelectorAll('.odyssey-player, .odyssey-gallery')).flatMap(o => [
  ...Array.from(o.querySelectorAll('video[src]')).map(v => ['src', v.getAttribute('src')]),
  ...Array.from(o.querySelectorAll('video[poster]')).map(v => ['poster', v.getAttribute('poster')]),
  ...Array.from(o.querySelectorAll('img[src]')).map(i => ['img', i.getAttribute('src')]),
  ...Array.from(o.querySelectorAll('a[href]')).map(a => ['href', a.getAttribute('href')]),
])
"""

FETCH_JS = """
async urls => Promise.all(urls.map(async ([kind, url]) => {
  const answer = await fetch(url);
  return [kind, answer.status, (answer.headers.get('content-type') || '').split(';')[0]];
}))
"""

RESOLVED_JS = """
() => Array.from(document.querySelectorAll('.odyssey-player video, .odyssey-gallery video'))
  .every(v => v.getAttribute('poster').includes('/files/'))
"""

# From file:// nothing can be fetched: each poster is loaded as an image instead.
POSTERS_LOAD_JS = """
async () => Promise.all(Array.from(document.querySelectorAll('video[poster]')).map(v =>
  new Promise(done => { const i = new Image(); i.onload = () => done(i.naturalWidth);
    i.onerror = () => done(0); i.src = v.poster; })))
"""

EXPECTED = {"src": "video/mp4", "poster": "image/jpeg", "img": "image/jpeg", "href": "video/mp4"}


def _files(root: Path) -> None:
    from PIL import Image

    for name, colour in (("s1", (200, 40, 40)), ("s2", (40, 40, 200))):
        folder = root / "odyssey_recordings" / "job 1" / name
        folder.mkdir(parents=True)
        Image.new("RGB", (64, 36), colour).save(folder / "thumbnail.jpg", "JPEG")
        (folder / "video.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 64)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the recordings and the notebook, executed and saved by nbclient."""
    from nbclient import NotebookClient

    lab.need_browser()
    folder = tmp_path_factory.mktemp("urls")
    _files(folder)
    nb = code_notebook(SHOW)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    nbformat.write(nb, folder / "saved.ipynb")
    nb.cells[0].outputs = []
    nbformat.write(nb, folder / "live.ipynb")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with lab.chromium() as running:
        yield running


def _server(root: Path, tmp_path_factory: pytest.TempPathFactory, app: str) -> lab.LabServer:
    return lab.start_lab(root, tmp_path_factory.mktemp(f"{app}-state"), app=app)


def _picture(page: Any, name: str) -> None:
    """The gallery in build/screenshots/, and in docs/ with ``ODYSSEY_UPDATE_DOCS=1``."""
    lab.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = lab.SCREENSHOTS / f"{name}.png"
    target = page.locator(".jp-OutputArea").first
    target.scroll_into_view_if_needed()
    target.screenshot(path=str(path))
    if os.environ.get("ODYSSEY_UPDATE_DOCS", "").strip() in {"1", "true", "yes"}:
        shutil.copy2(path, lab.REPO / "docs" / f"{name}.png")


def _check_served(page: Any) -> list[Any]:
    urls = page.evaluate(URLS_JS)
    assert {kind for kind, _ in urls} >= {"src", "poster", "href"}, urls
    page.wait_for_function(RESOLVED_JS, timeout=15_000, polling=200)
    answers = page.evaluate(FETCH_JS, page.evaluate(URLS_JS))
    assert answers == [[kind, 200, EXPECTED[kind]] for kind, _, _ in answers], answers
    return list(urls)


def test_jupyterlab_resolves_every_url_of_a_live_output(
    root: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = _server(root, tmp_path_factory, "lab")
    try:
        page = lab.new_page(browser)
        lab.open_notebook(page, server, "live.ipynb")
        lab.run_all_cells(page)
        page.locator(".odyssey-gallery video").first.wait_for(timeout=60_000)
        lab.wait_until_idle(page)
        _check_served(page)
        _picture(page, "gallery_light")
        lab.run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        _picture(page, "gallery_dark")
    finally:
        server.stop()


def test_a_saved_notebook_resolves_every_url_in_notebook7_and_exported_from_disk(
    root: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Reopened as nbclient saved it (untrusted, no kernel run), then exported as is."""
    from nbconvert import HTMLExporter

    server = _server(root, tmp_path_factory, "notebook")
    try:
        page = lab.new_page(browser)
        page.goto(server.page_url("saved.ipynb"), timeout=90_000)
        page.locator(".odyssey-gallery video").first.wait_for(timeout=60_000)
        _check_served(page)
    finally:
        server.stop()
    nb = nbformat.read(root / "saved.ipynb", as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    page_path = root / "saved.html"
    page_path.write_text(body, encoding="utf-8")
    page = lab.new_page(browser)
    page.goto(page_path.as_uri())
    widths = page.evaluate(POSTERS_LOAD_JS)
    assert len(widths) == 3 and all(width == 64 for width in widths), widths
