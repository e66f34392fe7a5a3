"""The built site is whole and offline: every relative link and image resolves, every
in-site anchor exists, and no page or stylesheet loads anything from the network."""

from __future__ import annotations

import re
from pathlib import Path

from support.site import is_remote, local_target, read_page

# A page may link to other sites (an <a>); what it loads must all come from the site.
LOADED = {"script.src", "img.src", "video.src", "source.src", "link.href", "iframe.src"}


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    return pages


def test_every_relative_link_and_image_points_at_a_file_and_anchor_that_exist(
    site: Path,
) -> None:
    broken = []
    ids: dict[Path, set[str]] = {}
    for path in _pages(site):
        for where, url in read_page(path).links:
            target = local_target(path, url)
            if target is None:
                continue
            file, fragment = target
            if not file.exists():
                broken.append(f"{path.relative_to(site)}: {where}={url} (no such file)")
            elif fragment and file.suffix == ".html":
                if file not in ids:
                    ids[file] = read_page(file).ids
                if fragment not in ids[file]:
                    broken.append(f"{path.relative_to(site)}: {url} (no such anchor)")
    assert broken == []


def test_no_page_loads_a_script_style_font_or_media_from_the_network(site: Path) -> None:
    remote = [
        f"{path.relative_to(site)}: {where}={url}"
        for path in _pages(site)
        for where, url in read_page(path).links
        if where in LOADED and is_remote(url)
    ]
    assert remote == []
    in_css = [
        f"{sheet.relative_to(site)}: {found}"
        for sheet in site.rglob("*.css")
        for found in re.findall(r"(?:url\(|@import)\s*['\"]?https?://[^)'\"\s]+", sheet.read_text())
    ]
    assert in_css == []


def test_every_tutorial_video_is_in_the_site(site: Path) -> None:
    videos = {
        path.name: [url for where, url in read_page(path).links if where == "video.src"]
        for path in sorted((site / "tutorials").glob("*.html"))
    }
    assert len(videos) == 6
    assert [name for name, found in videos.items() if not found and name != "index.html"] == []
    for name, found in videos.items():
        page = site / "tutorials" / name
        assert all((page.parent / url).is_file() for url in found), name
