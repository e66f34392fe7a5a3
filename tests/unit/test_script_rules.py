"""The hosted service's script rules and the messages that explain them, in-process.

A script starts with a ``start`` at 0; interactions closer than 3 s are a warning,
not an error; lines are the editor's (the magic line is line 1); unknown actions and
variables are answered with the closest names; ``image=`` needs a value; a bad image
is named by its line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from odyssey_jupyter.display.job.warnings import ScriptWarnings, warnings_html, warnings_text
from odyssey_jupyter.errors import ImageError, ScriptError
from odyssey_jupyter.script.cell import MAGIC_BODY_FIRST_LINE
from odyssey_jupyter.script.cell_parser import parse_cell
from odyssey_jupyter.script.rules import (
    FIRST_NOT_AT_ZERO,
    MIN_INTERACTION_GAP_MS,
    ScriptWarning,
    script_warnings,
    validate_script,
    validate_scripts,
)
from odyssey_jupyter.session.config import OdysseyJupyter

BODY = MAGIC_BODY_FIRST_LINE


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- start at 0


def test_a_script_whose_first_start_is_late_is_refused_naming_the_entry() -> None:
    with pytest.raises(ScriptError) as caught:
        validate_script(
            [{"timestamp_ms": 500, "start": {"prompt": "a cat"}}, {"timestamp_ms": 3000, "end": {}}]
        )
    error = caught.value
    assert error.code == FIRST_NOT_AT_ZERO
    assert error.entry == 0 and error.field == "timestamp_ms"
    assert "entry 0" in str(error) and "500 ms" in str(error) and "Fix:" in str(error)


def test_each_script_of_a_batch_starts_at_0_and_names_its_script() -> None:
    good = [{"timestamp_ms": 0, "start": {"prompt": "a"}}, {"timestamp_ms": 1000, "end": {}}]
    late = [{"timestamp_ms": 1, "start": {"prompt": "b"}}, {"timestamp_ms": 1000, "end": {}}]
    with pytest.raises(ScriptError) as caught:
        validate_scripts([good, late])
    assert caught.value.script_index == 1 and caught.value.code == FIRST_NOT_AT_ZERO


def test_a_later_stream_may_start_after_the_previous_end() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a"}},
        {"timestamp_ms": 4000, "end": {}},
        {"timestamp_ms": 9000, "start": {"prompt": "b"}},
        {"timestamp_ms": 12000, "end": {}},
    ]
    assert validate_script(script) == script


def test_the_timeline_names_the_editor_line_of_a_late_first_start() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell("# a comment\n2s start a cat\n5s end", first_line=BODY)
    error = caught.value
    assert error.line == 3 and error.code == FIRST_NOT_AT_ZERO
    assert "line 3" in str(error) and "2s start a cat" in str(error)
    assert "0s start" in str(error)  # the fix says what to write
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a\n1s end\n---\n1s start b\n2s end", first_line=BODY)
    assert caught.value.line == 5  # the second script's first line


def test_the_python_form_names_the_line_of_a_late_first_start() -> None:
    text = (
        'script = [\n  {"timestamp_ms": 100, "start": {"prompt": "a"}},\n'
        '  {"timestamp_ms": 900, "end": {}},\n]'
    )
    with pytest.raises(ScriptError) as caught:
        parse_cell(text, first_line=BODY)
    assert caught.value.line == 3 and "line 3" in str(caught.value)


# --------------------------------------------------------------------------- warnings


def test_interactions_closer_than_3_s_are_a_warning_naming_both_lines() -> None:
    parsed = parse_cell(
        "0s start a kite\n2s interact it dives\n5s interact it climbs\n"
        "5.5s interact a loop\n9s end",
        first_line=BODY,
    )
    found = parsed.warnings()
    assert [(w.line, w.previous_line) for w in found] == [(3, 2), (5, 4)]
    assert [w.gap_ms for w in found] == [2000, 500]
    assert str(found[0]).startswith("line 3: ")
    assert "line 2" in found[0].message and "3 s" in found[0].message


def test_a_gap_of_exactly_3_s_and_gaps_across_streams_are_fine() -> None:
    parsed = parse_cell("0s start a\n3s interact b\n4s end\n4s start c\n5.5s end", first_line=BODY)
    assert parsed.warnings() == ()
    assert MIN_INTERACTION_GAP_MS == 3000


def test_warnings_of_data_name_entries_and_the_batch_script() -> None:
    near = [
        {"timestamp_ms": 0, "start": {"prompt": "a"}},
        {"timestamp_ms": 1000, "interact": {"prompt": "b"}},
        {"timestamp_ms": 5000, "end": {}},
    ]
    fine = [{"timestamp_ms": 0, "start": {"prompt": "c"}}, {"timestamp_ms": 1000, "end": {}}]
    (one,) = script_warnings([near], batch=False)
    assert str(one).startswith("entry 1: ") and "entry 0" in one.message
    (two,) = script_warnings([fine, near], batch=True)
    assert str(two).startswith("script 1, entry 1: ")


def test_the_json_form_warns_on_its_lines() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a"}},
        {"timestamp_ms": 1000, "interact": {"prompt": "b"}},
        {"timestamp_ms": 5000, "end": {}},
    ]
    text = json.dumps(script, indent=1)  # one entry per few lines
    parsed = parse_cell(text, first_line=BODY)
    (warning,) = parsed.warnings()
    assert warning.line is not None and warning.previous_line is not None
    assert warning.line > warning.previous_line >= BODY


def test_the_warnings_block_is_escaped_and_has_a_text_form() -> None:
    found = (ScriptWarning(2, 1, 1500, line=4, previous_line=3),)
    text = warnings_text(found)
    assert "1 warning" in text and "line 4: the interact comes 1.5 s" in text
    assert "script_warnings = False" in text
    html = warnings_html(found)
    assert "<b>line 4</b>" in html and "odyssey-warnings" in html
    bundle = ScriptWarnings(found)._repr_mimebundle_()
    assert bundle["text/plain"] == text and bundle["text/html"] == html
    assert warnings_text(()) == "" and warnings_html(()) == ""


def test_the_warnings_html_escapes_what_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message goes through ``markup.escape``: a crafted one cannot add markup."""
    monkeypatch.setattr(ScriptWarning, "message", property(lambda self: "<img src=x onerror=1>"))
    html = warnings_html((ScriptWarning(1, 0, 10),))
    assert "<img" not in html and "&lt;img src=x onerror=1&gt;" in html


def test_the_setting_follows_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODYSSEY_SCRIPT_WARNINGS", raising=False)
    assert OdysseyJupyter().script_warnings is True
    monkeypatch.setenv("ODYSSEY_SCRIPT_WARNINGS", "0")
    assert OdysseyJupyter().script_warnings is False
    monkeypatch.setenv("ODYSSEY_SCRIPT_WARNINGS", "yes")
    assert OdysseyJupyter().script_warnings is True


# --------------------------------------------------------------------------- editor lines


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("0s start a\n1s jump\n2s end", 3),  # timeline
        ("\n\n0s start a\n1s end\n1s interact late", 6),  # blank lines count too
        (
            "script = [\n  {'timestamp_ms': 0, 'start': {'prompt': 'a'}},\n"
            "  {'timestamp_ms': -1, 'end': {}},\n]",
            4,
        ),
        (
            '[\n {"timestamp_ms": 0, "start": {"prompt": "a"}},\n'
            ' {"timestamp_ms": 0, "end": {}}\n]',
            4,
        ),
        ("script = [\n  {'timestamp_ms': 0,\n", 3),  # a syntax error
    ],
)
def test_every_body_form_names_editor_lines(text: str, line: int) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell(text, first_line=BODY)
    assert caught.value.line == line, str(caught.value)
    assert f"line {line}" in str(caught.value)
    with pytest.raises(ScriptError) as plain:
        parse_cell(text)  # the body's own numbering, for callers outside the magic
    assert plain.value.line == line - 1


def test_line_references_inside_a_message_are_editor_lines() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a\n3s interact b\n2s end", first_line=BODY)
    assert "(line 3)" in str(caught.value) and caught.value.line == 4
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a\n1s interact b", first_line=BODY)
    assert "started on line 2 never ends" in str(caught.value)


def test_a_missing_image_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        parse_cell(f"0s start a cat image={tmp_path / 'nope.png'}\n1s end", first_line=BODY)
    assert str(caught.value).startswith("line 2: image file not found")
    assert "entry 0" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("notes.png", b"these are my notes, not a picture\n" * 20, "is not a recognised image"),
        ("scan.jpg", b"%PDF-1.4\n" * 10, "is not a recognised image"),
        ("empty.png", b"", "is empty"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_on_its_line_before_anything_runs(
    tmp_path: Path, name: str, content: bytes, phrase: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError) as caught:
        parse_cell(f"0s start a cat\n1s end\n1s start a dog image={path}\n2s end", first_line=BODY)
    message = str(caught.value)
    assert message.startswith(f"line 4: image file {path} {phrase}"), message


def test_a_real_image_and_bytes_pass_the_early_check(tmp_path: Path) -> None:
    path = tmp_path / "ok.png"
    path.write_bytes(_png())
    parse_cell(f"0s start a cat image={path}\n1s end", first_line=BODY)
    parse_cell("0s start a cat image={img}\n1s end", {"img": _png()}, first_line=BODY)
    with pytest.raises(ImageError, match="line 2: the image bytes are not a recognised image"):
        parse_cell("0s start a cat image={img}\n1s end", {"img": b"text"}, first_line=BODY)


def test_locate_gives_a_later_image_error_its_cell_line() -> None:
    parsed = parse_cell(
        "0s start a\n1s end\n---\n0s start b image={img}\n1s end", {"img": _png()}, first_line=BODY
    )
    later = ImageError(
        "the image bytes: cannot be decoded",
        hint="use a PNG",
        entry=0,
        script_index=1,
        field="start.image",
    )
    located = parsed.locate(later)
    assert isinstance(located, ImageError)
    assert str(located).startswith("line 5: the image bytes: cannot be decoded")
    assert "field" not in str(located)


# --------------------------------------------------------------------------- did you mean


def test_an_unknown_action_suggests_the_closest() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a\n1s interacct b\n4s end", first_line=BODY)
    assert "unknown action 'interacct'" in str(caught.value)
    assert "did you mean interact?" in str(caught.value) and caught.value.line == 3
    with pytest.raises(ScriptError) as caught:
        validate_script([{"timestamp_ms": 0, "strat": {"prompt": "a"}}])
    assert "did you mean start" in str(caught.value)
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a\n1s zzz b\n4s end")
    assert "did you mean" not in str(caught.value) and "start, interact or end" in str(caught.value)


@pytest.mark.parametrize("form", ["timeline", "python"])
def test_an_unknown_variable_suggests_the_closest_names(form: str) -> None:
    namespace: dict[str, Any] = {"photo": _png(), "photos": [], "_hidden": 1, "unrelated": 2}
    text = (
        "0s start a cat image={phot}\n1s end"
        if form == "timeline"
        else "[{'timestamp_ms': 0, 'start': {'prompt': 'a', 'image': phot}},"
        " {'timestamp_ms': 1000, 'end': {}}]"
    )
    with pytest.raises(ScriptError) as caught:
        parse_cell(text, namespace, first_line=BODY)
    message = str(caught.value)
    assert "unknown variable 'phot'" in message and caught.value.line == 2
    assert "did you mean photo or photos?" in message
    assert "unrelated" not in message and "_hidden" not in message


def test_an_unknown_variable_with_nothing_close_just_says_define_it() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a {zzzz}\n1s end", {"photo": 1}, first_line=BODY)
    assert "did you mean" not in str(caught.value) and "define zzzz" in str(caught.value)


# --------------------------------------------------------------------------- empty values


@pytest.mark.parametrize("tail", ["image=", "image=   ", 'image=""', "image=''"])
def test_an_empty_image_is_an_error_naming_the_line(tail: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell(f"0s start a cat {tail}\n1s end", first_line=BODY)
    assert caught.value.line == 2
    assert "image= has no path" in str(caught.value)
