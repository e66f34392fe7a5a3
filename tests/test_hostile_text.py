"""Untrusted text never becomes markup: every display, fed hostile strings, parsed.

The strings come from a fake Simulate API on 127.0.0.1 (ids, statuses, details,
error messages, totals, events) and from the user (prompts, variable values,
image file names). Each HTML/SVG fragment produced is parsed with ``html.parser``:
no element, attribute, handler or URL from the corpus may survive. The same
fragments are rendered in Chromium by ``test_hostile_browser.py``.
"""

from __future__ import annotations

import ast
import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.hostile import PAYLOADS, URL_PAYLOADS, hostile_server, injections
from support.hostile_displays import Fragment, collect, collect_bad_total, point_at

from odyssey_jupyter.display.browser_rows import RowData, html_table, info_html, text_table
from odyssey_jupyter.display.markup import (
    class_name,
    escape,
    printable,
    python_call,
    python_literal,
    safe_url,
)
from odyssey_jupyter.display.player import chapters_html, player_html
from odyssey_jupyter.display.status import StatusView, StreamRow, badge_html, panel_html
from odyssey_jupyter.display.timeline import ScriptTimeline
from odyssey_jupyter.recordings import Chapter, LocalRecording
from odyssey_jupyter.runtime import shutdown_runtime
from odyssey_jupyter.types import JobStatus

# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("text", PAYLOADS)
def test_escape_leaves_no_markup_in_text_or_attributes(text: str) -> None:
    assert injections(f"<span>{escape(text)}</span>") == []
    assert injections(f'<span title="{escape(text)}">x</span>') == []
    assert injections(f"<span title='{escape(text)}'>x</span>") == []
    assert html.unescape(escape(text)) == text  # the reader still sees the text itself


@pytest.mark.parametrize(
    "url", [*URL_PAYLOADS, "JAVASCRIPT:x", "\x00javascript:x", "java\nscript:x", "data:,x"]
)
def test_safe_url_drops_script_urls(url: str) -> None:
    assert safe_url(url) == ""


@pytest.mark.parametrize(
    "url",
    [
        "odyssey_recordings/job/stream/video.mp4",
        "odyssey_recordings/%3Cimg%3E/video.mp4",
        "https://cdn.example/v.mp4?sig=a&b=c",
        "http://127.0.0.1:8000/x.jpg",
        "data:image/jpeg;base64,AAAA",
        "data:video/mp4;base64,AAAA",
        "C:/Users/me/video.mp4",
    ],
)
def test_safe_url_keeps_relative_http_and_media_data_urls(url: str) -> None:
    assert html.unescape(safe_url(url)) == url


def test_printable_shows_terminal_escapes_and_keeps_lines() -> None:
    assert printable("a\x1b[2Jb\r\u202ec\nd\te\x9b") == "a\\x1b[2Jb\\r\\u202ec\nd\te\\x9b"
    assert printable(PAYLOADS[0]) == PAYLOADS[0]


def test_class_names_are_one_plain_token() -> None:
    assert class_name('a b"><img onerror=x>') == "a-b---img-onerror-x-"
    for text in PAYLOADS:
        assert set(class_name(text)) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


@pytest.mark.parametrize("job_id", [*PAYLOADS, 'x"); import os; os.system("id"); ("', "a\nb"])
def test_the_copyable_line_only_names_the_job(job_id: str) -> None:
    line = python_call("job_x", "odyssey_jupyter.Job.from_id", job_id)
    module = ast.parse(line)
    assert len(module.body) == 1
    node = module.body[0]
    assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
    (argument,) = node.value.args
    assert isinstance(argument, ast.Constant) and argument.value == job_id
    assert ast.unparse(node.value.func) == "odyssey_jupyter.Job.from_id"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_quoted_into_a_literal_of_itself(text: str) -> None:
    literal = python_literal(text)
    assert literal.startswith('"') and ast.literal_eval(literal) == text
    literal.encode("utf-8")  # even a lone surrogate is written as an escape


# --------------------------------------------------------------------------- direct builders


def _recording(tmp_path: Path, stream_id: str) -> LocalRecording:
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x08free")
    thumb = tmp_path / "thumbnail.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xd9")
    return LocalRecording(
        stream_id=stream_id,
        script_index=0,
        video_path=video,
        thumbnail_path=thumb,
        preview_path=None,
        events_path=None,
        duration_seconds=1.0,
        frame_count=24,
        width=1280,
        height=704,
        chapters=tuple(Chapter(i * 0.5, text, "interact") for i, text in enumerate(PAYLOADS)),
    )


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_builders_escape_each_payload(index: int, tmp_path: Path) -> None:
    text = PAYLOADS[index]
    rec = _recording(tmp_path, text)
    view = StatusView(
        job_id=text,
        status=text,
        stage=text,
        elapsed_s=1.0,
        wait_text=text,
        progress=None,
        stage_fraction=0.5,
        streams=(StreamRow(text, text, text), StreamRow("script 1", "waiting", None)),
        error=text,
        reconnecting=True,
        terminal=True,
        finished=True,
        summary=text,
    )
    row = RowData(text, JobStatus(text), text, 1.0, text, 1, text)
    fragments = {
        "player": player_html(rec, label=text),
        "chapters": chapters_html(rec),
        "panel": panel_html(view, note=text),
        "badge": badge_html(text, text),
        "row": info_html(row),
        "table": html_table([row], text),
    }
    for name, markup in fragments.items():
        assert injections(markup) == [], name
    assert printable(text) in text_table([row], text)  # the text fallback shows the string


def test_the_dry_run_escapes_prompts_and_labels() -> None:
    script = [{"timestamp_ms": 0, "start": {"prompt": PAYLOADS[0]}}]
    script += [
        {"timestamp_ms": 100 * (i + 1), "interact": {"prompt": text}}
        for i, text in enumerate(PAYLOADS[1:])
    ]
    script.append({"timestamp_ms": 5000, "end": {}})
    timeline = ScriptTimeline([script, script])
    markup = timeline._repr_html_()
    assert injections(markup) == []
    assert escape(PAYLOADS[3]) in markup
    assert PAYLOADS[3] in repr(timeline)


# --------------------------------------------------------------------------- through a server


@pytest.fixture
def fragments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Fragment]]:
    with hostile_server() as server:
        point_at(monkeypatch, tmp_path, server.url)
        found = collect(server, tmp_path)
    yield found
    shutdown_runtime()


def test_every_display_fed_hostile_strings_makes_no_markup_of_them(
    fragments: list[Fragment],
) -> None:
    names = {f.name.split(" (")[0] for f in fragments}
    for wanted in (
        "dry-run timeline",
        "script error",
        "text status",
        "status widget panel",
        "status widget players",
        "summary",
        "players",
        "browser row",
        "browser caption",
        "browser message",
        "browser preview title",
        "browser preview",
        "browser table",
        "browser text",
    ):
        assert wanted in names, f"no {wanted} was produced"
    markup = [f for f in fragments if f.kind != "text"]
    problems = {f"{f.name}: {p}" for f in markup for p in injections(f.content)}
    assert not problems, sorted(problems)[:20]
    # the hostile strings did reach the displays, as visible text
    everything = "".join(f.content for f in markup)
    for text in (PAYLOADS[0], PAYLOADS[1], PAYLOADS[6], PAYLOADS[11]):
        assert escape(text) in everything, text
    texts = "\n".join(f.content for f in fragments if f.kind == "text")
    assert PAYLOADS[0] in texts and escape(PAYLOADS[0]) not in texts  # text stays text
    for fragment in fragments:
        if fragment.kind == "text" and fragment.name != "job wait error":
            assert "\x1b" not in fragment.content and "\u202e" not in fragment.content, fragment
    assert "\\x1b]8;;javascript:" in texts  # the terminal escape is shown, not obeyed


def test_the_browser_error_line_and_load_line_quote_server_strings(
    fragments: list[Fragment],
) -> None:
    messages = [f.content for f in fragments if f.name.startswith("browser message")]
    errors = [m for m in messages if "Error: " in m]
    assert errors, "no action failed: the message-line sink was not exercised"
    loads = [m for m in messages if "Job.from_id(" in m]
    assert loads
    for message in loads:
        code = html.unescape(message.rsplit("<code>", 1)[1].removesuffix("</code>"))
        node = ast.parse(code).body
        assert len(node) == 1 and isinstance(node[0], ast.Assign)
        call = node[0].value
        assert isinstance(call, ast.Call) and isinstance(call.args[0], ast.Constant)


def test_a_hostile_list_total_is_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with hostile_server(total=PAYLOADS[0]) as server:
        point_at(monkeypatch, tmp_path, server.url)
        found = collect_bad_total(server)
    shutdown_runtime()
    message = next(f.content for f in found if f.name == "bad total: message")
    assert escape(PAYLOADS[0]) in message or "total" in message  # said, as text
    for fragment in found:
        if fragment.kind != "text":
            assert injections(fragment.content) == [], fragment.name


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_numbers_that_are_not_finite_show_as_unknown(value: float, tmp_path: Path) -> None:
    rec = _recording(tmp_path, "s1")
    rec = LocalRecording(
        **{f: getattr(rec, f) for f in LocalRecording.__slots__ if f != "chapters"},
        chapters=(Chapter(value, "a chapter", "start"),),
    )
    markup = player_html(rec)
    assert "a chapter" in markup and injections(markup) == []
    row = RowData("job", JobStatus("completed"), None, value, None, 1, None)
    assert "—" in info_html(row) and "—" in text_table([row], "caption")


def test_markup_is_escaped_in_one_place_only() -> None:
    """One home for the rule: a second, hand-rolled escape would drift from it."""
    package = Path(__file__).resolve().parents[1] / "odyssey_jupyter"
    home = package / "display" / "markup.py"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path != home
        and ("html.escape(" in (text := path.read_text(encoding="utf-8")) or "import html" in text)
    ]
    assert offenders == [], f"escape through odyssey_jupyter.display.markup instead: {offenders}"
