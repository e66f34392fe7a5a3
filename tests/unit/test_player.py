"""Player HTML: relative file references, chapters that seek, untrusted degradation, embedding."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path

import bleach  # type: ignore[import-untyped]
import pytest
from support.recordings import make_recording
from support.standin import StandIn

from odyssey_jupyter.display.media.player import (
    PlayerGroup,
    player_html,
    players_html,
    relative_src,
    should_embed,
)
from odyssey_jupyter.session.config import OdysseyJupyter

# What an untrusted notebook keeps (JupyterLab's sanitizer: no scripts, no on* handlers).
_SAFE_TAGS = {"div", "span", "video", "ol", "li", "a", "b", "code", "img"}
_SAFE_ATTRS = {
    "video": ["src", "poster", "controls", "preload", "class"],
    "img": ["src", "alt", "class"],
    "a": ["href", "download", "class"],
    "*": ["class", "title"],
}


def test_video_src_is_relative_to_the_working_dir(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    out = player_html(rec, base_dir=tmp_path)
    assert '<video class="odyssey-video" controls preload="metadata"' in out
    assert 'src="odyssey_recordings/job%201/s1/video.mp4"' in out
    assert 'poster="odyssey_recordings/job%201/s1/thumbnail.jpg"' in out
    # one mechanism for every poster (the labextension resolves it): no hidden <img> hack
    assert "<img" not in out and "onload" not in out
    assert "<source" not in out
    assert "4.0 s" in out and "704×1280" in out and "96 frames" in out
    assert 'class="odyssey-download" href="odyssey_recordings/job%201/s1/video.mp4" download' in out
    assert "http" not in out  # never a presigned URL


def test_relative_src_from_a_subfolder(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    assert relative_src(rec.video_path, notebooks) == "../odyssey_recordings/job%201/s1/video.mp4"


def test_chapters_seek_the_video_and_are_escaped(tmp_path: Path) -> None:
    out = player_html(make_recording(tmp_path), base_dir=tmp_path)
    chapters = re.findall(r'<li class="odyssey-chapter" data-time="([0-9.]+)"', out)
    assert chapters == ["0.000", "2.500"]
    assert "currentTime" in out and "onclick=" in out
    assert "it jumps &lt;over&gt; &quot;the&quot; fence" in out
    assert "0:02.5" in out


def test_untrusted_notebook_keeps_video_and_plain_chapter_list(tmp_path: Path) -> None:
    out = player_html(make_recording(tmp_path), base_dir=tmp_path)
    cleaned = bleach.clean(out, tags=_SAFE_TAGS, attributes=_SAFE_ATTRS, strip=True)
    assert "onclick" not in cleaned
    assert 'src="odyssey_recordings/job%201/s1/video.mp4"' in cleaned
    text = re.sub(r"<[^>]+>", " ", cleaned)
    assert "0:00.0" in text and "a red fox in snow" in text
    assert "0:02.5" in text


def test_missing_file_is_said_and_still_referenced(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    rec.video_path.unlink()
    out = player_html(rec, base_dir=tmp_path)
    assert "odyssey-missing" in out and "job.recordings()" in out
    assert 'src="odyssey_recordings/job%201/s1/video.mp4"' in out


def test_embed_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = make_recording(tmp_path, size=2 * 1024 * 1024)
    for name in ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    config = OdysseyJupyter(embed_videos="auto", embed_max_mb=5)
    assert not should_embed(rec.video_path, config)  # JupyterLab: a file reference
    monkeypatch.setenv("VSCODE_PID", "1234")
    assert should_embed(rec.video_path, config)
    monkeypatch.delenv("VSCODE_PID")
    monkeypatch.setitem(__import__("sys").modules, "google.colab", object())
    assert should_embed(rec.video_path, config)
    config.embed_max_mb = 1  # over the cap: linked even in Colab
    assert not should_embed(rec.video_path, config)
    assert not should_embed(rec.video_path, OdysseyJupyter(embed_videos="never"))
    assert should_embed(rec.video_path, OdysseyJupyter(embed_videos="always", embed_max_mb=3))
    assert not should_embed(tmp_path / "nope.mp4", OdysseyJupyter(embed_videos="always"))


def test_embedded_player_is_a_data_url(tmp_path: Path) -> None:
    rec = make_recording(tmp_path, size=10)
    out = player_html(rec, embed=True, base_dir=tmp_path)
    payload = base64.b64encode(b"\0" * 10).decode()
    assert f'src="data:video/mp4;base64,{payload}"' in out
    assert 'poster="data:image/jpeg;base64,' in out
    # the download link still names the local file
    assert 'href="odyssey_recordings/job%201/s1/video.mp4"' in out


def test_batch_grid_labels_and_group_repr(tmp_path: Path) -> None:
    first = make_recording(tmp_path / "a", with_thumb=False)
    second = make_recording(tmp_path / "b", script_index=1)
    out = players_html([first, second], base_dir=tmp_path, embed=False)
    assert out.count('class="odyssey-player"') == 2
    assert out.startswith('<div class="odyssey-players"')
    # headings count scripts from 1 and give the first prompt; the id is in the tooltip
    assert ">Script 1 · a red fox in snow</div>" in out
    assert ">Script 2 · a red fox in snow</div>" in out
    assert 'title="Script 1 · a red fox in snow\nstream s1"' in out
    assert "script 0" not in out.lower()
    group = PlayerGroup([first, second], base_dir=tmp_path, embed=False)
    assert group._repr_html_().count("<video") == 2
    text = repr(group)
    assert text.startswith("2 recordings")
    assert "  Script 2 · a red fox in snow\n" in text
    assert "a/odyssey_recordings/job 1/s1/video.mp4".replace(" ", "%20") in text
    assert "0:02.5  it jumps" in text


def test_preview_first(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    preview = rec.video_path.with_name("preview.mp4")
    preview.write_bytes(b"\0" * 10)
    rec = dataclasses.replace(rec, preview_path=preview)
    out = player_html(rec, base_dir=tmp_path, prefer_preview=True)
    assert 'src="odyssey_recordings/job%201/s1/preview.mp4"' in out
    assert "short preview" in out


def test_a_crowded_events_log_lists_a_capped_number_of_chapters(tmp_path: Path) -> None:
    """Hundreds of thousands of prompts (an events log at the size cap) list the first
    MAX_CHAPTERS and one line saying how many more; one click handler serves them all."""
    from odyssey_jupyter.display.media.player import MAX_CHAPTERS
    from odyssey_jupyter.session.recording import Chapter

    many = tuple(Chapter(n / 100, f"prompt {n}", "interact") for n in range(MAX_CHAPTERS + 4321))
    rec = dataclasses.replace(make_recording(tmp_path), chapters=many)
    out = player_html(rec, base_dir=tmp_path)
    times = re.findall(r'<li class="odyssey-chapter" data-time="([0-9.]+)"', out)
    assert times[:2] == ["0.000", "0.010"] and len(times) == MAX_CHAPTERS
    assert "… and 4,321 more chapters (not listed)" in out
    assert out.count("onclick=") == 1 and out.count("currentTime") == 1
    assert len(out) < 300 * MAX_CHAPTERS
    text = repr(PlayerGroup([rec], base_dir=tmp_path))
    assert text.count("prompt ") == MAX_CHAPTERS and "4,321 more chapters" in text


def test_one_duration_format_in_players_tables_and_status(tmp_path: Path) -> None:
    """A minute reads the same everywhere: "1 min 05 s", never "1:05" beside "40.0 s"."""
    from odyssey_jupyter.display.browser.rows import RowData, duration_text
    from odyssey_jupyter.display.common.relative_time import format_duration
    from odyssey_jupyter.display.job.status_html import panel_html
    from odyssey_jupyter.display.job.status_view import snapshot
    from odyssey_jupyter.protocol.types import JobStatus

    assert [format_duration(s) for s in (40.0, 60.0, 65.0, 3725.0)] == [
        "40.0 s",
        "1 min 00 s",
        "1 min 05 s",
        "1 h 02 min",
    ]
    rec = dataclasses.replace(make_recording(tmp_path), duration_seconds=65.0)
    assert "1 min 05 s" in player_html(rec) and "1:05" not in player_html(rec)
    assert duration_text(RowData("job", JobStatus("completed"), None, 65.0)) == "1 min 05 s"
    view = snapshot(StandIn(created=100.0), now=165.0)  # type: ignore[arg-type]
    assert '<span class="odyssey-elapsed">1 min 05 s</span>' in panel_html(view)


def test_a_missing_preview_embeds_the_video_that_plays_instead(tmp_path: Path) -> None:
    rec = make_recording(tmp_path, size=10)
    rec = dataclasses.replace(rec, preview_path=rec.video_path.with_name("preview.mp4"))
    config = OdysseyJupyter(embed_videos="always", embed_max_mb=1)
    out = players_html([rec], base_dir=tmp_path, prefer_preview=True, config=config)
    payload = base64.b64encode(b"\0" * 10).decode()
    assert f'src="data:video/mp4;base64,{payload}"' in out
    assert "short preview" not in out
