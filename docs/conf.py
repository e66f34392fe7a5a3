"""Sphinx configuration of the odyssey_jupyter site (``make docs``).

The site builds offline with warnings as errors: the theme's assets are bundled (furo),
MathJax is off, and the tutorials run against the embedded engine with no key, their
results cached under ``build/docs/`` so an unchanged notebook is not run again.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
BUILD = ROOT / "build" / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

project = "odyssey_jupyter"
author = "The odyssey_jupyter authors"
copyright = "the odyssey_jupyter authors"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "odyssey_docs",
]

# Tutorials: executed by MyST-NB against the embedded engine, like ``make demo``: no key,
# every cell waits, the engine's data under build/ (odyssey_docs starts and stops it).
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / "jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_in_temp = False
nb_merge_streams = True
# No widget manager from a CDN: a headless run leaves every job as its final HTML.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_execution_excludepatterns: list[str] = []

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"

nitpicky = True
# Names from other projects: no intersphinx (the build is offline), so they are shown
# as written and not linked.
_FOREIGN = (
    "_?asyncio|httpx|collections|pathlib|typing|datetime|enum|traitlets|IPython|ipywidgets"
    "|anywidget|argparse|types|concurrent|sqlite3|pandas|PIL|numpy|fsspec|os"
)
_BUILTIN = (
    "Any|Path|Iterable|Iterator|Sequence|Mapping|Callable|Awaitable|AsyncIterator|Self"
    "|Literal|datetime|TracebackType|Exception|BaseException|ValueError|RuntimeError"
    "|TimeoutError|StrEnum|Enum|NoneType|bytes|str|int|float|bool|dict|list|tuple|object"
    "|None|type|InteractiveShell|DataFrame|Image"
)
# The package's own internals, which constructors take and users never build.
_INTERNAL = (
    "Runtime|Ledger|Locate|Script|ScriptWarning|SweepText|SweepLive|SweepSaved"
    "|odyssey_jupyter.local.launch.record.EngineRecord|odyssey_jupyter.display.browser.rows.RowData"
    "|odyssey_jupyter.display.browser.controls.BrowserRow|odyssey_jupyter.sweeps.storage.Store"
    "|odyssey_jupyter.sweeps.output.OutputOwner"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_FOREIGN})(\..*)?"),
    (r"py:class", rf"({_BUILTIN})"),
    (r"py:.*", r"odyssey_jupyter\..*\._.*"),
    (r"py:class", rf"({_INTERNAL})"),
]

exclude_patterns = ["_build", "jupyter_execute", "**/.ipynb_checkpoints", "**/odyssey_recordings"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
# Quotes stay as typed: the pages quote code, settings and messages.
smartquotes = False

html_theme = "furo"
html_title = "odyssey_jupyter"
html_static_path: list[str] = []
# No MathJax: nothing here is mathematics, and Sphinx adds its CDN script only to pages
# with math (the tests check that no page loads anything from the network).
myst_update_mathjax = False
html_copy_source = False
html_show_sourcelink = False

os.environ.setdefault("ODYSSEY_DOCS_BUILD", str(BUILD))
