"""Which form a ``%%odyssey_simulate`` body is written in: timeline, Python or JSON.

The rules live in ``body_forms.json`` beside this module, not here: the
JupyterLab extension reads the same file when it is built, so the kernel and the
editor never disagree about whether a body is a timeline (and the editor keeps
Python highlighting exactly where the kernel evaluates Python).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

RULES_FILE = "body_forms.json"


@dataclass(frozen=True)
class BodyRules:
    """The parsed ``body_forms.json``."""

    comment_prefix: str
    actions: tuple[str, ...]
    patterns: dict[str, re.Pattern[str]]
    rules: tuple[dict[str, Any], ...]
    cases: tuple[tuple[str, str], ...]


def _load() -> BodyRules:
    raw = json.loads(resources.files(__package__).joinpath(RULES_FILE).read_text("utf-8"))
    return BodyRules(
        comment_prefix=raw["comment_prefix"],
        actions=tuple(raw["actions"]),
        patterns={name: re.compile(text) for name, text in raw["patterns"].items()},
        rules=tuple(raw["rules"]),
        cases=tuple((case["body"], case["form"]) for case in raw["cases"]),
    )


RULES = _load()


def pattern(name: str) -> re.Pattern[str]:
    """A named pattern of the shared rules (``separator``, ``timeish``, ``assign``)."""
    return RULES.patterns[name]


def first_meaningful(lines: Sequence[str]) -> int | None:
    """1-based number of the first line that is neither blank nor a comment."""
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith(RULES.comment_prefix):
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
        return word.lower() in RULES.actions
    if when == "parses_as_python":
        return _parses_as_python(text)
    if when == "always":
        return True
    raise ValueError(f"{RULES_FILE}: unknown rule {when!r}")


def detect_form(text: str) -> str:
    """``"timeline"``, ``"python"`` or ``"json"`` for a cell body (an empty body: timeline)."""
    lines = text.splitlines()
    number = first_meaningful(lines)
    if number is None:
        return "timeline"
    first = lines[number - 1].strip()
    for rule in RULES.rules:
        if _holds(rule, text, first):
            form: str = rule["form"]
            if form == "json_if_valid_else_python":
                return "json" if _is_json(text) else "python"
            return form
    return "timeline"
