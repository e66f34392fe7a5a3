"""The Python and JSON forms of a cell, and scripts held in a variable.

A Python cell holds one expression (a leading ``script =`` or ``scripts =`` is
accepted, so a script from the Simulate API guide pastes as is); JSON holds a
script, a list of scripts or ``{"script": ...}`` / ``{"scripts": ...}``.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.body_form import first_meaningful
from odyssey_jupyter.script.cell import (
    CELL_FILENAME,
    PARSER_LIMITS,
    CellScripts,
    too_deep,
    validated,
)
from odyssey_jupyter.script.image_checks import check_images
from odyssey_jupyter.script.placeholders import unknown_name_hint
from odyssey_jupyter.script.rules import is_batch
from odyssey_jupyter.text.advice import say


def from_value(value: Any, *, name: str | None = None, images: bool = True) -> CellScripts:
    """Validate a script, list of scripts or ``{"script(s)": ...}`` held in a variable.

    ``images=False`` checks the shape alone and reads no image (the completer's Tab).
    """
    if isinstance(value, CellScripts):
        return value
    parsed = _from_object(value, form="variable", lines=None, source=())
    if images:
        check_images(parsed)
    return parsed


def parse_python(text: str, source: Sequence[str], namespace: Mapping[str, Any]) -> CellScripts:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(text, filename=CELL_FILENAME, mode="exec")
    except PARSER_LIMITS:
        raise too_deep(source) from None
    except SyntaxError as exc:
        number = exc.lineno
        raise ScriptError(
            f"not a timeline, and not valid Python: {exc.msg}",
            hint="write one 'TIME ACTION PROMPT' entry per line, or a Python list of "
            "entries (a leading 'script =' is fine), or JSON",
            line=number,
            source_line=source[number - 1] if number and 0 < number <= len(source) else None,
        ) from None
    body = module.body
    if len(body) != 1:
        extra = body[1] if len(body) > 1 else None
        number = extra.lineno if extra is not None else None
        raise ScriptError(
            "a Python cell must hold one expression (or one 'script = ...')",
            hint=say("define_helpers"),
            line=number,
            source_line=source[number - 1] if number else None,
        )
    node = body[0]
    if (isinstance(node, ast.Assign) and len(node.targets) == 1) or isinstance(node, ast.Expr):
        expr = node.value
    else:
        raise ScriptError(
            f"a Python cell must hold one expression, not a {type(node).__name__} statement",
            hint="write the script as a list (a leading 'script =' is fine)",
            line=node.lineno,
            source_line=source[node.lineno - 1],
        )
    value = _evaluate(expr, source, namespace)
    return _from_object(value, form="python", lines=_node_lines(expr), source=source)


def _evaluate(expr: ast.expr, source: Sequence[str], namespace: Mapping[str, Any]) -> Any:
    """The value of the cell's one expression; a failure names the cell line it came from."""
    try:
        code = compile(ast.Expression(expr), CELL_FILENAME, "eval")
    except PARSER_LIMITS:
        raise too_deep(source) from None
    try:
        return eval(code, dict(namespace) if not isinstance(namespace, dict) else namespace)
    except NameError as exc:
        number = _cell_lineno(exc) or expr.lineno
        name = getattr(exc, "name", None) or str(exc)
        raise ScriptError(
            f"unknown variable '{name}'",
            hint=unknown_name_hint(name, namespace) + say("define", name=name),
            line=number,
            source_line=source[number - 1],
        ) from None
    except Exception as exc:
        number = _cell_lineno(exc) or expr.lineno
        raise ScriptError(
            f"evaluating the cell failed: {type(exc).__name__}: {exc}",
            hint="fix the expression; the cell must evaluate to a script or a list of scripts",
            line=number,
            source_line=source[number - 1],
        ) from None


def parse_json(text: str, source: Sequence[str]) -> CellScripts:
    value = json.loads(text)
    node: ast.expr | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            node = ast.parse(text.strip() and text, mode="eval").body
    except (SyntaxError, *PARSER_LIMITS):
        node = None  # line numbers are a nicety
    return _from_object(
        value, form="json", lines=_node_lines(node) if node is not None else None, source=source
    )


def _cell_lineno(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    found: int | None = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == CELL_FILENAME:
            found = tb.tb_lineno
        tb = tb.tb_next
    return found


@dataclass(frozen=True)
class _Shape:
    """Where the items of a literal list sit in the cell: ``top[i]`` is the line of item i,
    ``nested[i]`` the lines of item i's own items when it is a list itself."""

    top: list[int]
    nested: list[list[int] | None]


def _node_lines(node: ast.expr | None) -> _Shape | dict[str, Any] | None:
    """Line numbers of a literal list (of lists) of entries, mirroring its shape."""
    if isinstance(node, ast.Dict):
        for key, val in zip(node.keys, node.values, strict=False):
            if isinstance(key, ast.Constant) and key.value in ("script", "scripts"):
                return {"key": key.value, "lines": _node_lines(val), "line": val.lineno}
        return None
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    nested: list[list[int] | None] = [
        [e.lineno for e in element.elts] if isinstance(element, (ast.List, ast.Tuple)) else None
        for element in node.elts
    ]
    return _Shape([element.lineno for element in node.elts], nested)


def _from_object(value: Any, *, form: str, lines: Any, source: Sequence[str]) -> CellScripts:
    if isinstance(value, Mapping) and ("script" in value or "scripts" in value):
        if "script" in value and "scripts" in value:
            raise ScriptError(
                "give either 'script' or 'scripts', not both",
                hint="'script' is one script; 'scripts' is a batch (a list of scripts)",
                line=first_meaningful(source) if source else None,
                source_line=source[(first_meaningful(source) or 1) - 1] if source else None,
            )
        key = "script" if "script" in value else "scripts"
        inner = lines.get("lines") if isinstance(lines, dict) else None
        return _from_scripts(value[key], form, inner, source, batch=key == "scripts")
    if isinstance(lines, dict):
        lines = None
    return _from_scripts(value, form, lines, source, batch=is_batch(value))


def _from_scripts(
    value: Any, form: str, shape: _Shape | None, source: Sequence[str], *, batch: bool
) -> CellScripts:
    """``value`` is one script (``batch=False``) or a list of scripts."""
    table: list[list[int | None]]
    if not batch:
        scripts: Any = [value]
        table = [list(shape.top) if shape is not None else []]
    else:
        scripts = value
        count = len(value) if isinstance(value, Sequence) and not isinstance(value, str) else 0
        table = []
        for i in range(count):
            row = shape.nested[i] if shape is not None and i < len(shape.nested) else None
            table.append(list(row) if row is not None else [])
        scripts = list(value) if count else value
    parsed = CellScripts(
        scripts=scripts,
        batch=batch,
        form=form,
        lines=table,
        source=tuple(source),
        script_lines=list(shape.top) if (batch and shape is not None) else [],
    )
    return validated(parsed)
