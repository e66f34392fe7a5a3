"""Script input is bounded: every malformed body is a ScriptError, every accepted one draws small.

The validator caps absolute times (``MAX_SCRIPT_MS``), so the dry-run timeline
and every sum over a script stay small; bodies that used to escape as other
exceptions (``RecursionError``, ``UnicodeEncodeError``, ``OverflowError``) are
refused with a message that names the line or entry.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from odyssey_jupyter.display.job.timeline import MAX_LANES, ScriptTimeline, _nice_step, timeline_svg
from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.cell_parser import parse_cell
from odyssey_jupyter.script.rules import (
    MAX_ENTRIES,
    MAX_SCRIPT_MS,
    MAX_SCRIPTS,
    MAX_STREAM_MS,
    validate_script,
    validate_scripts,
)


def _refused(text: str) -> ScriptError:
    with pytest.raises(ScriptError) as caught:
        parse_cell(text, {})
    error = caught.value
    message = str(error)
    message.encode("utf-8")  # the message itself can be sent to the frontend
    assert len(message) < 20_000
    return error


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000,
        "[" * 50_000 + "]" * 50_000,
        '{"script": ' + "[" * 50_000,
        "{" * 50_000,
        "script = " + "[" * 50_000,
        "(" * 50_000,
        "start{" + "[" * 3000,  # CPython's parser answers this with MemoryError
    ],
)
def test_deep_brackets_are_a_script_error_naming_the_line(text: str) -> None:
    error = _refused(text)
    assert error.line == 1


# --------------------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    "text",
    [
        "0s start A cat \ud800 on a mat\n2s end",
        "0s start A cat\n1s interact then \udfff\n2s end",
        '[{"timestamp_ms": 0, "start": {"prompt": "a \\ud83d cat"}}, '
        '{"timestamp_ms": 1, "end": {}}]',
        'script = [{"timestamp_ms": 0, "start": {"prompt": "x\\udc80"}}, '
        '{"timestamp_ms": 9, "end": {}}]',
    ],
)
def test_a_lone_surrogate_in_a_prompt_is_refused_before_submit(text: str) -> None:
    error = _refused(text)
    assert "lone surrogate" in error.problem
    assert error.line is not None


def test_a_lone_surrogate_is_named_by_entry_and_field() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "fine"}},
        {"timestamp_ms": 5, "interact": {"prompt": "bad \ud800"}},
        {"timestamp_ms": 9, "end": {}},
    ]
    with pytest.raises(ScriptError) as caught:
        validate_script(script)
    assert (caught.value.entry, caught.value.field) == (1, "interact.prompt")
    assert "character 5" in caught.value.problem


def test_a_lone_surrogate_in_a_variable_value_is_refused() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_cell("0s start a {place}\n1s end", {"place": "beach \udc00"})
    assert caught.value.line == 1
    str(caught.value).encode("utf-8")


# --------------------------------------------------------------------------- huge times


@pytest.mark.parametrize(
    "text",
    [
        "0s start A\n1s end\n999999999999s start B\n1000000000000s end",
        "0s start A\n" + "9" * 30 + "s end",
        "0s start A\n" + "9" * 5000 + "ms end",
        "0s start A\n1s end\n25:00:00 start B\n25:00:01 end",
        'script = [{"timestamp_ms": 0, "start": {"prompt": "a"}}, {"timestamp_ms": 1000, '
        '"end": {}}, {"timestamp_ms": 10**400, "start": {"prompt": "b"}}, '
        '{"timestamp_ms": 10**400 + 1000, "end": {}}]',
        json.dumps(
            [
                {"timestamp_ms": 2**63, "start": {"prompt": "a"}},
                {"timestamp_ms": 2**63 + 1, "end": {}},
            ]
        ),
        '[{"timestamp_ms": 0, "start": {"prompt": "a"}}, {"timestamp_ms": 1e400, "end": {}}]',
    ],
)
def test_times_past_any_limit_are_a_script_error(text: str) -> None:
    _refused(text)


def test_the_time_cap_names_the_entry_and_the_field() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "a"}},
        {"timestamp_ms": 1000, "end": {}},
        {"timestamp_ms": MAX_SCRIPT_MS + 1, "start": {"prompt": "b"}},
        {"timestamp_ms": MAX_SCRIPT_MS + 2, "end": {}},
    ]
    with pytest.raises(ScriptError) as caught:
        validate_script(script)
    assert (caught.value.entry, caught.value.field) == (2, "timestamp_ms")
    assert "24 h" in caught.value.problem


def test_a_huge_int_is_named_without_printing_thousands_of_digits() -> None:
    script = [{"timestamp_ms": 10**5000, "start": {"prompt": "a"}}]
    with pytest.raises(ScriptError) as caught:
        validate_script(script)
    assert len(str(caught.value)) < 300
    script = [{"timestamp_ms": -(10**5000), "start": {"prompt": "a"}}]
    with pytest.raises(ScriptError) as caught:
        validate_script(script)
    assert "negative" in caught.value.problem and len(str(caught.value)) < 300


def test_the_last_millisecond_of_the_day_is_accepted() -> None:
    script = [
        {"timestamp_ms": 0, "start": {"prompt": "first"}},  # a script starts at 0
        {"timestamp_ms": 1000, "end": {}},
        {"timestamp_ms": MAX_SCRIPT_MS - MAX_STREAM_MS, "start": {"prompt": "late"}},
        {"timestamp_ms": MAX_SCRIPT_MS, "end": {}},
    ]
    assert validate_script(script) == script


# --------------------------------------------------------------------------- the timeline


def _ticks(svg: str) -> int:
    return len(re.findall(r'<line x1="[\d.]+" y1="10"', svg))


def test_the_timeline_of_the_latest_accepted_stream_is_small() -> None:
    """The stream at 999999999999 s that once made the timeline loop is now refused;
    the latest one accepted draws ten ticks or so."""
    script = validate_script(
        [
            {"timestamp_ms": 0, "start": {"prompt": "early"}},
            {"timestamp_ms": 1000, "end": {}},
            {"timestamp_ms": MAX_SCRIPT_MS - 1000, "start": {"prompt": "late"}},
            {"timestamp_ms": MAX_SCRIPT_MS, "end": {}},
        ]
    )
    svg = timeline_svg([script])
    assert _ticks(svg) <= 11
    assert len(svg) < 10_000
    assert "24:00:00" in svg


def test_the_biggest_batch_the_validator_accepts_draws_a_bounded_picture() -> None:
    streams = MAX_ENTRIES // 2
    script: list[dict[str, Any]] = []
    for n in range(streams):
        script.append({"timestamp_ms": n * 2000, "start": {"prompt": f"scene {n} " + "x" * 200}})
        script.append({"timestamp_ms": n * 2000 + 1000, "end": {}})
    scripts = validate_scripts([script] * MAX_SCRIPTS)
    timeline = ScriptTimeline(scripts)
    html = timeline._repr_html_()
    svg = timeline_svg(scripts)
    assert svg.count('<g class="odyssey-cue">') == MAX_LANES
    assert f"and {streams * MAX_SCRIPTS - MAX_LANES} more streams (not drawn)" in svg
    assert len(svg) < 200_000
    assert len(html) < len(svg) + 30_000_000  # the text form lists every entry, once


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**30))
def test_any_length_gets_at_most_eleven_ticks(total: int) -> None:
    step = _nice_step(total)
    assert step > 0 and total // step + 1 <= 11


# --------------------------------------------------------------------------- property

nasty_tokens = st.sampled_from(
    [
        "0s",
        "+1s",
        "999999999999s",
        "9" * 40 + "ms",
        "25:00:00",
        "start",
        "interact",
        "end",
        "\ud800",
        "\udfff",
        "[" * 300,
        "]",
        "{",
        "}",
        "{{",
        "---",
        "#",
        "image=x.png",
        "a cat",
        "\n",
        " ",
    ]
)
nasty_cells = st.lists(nasty_tokens, max_size=24).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nasty_cells)
@example("0s start a\n" + "9" * 40 + "ms end")
@example("0s start \ud800\n1s end")
@example("[" * 50_000)
def test_any_cell_ends_in_a_script_or_a_script_error_and_draws_small(text: str) -> None:
    try:
        parsed = parse_cell(text, {})
    except ScriptError as error:
        str(error).encode("utf-8")
        return
    for script in parsed.scripts:
        assert all(entry["timestamp_ms"] <= MAX_SCRIPT_MS for entry in script)
    svg = timeline_svg(parsed.scripts)
    svg.encode("utf-8")
    assert _ticks(svg) <= 11
