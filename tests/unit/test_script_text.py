"""The cell language of %%odyssey_simulate: three body forms, and one clear error per mistake."""

from __future__ import annotations

import dataclasses
import datetime
import json
import types
from pathlib import Path
from typing import Any

import pytest
from support.hostile import PLACEHOLDER_PROBES, placeholder_scope
from support.malformed_scripts import MALFORMED

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.cell_parser import parse_cell, with_image
from odyssey_jupyter.script.literal_forms import from_value
from odyssey_jupyter.script.placeholders import fill_placeholders
from odyssey_jupyter.script.rules import (
    BACKWARDS,
    BEFORE_START,
    NEVER_ENDS,
    START_WHILE_OPEN,
    STREAM_TOO_LONG,
    validate_script,
)
from odyssey_jupyter.script.timeline_format import format_timeline
from odyssey_jupyter.script.timeline_reader import parse_time

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763"
    "f8cfc000000301010018dd8db00000000049454e44ae426082"
)


@pytest.mark.parametrize(
    ("token", "ms"),
    [
        ("1500ms", 1500),
        ("3s", 3000),
        ("2.5s", 2500),
        ("0.125s", 125),
        ("1:05", 65_000),
        ("1:05.250", 65_250),
        ("1:05.5", 65_500),
        ("1:00:01", 3_601_000),
        ("+2s", 7000),
        ("+250ms", 5250),
        ("3S", 3000),
    ],
)
def test_times(token: str, ms: int) -> None:
    assert parse_time(token, 5000) == ms


@pytest.mark.parametrize("token", ["3", "1.5", "3x", "1:5", "1:75", "-1s", "2.0001s", "s", "1m"])
def test_bad_times(token: str) -> None:
    with pytest.raises(ValueError):
        parse_time(token, 0)


def test_timeline_form_with_comments_variables_and_escapes() -> None:
    text = "\n".join(
        [
            "# a scene",
            "",
            "0s START A {animal} on a windowsill  # the cat",
            "+1500ms Interact it sees bird \\#1 and {{waves}}",
            "1:05.250 end",
        ]
    )
    parsed = parse_cell(text, {"animal": "cat"})
    assert parsed.form == "timeline"
    assert not parsed.batch
    assert parsed.scripts == [
        [
            {"timestamp_ms": 0, "start": {"prompt": "A cat on a windowsill"}},
            {"timestamp_ms": 1500, "interact": {"prompt": "it sees bird #1 and {waves}"}},
            {"timestamp_ms": 65_250, "end": {}},
        ]
    ]
    assert parsed.lines == [[3, 4, 5]]
    assert parsed.submit_kwargs() == {"script": parsed.scripts[0]}


def test_timeline_batch_and_several_streams(tmp_path: Path) -> None:
    image = tmp_path / "my cat.png"
    image.write_bytes(PNG)
    text = (
        f'0s start a cat image="{image}"\n2s end\n2s start a dog\n3s end\n'
        "---\n0s start a fox image={img}\n1s end\n"
    )
    parsed = parse_cell(text, {"img": PNG})
    assert parsed.batch
    assert len(parsed.scripts) == 2
    assert parsed.scripts[0][0]["start"] == {"prompt": "a cat", "image": str(image)}
    assert parsed.scripts[1][0]["start"]["image"] == PNG
    assert parsed.submit_kwargs() == {"scripts": parsed.scripts}
    assert parsed.lines == [[1, 2, 3, 4], [6, 7]]


GUIDE_SCRIPT = """\
script = [
    # the opening shot
    {"timestamp_ms": 0, "start": {"prompt": "A cat on a windowsill", "image": image_bytes}},
    {"timestamp_ms": 3000, "interact": {"prompt": "The cat jumps down"}},
    {"timestamp_ms": 6000, "end": {}},
]
"""


def test_python_form_pasted_from_the_guide() -> None:
    parsed = parse_cell(GUIDE_SCRIPT, {"image_bytes": PNG})
    assert parsed.form == "python"
    assert parsed.scripts[0][0]["start"]["image"] == PNG
    assert parsed.lines == [[3, 4, 5]]


def test_python_form_expression_giving_a_batch() -> None:
    ns: dict[str, Any] = {
        "make": lambda p: [
            {"timestamp_ms": 0, "start": {"prompt": p}},
            {"timestamp_ms": 1000, "end": {}},
        ]
    }
    parsed = parse_cell("[make(p) for p in ('a cat', 'a dog')]", ns)
    assert parsed.batch and len(parsed.scripts) == 2


def test_json_forms() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a cat"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    assert parse_cell(json.dumps(script, indent=1)).form == "json"
    assert parse_cell(json.dumps(script)).scripts == [script]
    batch = parse_cell(json.dumps({"scripts": [script, script]}))
    assert batch.batch and len(batch.scripts) == 2
    assert not parse_cell(json.dumps({"script": script})).batch


def test_from_value_and_image_option(tmp_path: Path) -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a cat"}},
        {"timestamp_ms": 1000, "end": {}},
        {"timestamp_ms": 1000, "start": {"prompt": "a dog", "image": PNG}},
        {"timestamp_ms": 2000, "end": {}},
    ]
    parsed = from_value(script)
    image = tmp_path / "x.png"
    image.write_bytes(PNG)
    with_img = with_image(parsed, str(image))
    assert with_img.scripts[0][0]["start"]["image"] == str(image)
    assert with_img.scripts[0][2]["start"]["image"] == PNG  # its own image is kept
    assert from_value([script, script]).batch


def test_text_form_round_trips() -> None:
    text = "0s start a {{brace}} \\# b\n1.25s interact c\n2s end\n---\n0s start d\n65s end"
    parsed = parse_cell(text)
    again = parse_cell(format_timeline(parsed.scripts))
    assert again.scripts == parsed.scripts


@pytest.mark.parametrize(
    "name", ["a#b.png", "{x}.png", "a}b.png", "my cat.png", 'say "hi" now.png', "'q'.png"]
)
def test_text_form_keeps_the_image_path(tmp_path: Path, name: str) -> None:
    image = tmp_path / name
    image.write_bytes(PNG)
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a cat", "image": str(image)}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    again = parse_cell(format_timeline([script]), {"x": "other"})
    assert again.scripts[0][0]["start"]["image"] == str(image)


# --------------------------------------------------------------------------- malformed corpus


@pytest.mark.parametrize(("text", "line", "phrase"), MALFORMED)
def test_malformed_scripts_name_the_line_and_say_how_to_fix(
    text: str, line: int | None, phrase: str
) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell(text, {"number": 42})
    error = caught.value
    message = str(error)
    assert phrase.lower() in message.lower()
    assert error.line == line, message
    if line is not None:
        assert f"line {line}" in message
        assert text.splitlines()[line - 1].strip()[:40] in message
    assert "Fix:" in message or error.hint
    rendered = error._render_traceback_()
    assert len(rendered) == 1 and "Traceback" not in rendered[0]


def test_corpus_is_large_enough() -> None:
    assert len(MALFORMED) >= 30


def test_empty_cell() -> None:
    with pytest.raises(ScriptError, match="holds no script"):
        parse_cell("\n# just a comment\n\n")


# ------------------------------------------------------------------- one home for order rules

ORDER_MISTAKES: list[tuple[str, list[dict[str, Any]], str]] = [
    # (timeline cell, the same script as data, the rule's code)
    (
        "0s start a cat\n2s interact x\n1s end",
        [
            {"timestamp_ms": 0, "start": {"prompt": "a cat"}},
            {"timestamp_ms": 2000, "interact": {"prompt": "x"}},
            {"timestamp_ms": 1000, "end": {}},
        ],
        BACKWARDS,
    ),
    (
        "0s start a cat\n1s start a dog\n5s end",
        [
            {"timestamp_ms": 0, "start": {"prompt": "a cat"}},
            {"timestamp_ms": 1000, "start": {"prompt": "a dog"}},
            {"timestamp_ms": 5000, "end": {}},
        ],
        START_WHILE_OPEN,
    ),
    ("0s end", [{"timestamp_ms": 0, "end": {}}], BEFORE_START),
    (
        "0s start a cat\n1s interact jump",
        [
            {"timestamp_ms": 0, "start": {"prompt": "a cat"}},
            {"timestamp_ms": 1000, "interact": {"prompt": "jump"}},
        ],
        NEVER_ENDS,
    ),
    (
        "0s start a cat\n301s end",
        [{"timestamp_ms": 0, "start": {"prompt": "a cat"}}, {"timestamp_ms": 301_000, "end": {}}],
        STREAM_TOO_LONG,
    ),
]


@pytest.mark.parametrize(("text", "data", "code"), ORDER_MISTAKES)
def test_timeline_and_data_break_the_same_rule(
    text: str, data: list[dict[str, Any]], code: str
) -> None:
    """The timeline words an order mistake in lines, but the rule that found it is the
    data's own: both errors carry the same code."""
    with pytest.raises(ScriptError) as as_data:
        validate_script(data)
    with pytest.raises(ScriptError) as as_text:
        parse_cell(text)
    assert as_data.value.code == code
    assert as_text.value.code == code
    assert as_text.value.line is not None
    assert as_data.value.entry is not None


def test_order_is_checked_line_by_line() -> None:
    """An order mistake above a malformed line is the one named: lines are read in order."""
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a cat\n1s start a dog\n3x end\n5s end")
    assert caught.value.line == 2
    assert "still open" in str(caught.value)
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a cat\n1s interact x\n3x end\n0s end")
    assert caught.value.line == 3
    assert "not a time" in str(caught.value)


def test_a_plus_time_after_a_separator_counts_from_zero() -> None:
    # (a script's first start is at 0, so "+0s" there is 0 and not 9 s)
    parsed = parse_cell("0s start a\n9s end\n---\n+0s start b\n+3s end")
    assert [e["timestamp_ms"] for e in parsed.scripts[1]] == [0, 3000]


def test_a_placeholder_inserts_stored_values_never_code_modules_or_private_names() -> None:
    ran: list[str] = []
    scope = placeholder_scope(ran)
    for probe in PLACEHOLDER_PROBES:
        for fill, text in (
            (parse_cell, f"0s start a cat {probe}\n1s end"),
            (fill_placeholders, f"a cat {probe}"),
            (fill_placeholders, probe),
        ):
            with pytest.raises(ScriptError) as caught:
                fill(text, scope)
            assert probe in str(caught.value)
            assert "sk-" not in str(caught.value) and "PATH" not in str(caught.value)
    assert ran == [], "a placeholder ran the object's code"

    @dataclasses.dataclass(slots=True)
    class Slotted:
        style: str

    stored = {
        "cfg": types.SimpleNamespace(style="ink", inner=types.SimpleNamespace(seed=3)),
        "slotted": Slotted("oil"),
        "day": datetime.date(2024, 5, 6),
    }
    text = "0s start {cfg.style} {slotted.style} {cfg.inner.seed} in {day.year}\n1s end"
    parsed = parse_cell(text, stored)
    assert parsed.scripts[0][0]["start"]["prompt"] == "ink oil 3 in 2024"
