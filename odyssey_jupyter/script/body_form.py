"""Which form a ``%%odyssey_simulate`` body is written in: timeline, Python or JSON.

The rules live in ``grammar.json`` (see :mod:`odyssey_jupyter.script.grammar`), not
here: the JupyterLab extension reads the same file when it is built, so the kernel
and the editor never disagree about whether a body is a timeline (and the editor
keeps Python highlighting exactly where the kernel evaluates Python).
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Sequence
from typing import Any

from odyssey_jupyter.script.grammar import GRAMMAR, GRAMMAR_FILE, pattern


def first_meaningful(lines: Sequence[str]) -> int | None:
    """1-based number of the first line that is neither blank nor a comment."""
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith(GRAMMAR.comment_prefix):
            return number
    return None


def _parses_as_python(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text.strip(), mode="exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _holds(rule: dict[str, Any], text: str, first: str) -> bool:
    when = rule["when"]
    word = first.split(None, 1)[0] if first else ""
    if when == "line_starts_with":
        return first.startswith(tuple(rule["values"]))
    if when == "line_matches":
        return pattern(rule["pattern"]).search(first) is not None
    if when == "word_matches":
        return pattern(rule["pattern"]).search(word) is not None
    if when == "word_is_action":
        return word.lower() in GRAMMAR.actions
    if when == "parses_as_python":
        return _parses_as_python(text)
    if when == "always":
        return True
    raise ValueError(f"{GRAMMAR_FILE}: unknown rule {when!r}")


def detect_form(text: str) -> str:
    """``"timeline"``, ``"python"`` or ``"json"`` for a cell body (an empty body: timeline)."""
    lines = text.splitlines()
    number = first_meaningful(lines)
    if number is None:
        return "timeline"
    first = lines[number - 1].strip()
    for rule in GRAMMAR.rules:
        if _holds(rule, text, first):
            form: str = rule["form"]
            if form == "json_if_valid_else_python":
                return "json" if _is_json(text) else "python"
            return form
    return "timeline"
