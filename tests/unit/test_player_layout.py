"""Players: 1-based headings with the first prompt, a grid of equal columns, theme colours.

The browser half (measured columns, computed colours in JupyterLab Dark) is in
``test_browser_players.py``; here the markup's rules are checked in-process.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from support.recordings import make_recording

from odyssey_jupyter.display.common.labels import stream_name, stream_numbers
from odyssey_jupyter.display.job.final import final_bundle
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.display.media.player import (
    PlayerGroup,
    grid_style,
    headings,
    player_html,
    players_html,
)
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.session.recording import LocalRecording

_THEME_VAR = re.compile(r"var\(--jp-[a-z0-9-]+,[^)]*\)")
_HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")


class _StandIn:
    """A finished job's observable state (what the final bundle reads)."""

    def __init__(self, **fields: Any) -> None:
        self.job_id: str | None = "job-1"
        self.phase = "done"
        self.error: BaseException | None = None
        self.reconnecting = False
        self.scripts: Any = [[], []]
        self.created = 0.0
        self.__dict__.update(fields)


def _landscape(rec: LocalRecording) -> LocalRecording:
    fields = {name: getattr(rec, name) for name in LocalRecording.__slots__}
    return LocalRecording(**{**fields, "width": 1280, "height": 704})


def _fixed_colours(markup: str) -> list[str]:
    """Colours written out, outside a theme variable's fallback."""
    return _HEX.findall(_THEME_VAR.sub("", markup))


def test_stream_names_count_from_one() -> None:
    assert stream_name(0, 0, batch=True, several=False) == "script 1"
    assert stream_name(2, 1, batch=True, several=True) == "script 3 · stream 2"
    assert stream_name(0, 2, batch=False, several=True) == "stream 3"
    assert stream_numbers([0, 0, 1, 2, 2, 2]) == [(0, 2), (1, 2), (0, 1), (0, 3), (1, 3), (2, 3)]


def test_headings_name_the_script_and_the_first_prompt(tmp_path: Path) -> None:
    one = make_recording(tmp_path / "one")
    assert headings([one]) == ["A red fox in snow"]  # one stream: its prompt says it all
    batch = [make_recording(tmp_path / str(n), script_index=n, stream_id=f"s{n}") for n in (0, 2)]
    assert headings(batch) == ["Script 1 · a red fox in snow", "Script 3 · a red fox in snow"]
    same_script = [make_recording(tmp_path / "x", stream_id=f"x{n}") for n in range(2)]
    assert headings(same_script) == [
        "Stream 1 · a red fox in snow",
        "Stream 2 · a red fox in snow",
    ]
    silent = LocalRecording(stream_id="q", script_index=0, video_path=tmp_path / "q.mp4")
    assert headings([silent]) == ["Recording"]


def test_a_long_prompt_and_id_stay_in_one_line_and_the_tooltip(tmp_path: Path) -> None:
    rec = make_recording(tmp_path, stream_id="0f8e6c1a-3b5d-4e7f-9a2b-1c3d5e7f9a2b")
    out = player_html(rec, label="Script 12 · " + "a very long prompt " * 20)
    title = re.search(r'<div class="odyssey-player-title" title="([^"]*)" style="([^"]*)"', out)
    assert title is not None
    assert "stream 0f8e6c1a-3b5d-4e7f-9a2b-1c3d5e7f9a2b" in title.group(1)
    assert "a very long prompt a very long prompt" in title.group(1)
    for rule in ("white-space:nowrap", "overflow:hidden", "text-overflow:ellipsis"):
        assert rule in title.group(2)
    # a grid item may shrink below its content: the heading never sets the column width
    assert re.search(r'class="odyssey-player"[^>]*style="min-width:0;', out)


def test_the_grid_has_equal_columns_for_either_orientation(tmp_path: Path) -> None:
    portrait = [make_recording(tmp_path / str(n), script_index=n) for n in range(3)]
    landscape = [_landscape(rec) for rec in portrait]
    for recs, narrow, wide in ((portrait, 160, 240), (landscape, 280, 640)):
        style = grid_style(recs)
        assert "display:grid" in style
        assert f"repeat(auto-fit,minmax(min(100%,{narrow}px),1fr))" in style
        assert f"max-width:{3 * wide + 2 * 12}px" in style
        out = players_html(recs, embed=False, base_dir=tmp_path)
        assert out.startswith(f'<div class="odyssey-players" style="{style}">')
        assert "display:inline-block" not in out and "flex" not in out
    assert "max-width:640px" in grid_style(landscape[:1])  # one player keeps a sane size
    ratios = re.findall(r"aspect-ratio:(\d+/\d+)", players_html(landscape, embed=False))
    assert ratios == ["1280/704"] * 3


def test_players_chapters_and_finals_take_theme_colours(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    rec.video_path.unlink()  # the "file missing" line too
    out = players_html([rec], embed=False, base_dir=tmp_path)
    for variable in (
        "--jp-layout-color1",
        "--jp-ui-font-color0",
        "--jp-ui-font-color1",
        "--jp-ui-font-color2",
        "--jp-border-color2",
        "--jp-warn-color1",
    ):
        assert f"var({variable}," in out, variable
    assert _fixed_colours(out) == ["#000"]  # only the video's letterbox stays black
    detail = SimulationJobDetail.from_json(
        {
            "job_id": "job-1",
            "status": "failed",
            "error_message": "1 of 2 streams failed",
            "streams": [
                {"stream_id": "s1", "script_index": 0, "status": "completed"},
                {"stream_id": "s2", "script_index": 1, "status": "failed", "error_message": "no"},
            ],
        }
    )
    job = _StandIn(
        status=JobStatus.FAILED, detail=detail, local_recordings=[make_recording(tmp_path / "f")]
    )
    body = final_bundle(job)["text/html"]  # type: ignore[arg-type]
    assert 'class="odyssey-error" style="color:var(--jp-error-color1,' in body
    assert "var(--jp-layout-color1," in body  # its players are the same cards


def test_the_gallery_uses_the_players_video_box_and_theme(tmp_path: Path) -> None:
    rec = _landscape(make_recording(tmp_path))
    done = SimpleNamespace(index=0, params={"a": 1}, status="completed", error=None, script=[])
    done.recordings = [rec]
    failed = SimpleNamespace(index=1, params={"a": 2}, status="failed", error="no", script=[])
    failed.recordings = []
    out = gallery_html([done, failed], base_dir=tmp_path)
    assert "aspect-ratio:1280/704" in out  # a landscape sweep is not squeezed into 9:16
    assert "var(--jp-layout-color2," in out and "var(--jp-ui-font-color2," in out


def test_a_batch_group_says_which_is_which_as_text(tmp_path: Path) -> None:
    recs = [make_recording(tmp_path / str(n), script_index=n) for n in range(2)]
    text = repr(PlayerGroup(recs, base_dir=tmp_path))
    assert "  Script 1 · a red fox in snow\n" in text
    assert "  Script 2 · a red fox in snow\n" in text
