"""The grammar of a ``%%odyssey_simulate`` body, loaded from ``grammar.json``.

The patterns live in the JSON file beside this module, not here: the reader, the
line tokeniser, the body-form rules and Tab completion read them from this module,
and the JupyterLab extension copies the same file when it is built, so the kernel
and the editor never disagree about what a line holds. Each pattern is written for
both Python's ``re`` and JavaScript's ``RegExp``; ``%NAME%`` stands for a fragment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

GRAMMAR_FILE = "grammar.json"


@dataclass(frozen=True)
class Grammar:
    """The parsed ``grammar.json``: timeline tokens, body-form rules and their cases."""

    comment_prefix: str
    actions: tuple[str, ...]
    patterns: dict[str, re.Pattern[str]]
    time_parts: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]
    cases: tuple[tuple[str, str], ...]


def expand(text: str, fragments: dict[str, str]) -> str:
    """``text`` with every ``%NAME%`` replaced by the fragment ``NAME``."""
    for name, fragment in fragments.items():
        text = text.replace(f"%{name}%", fragment)
    return text


def _load() -> Grammar:
    raw = json.loads(resources.files(__package__).joinpath(GRAMMAR_FILE).read_text("utf-8"))
    sources = {**raw["timeline"], **raw["patterns"]}
    return Grammar(
        comment_prefix=raw["comment_prefix"],
        actions=tuple(raw["actions"]),
        patterns={
            name: re.compile(expand(text, raw["fragments"])) for name, text in sources.items()
        },
        time_parts=tuple(raw["time_parts"]),
        rules=tuple(raw["rules"]),
        cases=tuple((case["body"], case["form"]) for case in raw["cases"]),
    )


GRAMMAR = _load()


def pattern(name: str) -> re.Pattern[str]:
    """A named pattern of the grammar (``time``, ``comment``, ``separator``, ...)."""
    return GRAMMAR.patterns[name]
