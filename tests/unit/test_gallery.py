"""The gallery's look and labels: theme-coloured controls, and one label rule with compare()."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from support.recordings import make_recording

from odyssey_jupyter.display.media.compare import entries
from odyssey_jupyter.display.media.gallery import gallery_html


def _items(tmp_path: Path) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            index=index,
            params={"animal": animal, "weather": weather, "seed": 3},
            status="completed",
            error=None,
            recordings=[make_recording(tmp_path / str(index))],
            script=[],
        )
        for index, (animal, weather) in enumerate([("cat", "rain"), ("owl", "snow")])
    ]


def test_gallery_and_compare_label_an_item_alike(tmp_path: Path) -> None:
    items = _items(tmp_path)
    html = gallery_html(items, base_dir=tmp_path)
    captions = re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", html)
    assert captions == [
        "#0 animal=cat · weather=rain · seed=3",
        "#1 animal=owl · weather=snow · seed=3",
    ]
    assert [entry.label for entry in entries(items)] == captions


def test_the_gallery_controls_use_the_theme_colours(tmp_path: Path) -> None:
    html = gallery_html(_items(tmp_path), base_dir=tmp_path)
    controls = re.findall(r"<(select|button)\b([^>]*)>", html)
    assert len(controls) == 6  # animal, weather and state filters; previous, next, compare
    for tag, attributes in controls:
        assert "var(--jp-layout-color1," in attributes, tag
        assert "var(--jp-ui-font-color1," in attributes and "var(--jp-border-color1," in attributes
