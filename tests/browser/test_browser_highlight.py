"""The timeline language in a real Chromium, in JupyterLab 4 and Notebook 7.

The notebook holds a timeline cell, a Python-form cell, and one cell per shared
case of ``grammar.json``: the extension must pick the timeline language for
exactly the cases the kernel reads as timelines. The prebuilt extension is the
one ``make`` builds into the virtualenv (``make labextension``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from support import jupyterlab as lab
from support.notebooks import code_notebook

from odyssey_jupyter.script.grammar import GRAMMAR

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SETUP = (
    "%load_ext odyssey_jupyter\n"
    "import types\n"
    "cat = types.SimpleNamespace(name='Tom', colour='grey')"
)
TIMELINE = (
    "%%odyssey_simulate --landscape -o walk\n"
    "# a cat's afternoon\n"
    '0s start A cat and a lantern in the {cat.colour} room image="my cat.png"\n'
    "1500ms interact the cat jumps from the sill {{gently}}\n"
    "1:05.250 end\n"
    "---\n"
    "+2s start a second {cat.name}\n"
    "3s end"
)
PYTHON = "%%odyssey_simulate\nscript = [make(i) for i in range(3)]"
COMPLETING = "%%odyssey_simulate\n0s start a cat\n1s "


def extension_built() -> bool:
    linked = Path(sys.prefix, "share", "jupyter", "labextensions", "odyssey-jupyter")
    return (linked / "package.json").is_file()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    lab.need_browser()
    if not extension_built():
        pytest.fail("the JupyterLab extension is not built: run `make labextension`")
    with lab.chromium() as running:
        yield running


def write_notebook(root: Path) -> None:
    cells = [SETUP, TIMELINE, PYTHON, COMPLETING]
    cells += [f"%%odyssey_simulate\n{body}" for body, _ in GRAMMAR.cases]
    root.mkdir(parents=True, exist_ok=True)
    nbformat.write(code_notebook(*cells), root / "highlight.ipynb")


def start_notebook7(root: Path, state: Path) -> lab.LabServer:
    """Notebook 7 (``jupyter notebook``) with the same private dirs as ``lab.start_lab``."""
    token = secrets.token_hex(16)
    port = lab.free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
    )
    args = [
        sys.executable,
        "-m",
        "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "notebook.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = lab.LabServer(f"http://127.0.0.1:{port}", token, root, process, log_path)
    return lab.wait_until_serving(server, 120, "Notebook")


@pytest.fixture(scope="module")
def jupyterlab_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    root = tmp_path_factory.mktemp("lab-root")
    write_notebook(root)
    server = lab.start_lab(root, tmp_path_factory.mktemp("lab-state"))
    try:
        page = lab.new_page(browser, height=1400)
        lab.open_notebook(page, server, "highlight.ipynb")
        page.wait_for_selector("[data-odyssey-form=timeline]", timeout=30_000)
        yield page
        page.context.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def notebook7_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    root = tmp_path_factory.mktemp("nb7-root")
    write_notebook(root)
    state = tmp_path_factory.mktemp("nb7-state")
    settings = state / "lab-settings" / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"windowingMode": "none"}')
    server = start_notebook7(root, state)
    try:
        page = lab.new_page(browser, height=1400)
        page.goto(f"{server.url}/notebooks/highlight.ipynb?token={server.token}", timeout=90_000)
        page.wait_for_selector("[data-odyssey-form=timeline]", timeout=90_000)
        yield page
        page.context.close()
    finally:
        server.stop()


def editor(page: Page, index: int) -> Any:
    return page.locator(".jp-Cell .cm-editor").nth(index)


TOKENS_JS = """
el => [...el.querySelectorAll('.cm-content span')].map(s => ({
  text: s.textContent, classes: [...s.classList], color: getComputedStyle(s).color
}))
"""

PLAIN_WORD_JS = """
(el, word) => {
  const walker = document.createTreeWalker(el.querySelector('.cm-content'), NodeFilter.SHOW_TEXT);
  const found = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (new RegExp('\\\\b' + word + '\\\\b').test(n.textContent)) {
      const p = n.parentElement;
      found.push({classes: [...p.classList], color: getComputedStyle(p).color});
    }
  }
  return found;
}
"""


def tokens(page: Page, index: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = editor(page, index).evaluate(TOKENS_JS)
    return result


def with_class(found: list[dict[str, Any]], cls: str) -> list[str]:
    return [t["text"] for t in found if cls in t["classes"]]


def check_timeline_cell(page: Page) -> None:
    found = tokens(page, 1)
    assert editor(page, 1).get_attribute("data-odyssey-form") == "timeline"
    assert with_class(found, "cm-odyssey-time") == ["0s", "1500ms", "1:05.250", "+2s", "3s"]
    assert with_class(found, "cm-odyssey-action") == ["start", "interact", "end", "start", "end"]
    assert with_class(found, "cm-odyssey-substitution") == ["{cat.colour}", "{cat.name}"]
    assert with_class(found, "cm-odyssey-escape") == ["{{", "}}"]
    assert with_class(found, "cm-odyssey-comment") == ["# a cat's afternoon"]
    assert with_class(found, "cm-odyssey-image-key") == ["image="]
    assert with_class(found, "cm-odyssey-image-value") == ['"my cat.png"']
    assert with_class(found, "cm-odyssey-separator") == ["---"]
    assert with_class(found, "cm-odyssey-flag") == ["--landscape", "-o"]
    assert with_class(found, "cm-odyssey-magic") == ["%%odyssey_simulate"]
    # The theme colours the tokens: actions like keywords, times like numbers.
    action = next(t for t in found if "cm-odyssey-action" in t["classes"])
    time_token = next(t for t in found if "cm-odyssey-time" in t["classes"])
    assert action["color"] != time_token["color"]
    # Words of a prompt are plain text, not keywords.
    for word in ("and", "in", "from"):
        places = editor(page, 1).evaluate(PLAIN_WORD_JS, word)
        assert places, word
        for place in places:
            assert place["classes"] == ["cm-line"], (word, place)
            assert place["color"] != action["color"], word
    # A Python body keeps Python: "for" and "in" are keywords, coloured as such.
    page.wait_for_function(  # the Python language loads on demand
        "el => el.querySelectorAll('.cm-content span').length > 0",
        arg=editor(page, 2).element_handle(),
        timeout=30_000,
    )
    python = tokens(page, 2)
    assert editor(page, 2).get_attribute("data-odyssey-form") is None
    keywords = [t for t in python if t["text"] in ("for", "in")]
    assert keywords and all(t["color"] == action["color"] for t in keywords)
    assert not any(c.startswith("cm-odyssey") for t in python for c in t["classes"])


def test_timeline_tokens_in_jupyterlab(jupyterlab_page: Page) -> None:
    check_timeline_cell(jupyterlab_page)
    cell = jupyterlab_page.locator(".jp-Cell").nth(1)
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")
    path = cell.screenshot(path=str(lab.SCREENSHOTS / "editor_highlight.png"))
    assert path


def test_shared_body_form_cases_in_the_editor(jupyterlab_page: Page) -> None:
    """The editor decides timeline-or-Python like the kernel, case by case."""
    first = 4
    for index, (body, form) in enumerate(GRAMMAR.cases):
        attribute = editor(jupyterlab_page, first + index).get_attribute("data-odyssey-form")
        assert (attribute == "timeline") == (form == "timeline"), (body, form, attribute)


def test_editing_switches_the_language(jupyterlab_page: Page) -> None:
    """A Python body typed over a timeline brings Python back, and the other way round."""
    page = jupyterlab_page
    cell_editor = editor(page, 2)
    cell_editor.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Control+Shift+Home")
    page.keyboard.type("%%odyssey_simulate\n0s start for a walk")
    page.wait_for_function(
        "el => el.getAttribute('data-odyssey-form') === 'timeline'",
        arg=cell_editor.element_handle(),
        timeout=15_000,
    )
    assert with_class(tokens(page, 2), "cm-odyssey-action") == ["start"]
    page.keyboard.press("Control+Shift+Home")
    page.keyboard.type("%%odyssey_simulate\nscript = [s for s in x]")
    page.wait_for_function(
        "el => !el.hasAttribute('data-odyssey-form')",
        arg=cell_editor.element_handle(),
        timeout=15_000,
    )


def test_theme_colours_follow_light_and_dark(jupyterlab_page: Page) -> None:
    page = jupyterlab_page

    def time_colour() -> str:
        found = tokens(page, 1)
        colour: str = next(t for t in found if "cm-odyssey-time" in t["classes"])["color"]
        return colour

    light = time_colour()
    number = page.evaluate(
        "() => getComputedStyle(document.body).getPropertyValue('--jp-mirror-editor-number-color')"
    )
    assert number.strip()
    lab.run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    try:
        page.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000
        )
        page.wait_for_timeout(500)
        assert time_colour() != light
    finally:
        lab.run_command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
        page.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000
        )


def test_completion_popup_offers_valid_actions(jupyterlab_page: Page) -> None:
    """Tab in the browser: the kernel's completions reach JupyterLab's completer."""
    page = jupyterlab_page
    page.locator(".jp-Cell").nth(0).locator(".cm-content").click()
    lab.run_command(page, "notebook:run-cell")
    lab.wait_until_idle(page)
    target = editor(page, 3)
    target.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Tab")
    popup = page.locator(".jp-Completer")
    popup.wait_for(state="visible", timeout=30_000)
    items = [" ".join(i.split()) for i in popup.locator(".jp-Completer-item").all_inner_texts()]
    # The kernel's items carry their type; JupyterLab adds words of the cell (no type).
    from_kernel = [item.split()[1] for item in items if item.endswith(" keyword")]
    assert from_kernel == ["interact", "end"], items
    cell = page.locator(".jp-Cell").nth(3)
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")
    box = cell.bounding_box()
    assert box is not None
    lab.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(lab.SCREENSHOTS / "editor_completion.png"),
        clip={"x": box["x"], "y": box["y"], "width": min(700, box["width"]), "height": 220},
    )
    page.keyboard.press("Escape")


def test_timeline_tokens_in_notebook7(notebook7_page: Page) -> None:
    check_timeline_cell(notebook7_page)
    first = 4
    for index, (_body, form) in enumerate(GRAMMAR.cases):
        attribute = editor(notebook7_page, first + index).get_attribute("data-odyssey-form")
        assert (attribute == "timeline") == (form == "timeline")
