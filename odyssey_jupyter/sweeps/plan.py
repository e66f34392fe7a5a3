"""A sweep's items, built and checked before anything is sent or written.

``template`` is either timeline text or JSON (the cell magic's language, parsed
by :mod:`odyssey_jupyter.script.cell_parser` with each item's params in front of the
notebook's variables; its Python form only for a notebook cell, never for data)
or a list of entries whose strings hold ``{placeholders}``
(filled by the same rules, then checked by :mod:`odyssey_jupyter.script.rules`).
``params`` is a list of dicts, a dict of lists (their product: a grid), or a
pandas DataFrame (one item per row; pandas itself is never imported here).

Every mistake is a :class:`ScriptError` that names the item (its index and
params) and, from the parser or the validator, the line, entry and field.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.cell_parser import parse_cell, refuse_code
from odyssey_jupyter.script.placeholders import fill_placeholders
from odyssey_jupyter.script.rules import Script, plan_streams, validate_script
from odyssey_jupyter.text.advice import say

MAX_ITEMS = 10_000
"""Largest sweep made without ``allow_large=True`` (a typo in a grid multiplies fast)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One item: its place in the sweep, its params and the validated script it makes."""

    index: int
    params: dict[str, Any]
    script: Script

    @property
    def seconds(self) -> float:
        """Seconds of video this item's script asks for (all of its streams)."""
        return sum(p.duration_ms for p in plan_streams(self.script)) / 1000.0


def check_name(name: str) -> str:
    """A sweep name is a plain identifier: it names a file and a Python-friendly handle."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ScriptError(
            f"the sweep name {name!r} is not a plain identifier",
            hint="use letters, digits and _ (not starting with a digit), at most 64 characters",
        )
    return name


def describe_params(params: Mapping[str, Any], limit: int = 120) -> str:
    """``style='ink', seed=3`` for messages (shortened; never the repr of a huge image)."""
    parts = []
    for key, value in params.items():
        text = (
            repr(value)
            if isinstance(value, str | int | float | bool | None)
            else type(value).__name__
        )
        parts.append(f"{key}={text}")
    joined = ", ".join(parts)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def _is_frame(value: Any) -> bool:
    return hasattr(value, "to_dict") and hasattr(value, "columns") and hasattr(value, "iterrows")


def _plain(value: Any) -> Any:
    """NumPy/pandas scalars as Python values (so the ledger can keep them as JSON)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def count_items(params: Any) -> int:
    """How many items ``params`` makes, without building a product."""
    if _is_frame(params):
        return len(params)
    if isinstance(params, Mapping):
        if not params:
            return 0
        return math.prod(_count(key, value) for key, value in params.items())
    if isinstance(params, Sequence) and not isinstance(params, str | bytes):
        return len(params)
    raise ScriptError(
        "params must be a list of dicts, a dict of lists or a DataFrame, "
        f"not {type(params).__name__}",
        hint=say("params_example"),
    )


def _is_axis(key: Any, value: Any) -> bool:
    """Whether a grid value is an axis (a list, tuple or range) rather than one value."""
    if not isinstance(key, str) or not key.isidentifier():
        raise ScriptError(
            f"the param name {key!r} is not a plain identifier",
            hint="param names are used as {placeholders}: letters, digits and _",
        )
    return isinstance(value, Sequence | range) and not isinstance(value, str | bytes)


def _count(key: Any, value: Any) -> int:
    """An axis's length, from ``len()``: ``range(10**9)`` is counted, never built."""
    return len(value) if _is_axis(key, value) else 1


def _values(key: Any, value: Any) -> list[Any]:
    return list(value) if _is_axis(key, value) else [value]


def expand_params(params: Any, *, allow_large: bool = False) -> list[dict[str, Any]]:
    """Each item's params, in order; refuses an empty or (unless allowed) oversized grid."""
    total = count_items(params)
    if total == 0:
        raise ScriptError(
            "the sweep has no items: params is empty (or one of its lists is)",
            hint="give at least one value for every param",
        )
    if total > MAX_ITEMS and not allow_large:
        raise ScriptError(
            f"the sweep would make {total:,} items (more than {MAX_ITEMS:,})",
            hint=say("allow_large"),
        )
    rows: list[dict[str, Any]]
    if _is_frame(params):
        rows = [{str(k): _plain(v) for k, v in row.items()} for row in params.to_dict("records")]
    elif isinstance(params, Mapping):
        keys = list(params)
        columns = [_values(key, params[key]) for key in keys]
        rows = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*columns)]
    else:
        rows = []
        for index, row in enumerate(params):
            if not isinstance(row, Mapping):
                raise ScriptError(
                    f"item {index}: params must be dicts, not {type(row).__name__}",
                    hint=say("rows_example"),
                )
            rows.append({str(k): _plain(v) for k, v in row.items()})
    for index, row in enumerate(rows):
        for key in row:
            if not key.isidentifier():
                raise ScriptError(
                    f"item {index}: the param name {key!r} is not a plain identifier",
                    hint="param names are used as {placeholders}: letters, digits and _",
                )
    return rows


def _item_error(index: int, params: Mapping[str, Any], exc: ScriptError) -> ScriptError:
    """The parser's or validator's error, prefixed with the item it came from."""
    return ScriptError(
        f"item {index} ({describe_params(params)}): {exc.problem}",
        hint=exc.hint,
        line=exc.line,
        source_line=exc.source_line,
        entry=exc.entry,
        field=exc.field,
    )


def _fill(value: Any, namespace: Mapping[str, Any], key: str | None = None) -> Any:
    """Fill placeholders in every string of an entry (an image may take the value itself)."""
    if isinstance(value, str):
        filled = fill_placeholders(value, namespace)
        return filled if key == "image" or isinstance(filled, str) else str(filled)
    if isinstance(value, Mapping):
        return {k: _fill(v, namespace, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(v, namespace) for v in value]
    return value


def _script_for(
    template: Any,
    params: Mapping[str, Any],
    namespace: Mapping[str, Any],
    from_cell: bool,
    first_line: int,
) -> Script:
    scope = ChainMap(dict(params), dict(namespace))
    if isinstance(template, str):
        parsed = parse_cell(template, scope, allow_python=from_cell, first_line=first_line)
        if parsed.batch or len(parsed.scripts) != 1:
            raise ScriptError(
                "a sweep template is one script, but this one holds a batch ('---')",
                hint="write one script; pack=K puts several items in one job",
            )
        return parsed.scripts[0]
    if isinstance(template, Sequence) and not isinstance(template, bytes):
        return validate_script(_fill(list(template), scope))
    raise ScriptError(
        f"the template must be timeline text or a list of entries, not {type(template).__name__}",
        hint="e.g. '0s start a {animal} in the rain' / '3s end'",
    )


def plan_items(
    template: Any,
    params: Any,
    *,
    namespace: Mapping[str, Any] | None = None,
    allow_large: bool = False,
    from_cell: bool = False,
    first_line: int = 1,
) -> list[PlannedItem]:
    """Every item with its validated script; raises on the first bad one (nothing sent).

    A template is data (timeline text, JSON or entries) unless ``from_cell`` says it is
    the body of a notebook cell its user wrote: only then may it be Python, and run.
    A text template's lines are numbered from ``first_line`` (2 under the magic line).
    """
    if isinstance(template, str) and not from_cell:
        refuse_code(template)
    rows = expand_params(params, allow_large=allow_large)
    scope = namespace or {}
    items: list[PlannedItem] = []
    for index, row in enumerate(rows):
        try:
            script = _script_for(template, row, scope, from_cell, first_line)
        except ScriptError as exc:
            raise _item_error(index, row, exc) from None
        items.append(PlannedItem(index, row, script))
    return items


def params_json(params: Mapping[str, Any]) -> str:
    """Params as JSON for the ledger; a value JSON cannot hold is kept as its type's name."""
    return json.dumps(
        params, default=lambda v: f"<{type(v).__name__}>", ensure_ascii=False, sort_keys=False
    )


def chunk(items: Sequence[PlannedItem], pack: int) -> list[list[PlannedItem]]:
    """Items grouped ``pack`` to a job, in order."""
    return [list(items[i : i + pack]) for i in range(0, len(items), pack)]
