"""The dry-run timeline: prompts wrap instead of being cut, 1-based lanes, a header with
the total length, the text form folded, and theme colours with fallbacks.

Chromium measures the same picture in JupyterLab Dark in ``test_browser_players.py``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from odyssey_jupyter.display.job.timeline import (
    CHAR_PX,
    MAX_LINES,
    WIDTH,
    ScriptTimeline,
    timeline_svg,
)
from odyssey_jupyter.script.rules import Script, validate_script, validate_scripts

LONG = (
    "a lighthouse keeper climbs the spiral stairs at dusk while the storm rolls in "
    "from the west and gulls circle the lamp room windows"
)


class _Texts(HTMLParser):
    """Each cue's hover text and the lines it shows, with where the text starts."""

    def __init__(self) -> None:
        super().__init__()
        self.cues: list[dict[str, object]] = []
        self.lane_names: list[str] = []
        self._where: str | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "g" and found.get("class") == "odyssey-cue":
            self.cues.append({"title": "", "lines": [], "x": None})
        elif tag == "title" and self.cues and self._where is None:
            self._where = "title"
        elif tag == "tspan":
            self._where = "line"
            self.cues[-1]["x"] = float(found["x"] or 0)
            self.cues[-1]["lines"].append("")  # type: ignore[attr-defined]
        elif tag == "text" and found.get("font-weight") == "600":
            self._where = "lane"
            self.lane_names.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "tspan", "text"):
            self._where = None
        if tag == "g":
            self._where = None

    def handle_data(self, data: str) -> None:
        if self._where == "title" and self.cues:
            self.cues[-1]["title"] = str(self.cues[-1]["title"]) + data
        elif self._where == "line":
            lines = self.cues[-1]["lines"]
            lines[-1] += data  # type: ignore[index]
        elif self._where == "lane":
            self.lane_names[-1] += data


def _parse(svg: str) -> _Texts:
    parser = _Texts()
    parser.feed(svg)
    return parser


def _script(*prompts: tuple[int, str], end: int = 12_000) -> Script:
    entries = [
        {"timestamp_ms": at, ("start" if n == 0 else "interact"): {"prompt": text}}
        for n, (at, text) in enumerate(prompts)
    ]
    return validate_script([*entries, {"timestamp_ms": end, "end": {}}])


def test_a_long_prompt_wraps_and_shows_in_full_on_hover() -> None:
    svg = timeline_svg([_script((0, LONG))])
    (cue,) = _parse(svg).cues
    assert cue["title"] == f"0s start: {LONG}"
    lines = cue["lines"]
    assert isinstance(lines, list) and 2 <= len(lines) <= MAX_LINES
    shown = " ".join(lines)
    assert "…" not in shown and shown == LONG  # it fits in three lines: nothing is cut
    x = float(cue["x"])  # type: ignore[arg-type]
    assert all(x + len(line) * CHAR_PX <= WIDTH for line in lines)


def test_crowded_prompts_wrap_in_their_own_room_and_keep_the_rest_for_hover() -> None:
    script = _script((0, LONG), (1000, "short"), (2000, LONG), (3000, LONG))
    cues = _parse(timeline_svg([script])).cues
    assert [c["title"] for c in cues] == [
        f"0s start: {LONG}",
        "1s interact: short",
        f"2s interact: {LONG}",
        f"3s interact: {LONG}",
    ]
    first, _, third, _ = cues
    # two cues later is the next label in the same row: the first one's lines stop there
    room = float(third["x"]) - float(first["x"])  # type: ignore[arg-type]
    assert all(len(line) * CHAR_PX <= room for line in first["lines"])  # type: ignore[attr-defined]
    assert str(first["lines"][-1]).endswith("…")  # type: ignore[index]
    assert len(first["lines"]) <= MAX_LINES  # type: ignore[arg-type]


def test_lanes_grow_to_the_lines_they_hold() -> None:
    short = timeline_svg([_script((0, "a kite"))])
    tall = timeline_svg([_script((0, LONG), (100, LONG))])
    heights = [int(re.search(r'height="(\d+)"', svg).group(1)) for svg in (short, tall)]  # type: ignore[union-attr]
    assert heights[1] > heights[0]


def test_lanes_count_scripts_and_streams_from_one() -> None:
    first = _script((0, "a kite"))
    second = validate_script(
        [
            {"timestamp_ms": 0, "start": {"prompt": "a boat"}},
            {"timestamp_ms": 1000, "end": {}},
            {"timestamp_ms": 2000, "start": {"prompt": "a harbour"}},
            {"timestamp_ms": 3000, "end": {}},
        ]
    )
    batch = _parse(timeline_svg(validate_scripts([first, second]))).lane_names
    assert batch == ["script 1", "script 2 · stream 1", "script 2 · stream 2"]
    assert _parse(timeline_svg([second])).lane_names == ["stream 1", "stream 2"]


def test_the_header_gives_streams_and_total_length_and_the_text_is_folded() -> None:
    one = _script((0, "a kite"), end=4000)
    two = validate_script(
        [
            {"timestamp_ms": 0, "start": {"prompt": "a boat"}},
            {"timestamp_ms": 2500, "end": {}},
            {"timestamp_ms": 3000, "start": {"prompt": "a harbour"}},
            {"timestamp_ms": 5000, "end": {}},
        ]
    )
    timeline = ScriptTimeline([one, two], portrait=False)
    header = (
        "Dry run (nothing sent): 2 scripts, 3 streams, 8.5 s of video "
        "(longest script 4.5 s), landscape 1280x704"
    )
    assert repr(timeline).startswith(header + "\n")
    html = timeline._repr_html_()
    assert f"<b>{header}</b>" in html
    fold = re.search(r"<details([^>]*)><summary[^>]*>([^<]*)</summary><pre", html)
    assert fold is not None and "open" not in fold.group(1)  # folded by default
    assert fold.group(2) == "The script as text (6 entries)"
    assert "0s start a kite" in html.split("<details")[1]
    single = ScriptTimeline([one])._header()
    assert single == "Dry run (nothing sent): 1 stream, 4.0 s of video, portrait 704x1280"


def test_the_picture_takes_theme_colours_and_keeps_fallbacks() -> None:
    script = validate_script(
        [
            {"timestamp_ms": 0, "start": {"prompt": "a kite", "image": "data:image/png;base64,x"}},
            {"timestamp_ms": 1000, "interact": {"prompt": "it dives"}},
            {"timestamp_ms": 2000, "end": {}},
        ]
    )
    svg = timeline_svg([script])
    background = re.search(r'<rect class="odyssey-timeline-background"[^>]*>', svg)
    assert background is not None
    assert 'fill="#ffffff"' in background.group(0)  # a page without JupyterLab's CSS
    assert "fill:var(--jp-layout-color1,#ffffff)" in background.group(0)
    # every painted element carries its theme variable next to its plain colour
    for element in re.findall(r"<(?:rect|line|text|circle)\b[^>]*>", svg):
        for paint in re.findall(r'\b(fill|stroke)="#', element):
            assert f"{paint}:var(--jp-" in element, element
    for variable in ("--jp-ui-font-color1", "--jp-ui-font-color2", "--jp-border-color2"):
        assert f"var({variable}," in svg
    for variable in ("--jp-brand-color1", "--jp-success-color1", "--jp-error-color1"):
        assert f"var({variable}," in svg
    assert "#fafafa" not in svg and "#bbdefb" not in svg  # the old light-only colours
