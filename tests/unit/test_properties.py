"""Property-based tests of everything that turns user input into a script.

The promise under test: any input either becomes a valid script or raises
``ScriptError`` naming where the problem is (an entry number for data, a line
number for cell text), never another exception, and nothing reaches the network
when it fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.rules import (
    MAX_PROMPT_CHARS,
    MAX_STREAM_MS,
    is_batch,
    plan_streams,
    validate_script,
    validate_scripts,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
prompts = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")

action_keys = st.sampled_from(["start", "interact", "end", "image", "prompt", "timestamp_ms"])
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"prompt": st.one_of(prompts, json_scalars)}),
    st.fixed_dictionaries(
        {"prompt": prompts, "image": st.one_of(st.text(max_size=30), json_scalars)}
    ),
    st.just({}),
)
stamps = st.one_of(
    st.integers(min_value=-5, max_value=MAX_STREAM_MS * 2),
    st.sampled_from([0, 1000, 2000, True, False, 1.5, "1000", None]),
)
# Entries that look nearly right, so the validator's deeper branches get exercised.
near_entries = st.one_of(
    st.dictionaries(action_keys, bodies, max_size=3).flatmap(
        lambda d: st.builds(lambda t: {"timestamp_ms": t, **d}, stamps)
    ),
    st.dictionaries(action_keys, bodies, max_size=3),
    json_values,
)


@st.composite
def valid_scripts(draw: st.DrawFn, max_streams: int = 3) -> list[dict[str, Any]]:
    """A script that follows every rule: streams of start, interacts, end, in time order."""
    entries: list[dict[str, Any]] = []
    now = 0  # the first start is at 0; later streams may start after the previous end
    for _ in range(draw(st.integers(min_value=1, max_value=max_streams))):
        start = now
        entries.append({"timestamp_ms": start, "start": {"prompt": draw(prompts)}})
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            now += draw(st.integers(min_value=1, max_value=20_000))
            entries.append({"timestamp_ms": now, "interact": {"prompt": draw(prompts)}})
        end_at = draw(st.integers(min_value=now + 1, max_value=max(now + 1, start + MAX_STREAM_MS)))
        assume(end_at - start <= MAX_STREAM_MS)
        entries.append({"timestamp_ms": end_at, "end": {}})
        # the next start may share the end's time
        now = end_at + draw(st.integers(min_value=0, max_value=5_000))
    return entries


def _is_entry_list(value: Any) -> bool:
    return isinstance(value, list) and 0 < len(value) <= 1000


def _assert_located(error: ScriptError, value: Any) -> None:
    """A script error names its entry whenever the script is a non-empty list."""
    assert str(error).strip(), "a ScriptError must say what is wrong"
    if _is_entry_list(value):
        assert error.entry is not None, f"no entry number in: {error}"
        assert 0 <= error.entry < len(value)
        assert f"entry {error.entry}" in str(error)


# --------------------------------------------------------------------------- validator


@SETTINGS
@given(st.one_of(json_values, st.lists(near_entries, max_size=6)))
def test_any_value_is_a_script_or_a_located_script_error(value: Any) -> None:
    try:
        clean = validate_script(value)
    except ScriptError as error:
        _assert_located(error, value)
    else:
        assert validate_script(clean) == clean
        assert json.loads(json.dumps(clean)) == clean, "a valid script must be plain JSON"


@SETTINGS
@given(valid_scripts())
def test_valid_scripts_pass_unchanged_and_plan_into_streams(script: list[dict[str, Any]]) -> None:
    assert validate_script(script) == script
    assert validate_script(script, require_data_url=True) == script
    plans = plan_streams(script)
    assert len(plans) == sum(1 for e in script if "start" in e)
    for plan in plans:
        assert 0 < plan.duration_ms <= MAX_STREAM_MS
        assert plan.cues[0].action == "start" and plan.cues[0].offset_ms == 0
        assert all(0 < c.offset_ms < plan.duration_ms for c in plan.cues[1:])


MUTATIONS = [
    "drop_time",
    "negative_time",
    "float_time",
    "bool_time",
    "drop_prompt",
    "blank_prompt",
    "long_prompt",
    "unknown_key",
    "two_actions",
    "swap",
    "drop_end",
    "drop_start",
    "body_not_dict",
    "image_not_data_url",
    "null_image",
]


def _mutate(script: list[dict[str, Any]], how: str, at: int) -> list[dict[str, Any]] | None:  # noqa: C901 - one branch per mutation
    """Break ``script`` at entry ``at``; None when this mutation does not apply there."""
    out: list[dict[str, Any]] = json.loads(json.dumps(script))
    entry = out[at]
    action = next(a for a in ("start", "interact", "end") if a in entry)
    if how == "drop_time":
        del entry["timestamp_ms"]
    elif how == "negative_time":
        entry["timestamp_ms"] = -1 - entry["timestamp_ms"]
    elif how == "float_time":
        entry["timestamp_ms"] = entry["timestamp_ms"] + 0.5
    elif how == "bool_time":
        entry["timestamp_ms"] = True
    elif how == "drop_prompt":
        if action == "end":
            return None
        del entry[action]["prompt"]
    elif how == "blank_prompt":
        if action == "end":
            return None
        entry[action]["prompt"] = "   "
    elif how == "long_prompt":
        if action == "end":
            return None
        entry[action]["prompt"] = "x" * (MAX_PROMPT_CHARS + 1)
    elif how == "unknown_key":
        entry["duration"] = 3
    elif how == "two_actions":
        entry["interact" if action != "interact" else "end"] = {"prompt": "p"}
    elif how == "swap":
        if at + 1 >= len(out) or out[at]["timestamp_ms"] == out[at + 1]["timestamp_ms"]:
            return None
        out[at], out[at + 1] = out[at + 1], out[at]
    elif how == "drop_end":
        if action != "end":
            return None
        del out[at]
    elif how == "drop_start":
        if action != "start":
            return None
        del out[at]
    elif how == "body_not_dict":
        entry[action] = ["not", "a", "dict"]
    elif how == "image_not_data_url":
        if action != "start":
            return None
        entry["start"]["image"] = "https://example.com/cat.png"
        return out  # only the server-side rule refuses it; checked below
    elif how == "null_image":
        if action != "start":
            return None
        entry["start"]["image"] = None
    return out


@SETTINGS
@given(valid_scripts(), st.sampled_from(MUTATIONS), st.data())
def test_every_broken_script_is_refused_with_its_entry(
    script: list[dict[str, Any]], how: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(script) - 1), label="entry")
    broken = _mutate(script, how, at)
    assume(broken is not None and len(broken) > 0)
    assert broken is not None
    with pytest.raises(ScriptError) as caught:
        validate_script(broken, require_data_url=True)
    _assert_located(caught.value, broken)


@SETTINGS
@given(st.lists(valid_scripts(max_streams=2), min_size=1, max_size=4), st.data())
def test_batches_name_the_failing_script(
    scripts: list[list[dict[str, Any]]], data: st.DataObject
) -> None:
    assert is_batch(scripts)
    assert validate_scripts(scripts) == scripts
    bad = data.draw(st.integers(min_value=0, max_value=len(scripts) - 1), label="bad script")
    broken = json.loads(json.dumps(scripts))
    del broken[bad][-1]  # every valid script ends with an 'end': now one stream never ends
    with pytest.raises(ScriptError) as caught:
        validate_scripts(broken)
    assert caught.value.script_index == bad
    assert caught.value.entry is not None
    assert f"script {bad}" in str(caught.value)


@SETTINGS
@given(st.one_of(json_values, st.lists(st.lists(near_entries, max_size=3), max_size=3)))
def test_any_batch_is_scripts_or_a_script_error(value: Any) -> None:
    try:
        validate_scripts(value)
    except ScriptError as error:
        assert str(error).strip()


# --------------------------------------------------------------------------- nothing is sent


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request that would leave the client; answers nothing useful."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(503, json={"detail": "this test expects no request"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(near_entries, min_size=1, max_size=5))
def test_the_client_sends_nothing_for_a_bad_script(value: list[Any]) -> None:
    client_module = pytest.importorskip("odyssey_jupyter.client.odyssey")
    try:
        validate_script(value)
    except ScriptError:
        pass
    else:
        assume(False)  # only malformed scripts are interesting here

    async def attempt() -> RecordingTransport:
        transport = RecordingTransport()
        client = client_module.Odyssey(
            api_key="ody_properties_test_key",
            api_url="http://127.0.0.1:9",
            transport=transport,
            max_retries=0,
        )
        try:
            with pytest.raises(ScriptError):
                await client.simulate(value)
            with pytest.raises(ScriptError):
                await client.simulate(scripts=[value])
        finally:
            await client.aclose()
        return transport

    transport = asyncio.run(attempt())
    assert transport.requests == [], "a malformed script reached the network"


# --------------------------------------------------------------------------- cell text


cell_lines = st.one_of(
    st.text(max_size=60),
    st.from_regex(
        r"\A(@|at )?[0-9]{1,6}(\.[0-9])?(ms|s)?:? ?(start|interact|end)?:? ?[a-z ]{0,20}\Z",
        fullmatch=True,
    ),
    st.sampled_from(["---", "", "# comment", "0s start a cat", "2s end", "{", "[", "]", "}"]),
)
cell_texts = st.one_of(
    st.text(max_size=200),
    st.lists(cell_lines, max_size=8).map("\n".join),
    st.builds(json.dumps, json_values),
    st.builds(lambda s: json.dumps(s), valid_scripts()),
    st.builds(lambda s: repr(s), valid_scripts()),
)


@SETTINGS
@given(cell_texts)
@example("[[0.5], {}]")  # a nested list beside an entry: its line lookup once crashed
@example("{}")  # a whole-cell error must still name the line
@example("0s start a cat\n---\n")
def test_any_cell_text_is_a_script_or_a_located_script_error(text: str) -> None:
    script_text = pytest.importorskip("odyssey_jupyter.script.cell_parser")
    try:
        parsed = script_text.parse_cell(text, {})
    except ScriptError as error:
        assert str(error).strip()
        if not any(ln.strip() and not ln.strip().startswith("#") for ln in text.splitlines()):
            return  # an empty cell has no line to name
        located = (error.line, error.entry, error.script_index)
        assert located != (None, None, None), f"no line, entry or script number in: {error!s}"
        if error.line is not None:
            assert 1 <= error.line <= max(1, len(text.splitlines()))
    else:
        assert parsed.scripts, "a parsed cell holds at least one script"
        assert validate_scripts(parsed.scripts) == parsed.scripts
        assert parsed.batch or len(parsed.scripts) == 1
