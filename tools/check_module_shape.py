"""Fail when a module or a function outgrows what one reader can hold, or reaches into privates.

- A module holds one idea: at most ``MAX_MODULE_LINES`` lines.
- A function reads in one screen: fewer than ``MAX_FUNCTION_LINES`` lines,
  decorators and docstring included (ruff's C901 keeps its complexity at 15).
- A leading underscore means "this module's own": no module imports another's
  ``_name``, and no code reads ``something._name`` unless that name is defined in
  the same module (a class reading a private of another instance of itself).
  Names that end with an underscore too (``_repr_html_``) are protocols, not privates.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "odyssey_jupyter"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names this module defines: functions, classes, attributes and assignments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if _is_private(name)}


def _function_problems(tree: ast.Module, where: str) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length >= MAX_FUNCTION_LINES:
                problems.append(f"{where}:{first}: {node.name}() is {length} lines")
    return problems


def _private_reaches(tree: ast.Module, where: str) -> list[str]:
    own = _own_private_names(tree)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            problems += [
                f"{where}:{node.lineno}: imports {alias.name} from {node.module}"
                for alias in node.names
                if _is_private(alias.name)
            ]
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            if node.attr not in own:
                problems.append(f"{where}:{node.lineno}: reads {ast.unparse(node)}")
    return problems


def problems_in(path: Path) -> list[str]:
    """Every rule this module breaks, one line each, naming the file and line."""
    text = path.read_text(encoding="utf-8")
    where = str(path.relative_to(PACKAGE.parent))
    tree = ast.parse(text, filename=where)
    lines = text.count("\n")
    problems = [f"{where}: {lines} lines (at most {MAX_MODULE_LINES})"] * (lines > MAX_MODULE_LINES)
    return problems + _function_problems(tree, where) + _private_reaches(tree, where)


def main() -> int:
    problems = [line for path in sorted(PACKAGE.rglob("*.py")) for line in problems_in(path)]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return 1
    print(f"every module of {PACKAGE.name} has one reader's size and keeps to its own privates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
