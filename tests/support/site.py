"""The built documentation site: building it, reading its inventory and its pages."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SITE = ROOT / "build" / "docs" / "html"


def build_site() -> Path:
    """``make docs``'s build (incremental: unchanged pages and cached tutorials are kept)."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    done = subprocess.run(
        [*command, str(DOCS), str(SITE)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"the docs build failed:\n{done.stdout}\n{done.stderr}"
    return SITE


def inventory(site: Path) -> dict[str, dict[str, str]]:
    """``objects.inv``: role (``py:function``, ``std:cmdoption``...) -> name -> page."""
    from sphinx.util.inventory import InventoryFile

    with (site / "objects.inv").open("rb") as stream:
        loaded = InventoryFile.load(stream, "", lambda base, uri: uri)
    data = getattr(loaded, "data", loaded)  # Sphinx 8.2 wraps the mapping in an object
    found: dict[str, dict[str, str]] = {}
    for role, entries in data.items():
        found[role] = {name: _uri(item) for name, item in entries.items()}
    return found


def _uri(item: object) -> str:
    """An inventory entry's page (a named tuple, or a plain one before Sphinx 8.2)."""
    uri = getattr(item, "uri", None)
    return str(uri if uri is not None else item[2])  # type: ignore[index]


@dataclass
class Page:
    """What one HTML page references and defines."""

    path: Path
    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(tag.attribute, value) of every href and src."""


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.page.ids.add(value)
            elif name in {"href", "src"}:
                self.page.links.append((f"{tag}.{name}", value))


def read_page(path: Path) -> Page:
    page = Page(path)
    _Reader(page).feed(path.read_text(encoding="utf-8"))
    return page


def is_remote(url: str) -> bool:
    return urlsplit(url).scheme not in {"", "file", "data"}


def local_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file and fragment a relative link points at; None for remote or data URLs."""
    parts = urlsplit(url)
    if parts.scheme or url.startswith("//"):
        return None
    if not parts.path:
        return page, parts.fragment
    return (page.parent / unquote(parts.path)).resolve(), parts.fragment
