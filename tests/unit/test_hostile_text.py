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
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.hostile import PAYLOADS, SLASHLESS, URL_PAYLOADS, hostile_server, injections, scripts
from support.hostile_displays import Fragment, collect, collect_bad_total, point_at

from odyssey_jupyter.display.browser.rows import RowData, html_table, info_html, text_table
from odyssey_jupyter.display.job.status_html import badge_html, panel_html
from odyssey_jupyter.display.job.status_view import StatusView, StreamRow
from odyssey_jupyter.display.job.timeline import ScriptTimeline
from odyssey_jupyter.display.media.player import chapters_html, player_html
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.session.recording import Chapter, LocalRecording
from odyssey_jupyter.session.runtime import shutdown_runtime
from odyssey_jupyter.text.markup import (
    class_name,
    escape,
    printable,
    python_call,
    python_literal,
    safe_url,
)

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
    with hostile_server(slashed_every=4) as server:
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
        "final output",
        "final output text",
        "last state",
        "last state text",
        "browser snapshot",
        "browser saved copy",
        "notice",
        "sweep dry run",
        "sweep dry run text",
        "sweep refused",
        "sweep panel",
        "sweep live panel",
        "sweep live gallery",
        "sweep text",
        "sweep final",
        "sweep final text",
        "sweep gallery",
        "sweep compare",
        "sweep compare jobs",
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


def test_the_later_displays_show_the_hostile_strings_as_text(fragments: list[Fragment]) -> None:
    """Final outputs, snapshots, notices and sweeps got the corpus, and show it escaped."""

    def markup(prefix: str) -> str:
        found = [f.content for f in fragments if f.name.startswith(prefix) and f.kind != "text"]
        assert found, prefix
        return "".join(found)

    # a server's error message, a stream's, and a job id, on the final output
    assert escape(PAYLOADS[11]) in markup("final output") or escape(PAYLOADS[12]) in markup(
        "final output"
    )
    assert escape(PAYLOADS[1]) in markup("final output")
    assert escape(PAYLOADS[1]) in markup("browser snapshot")
    assert escape(PAYLOADS[1]) in markup("browser saved copy")
    assert escape(URL_PAYLOADS[0]) in markup("notice")
    # params values (prompts, numbers, file names) in the gallery's labels and filters
    gallery = markup("sweep gallery")
    for text in (PAYLOADS[0], PAYLOADS[4]):
        assert escape(text) in gallery, text
    assert f'<option value="{escape(PAYLOADS[3])}">' in gallery
    assert escape(PAYLOADS[0]) in markup("sweep compare")
    assert escape(PAYLOADS[0]) in markup("sweep dry run")
    # a hostile sweep or param name is refused with a message that names it
    refused = [f.content for f in fragments if f.name == "sweep refused"]
    assert any("sweep name" in text and PAYLOADS[0] in text for text in refused)
    assert any("param name" in text for text in refused)


def test_a_refused_server_id_is_reported_escaped_and_the_sweep_ends(
    fragments: list[Fragment],
) -> None:
    """An id with a '/' is refused by the client; the item fails saying so, nothing hangs."""
    final = next(f.content for f in fragments if f.name == "sweep final")
    text = next(f.content for f in fragments if f.name == "sweep final text")
    assert "is not an id" in text and PAYLOADS[3] in text
    assert escape(PAYLOADS[3]) in final and "done" in text
    assert injections(final) == []
    listed = next(f.content for f in fragments if f.name == "browser refused list")
    assert "not an id" in listed and escape(PAYLOADS[3]) in listed, listed


def test_inline_scripts_hold_no_untrusted_text(fragments: list[Fragment]) -> None:
    """The gallery's and compare's scripts interpolate only their own ids and numbers."""
    found = [code for f in fragments if f.kind == "output" for code in scripts(f.content)]
    assert len(found) >= 4, "no inline script was produced"
    pieces = {"__pwned", "alert(", "onerror", "<!--", "</", "\u2028", "\u2029"}
    pieces |= {text for text in PAYLOADS if len(text) > 8}
    for code in found:
        assert not [p for p in pieces if p in code], code[:200]
        assert "\u2028" not in code and "\u2029" not in code


def test_gallery_and_compare_scripts_are_their_templates_exactly(tmp_path: Path) -> None:
    """Nothing from an item reaches script source: the script is the template, filled
    with a random element id and numbers only."""
    import re

    from odyssey_jupyter.display.media import compare as compare_module
    from odyssey_jupyter.display.media import gallery as gallery_module

    rec = _recording(tmp_path, PAYLOADS[3])

    class Item:
        def __init__(self, index: int, text: str) -> None:
            self.index, self.params, self.status = index, {"style": text}, text
            self.error, self.recordings = text, [rec]
            self.script = [{"timestamp_ms": 0, "start": {"prompt": text}}]

    items = [Item(i, text) for i, text in enumerate(PAYLOADS)]
    markup = gallery_module.gallery_html(items, page_size=5)
    (code,) = scripts(markup)
    ident = re.search(r'class="odyssey-gallery" id="(odg-[0-9a-f]+)"', markup)
    assert ident is not None
    expected = compare_module.SYNC_JS + gallery_module._SCRIPT % {
        "id": json.dumps(ident.group(1)),
        "size": 5,
    }
    assert code == expected and injections(markup) == []
    markup = compare_module.compare_html(items[:3])
    (code,) = scripts(markup)
    ident = re.search(r'class="odyssey-compare" id="(odc-[0-9a-f]+)"', markup)
    assert ident is not None
    longest = json.dumps(max(t.time_s for t in rec.chapters))
    expected = compare_module._SCRIPT % {"id": json.dumps(ident.group(1)), "duration": longest}
    assert code == expected and injections(markup) == []


@pytest.mark.parametrize("job_id", [*SLASHLESS, 'x"); import os; ("'])
def test_the_kernel_stopped_note_quotes_the_id(job_id: str) -> None:
    from odyssey_jupyter.display.live.final_output import stopped_note

    note = stopped_note(job_id)
    call = note.split("server. ", 1)[1].removesuffix(" follows it again.")
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and len(node.args) == 1
    assert isinstance(node.args[0], ast.Constant) and node.args[0].value == job_id


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
    package = Path(__file__).resolve().parents[2] / "odyssey_jupyter"
    home = package / "text" / "markup.py"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path != home
        and ("html.escape(" in (text := path.read_text(encoding="utf-8")) or "import html" in text)
    ]
    assert offenders == [], f"escape through odyssey_jupyter.text.markup instead: {offenders}"
