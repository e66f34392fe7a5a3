"""The shared body-form rules (``grammar.json``) on the kernel side.

The JupyterLab extension runs the very same cases in Chromium
(``test_browser_highlight.py``), so the editor highlights a body as a timeline
exactly when the kernel parses it as one.
"""

from __future__ import annotations

import pytest

from odyssey_jupyter.script.body_form import detect_form
from odyssey_jupyter.script.cell_parser import parse_cell
from odyssey_jupyter.script.grammar import GRAMMAR
from odyssey_jupyter.script.rules import ACTIONS


@pytest.mark.parametrize(
    ("body", "form"), GRAMMAR.cases, ids=[f"case{i}" for i in range(len(GRAMMAR.cases))]
)
def test_shared_case(body: str, form: str) -> None:
    assert detect_form(body) == form


def test_the_cases_cover_every_rule_and_form() -> None:
    forms = {form for _, form in GRAMMAR.cases}
    assert forms == {"timeline", "python", "json"}
    assert GRAMMAR.rules[-1]["when"] == "always"


def test_actions_are_the_script_actions() -> None:
    assert GRAMMAR.actions == ACTIONS


def test_the_parser_uses_the_rules() -> None:
    """parse_cell reports the form the rules name (valid bodies of each form)."""
    namespace = {
        "s1": [{"timestamp_ms": 0, "start": {"prompt": "a"}}, {"timestamp_ms": 1, "end": {}}]
    }
    for body, form in GRAMMAR.cases:
        try:
            parsed = parse_cell(body, {**namespace, "s2": namespace["s1"]})
        except Exception:
            continue  # not every case is a valid script; the form is what matters here
        assert parsed.form == form, body
    assert parse_cell("scripts=[s1, s1]", namespace).form == "python"


TIME_SAMPLES = [
    "0s",
    "3s",
    "2.5s",
    "1500ms",
    "1500MS",
    "3S",
    "+2s",
    "1:05",
    "1:05.250",
    "1:02:05",
    "3",
    "+3",
    "1:5",
    "2.5",
    "1m",
    "s",
    "1.5ms",
    "1:05.2500",
    "abc",
    "-1s",
    "1:60",
]


@pytest.mark.parametrize("token", TIME_SAMPLES)
def test_editor_time_pattern_matches_what_the_parser_reads(token: str) -> None:
    """The editor colours a token as a time exactly when its shape is one the parser reads
    (the parser also checks ranges, e.g. refuses 1:60)."""
    from odyssey_jupyter.script.grammar import pattern
    from odyssey_jupyter.script.timeline_reader import parse_time

    try:
        parse_time(token, 0)
        readable = True
    except ValueError:
        readable = False
    shaped = pattern("time").search(token) is not None
    assert shaped == readable or (shaped and token == "1:60")
