"""The test tree keeps its shape: helpers come from ``support``, never from a test module.

A helper imported from ``conftest`` or from another test module ties tiers together
(moving or deleting one test file breaks another); ``tests/support/`` is their one home.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIERS = ("unit", "engine", "client", "kernel", "browser", "package", "docs")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, nested ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append((node.lineno, "." * node.level + node.module))
    return found


def python_files() -> list[Path]:
    folders = [ROOT / "tests", ROOT / "benchmarks"]
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def test_nothing_imports_conftest_or_a_test_module() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files()
        for line, module in imported_modules(path)
        if module.split(".")[-1].startswith("test_")
        or module.split(".")[0].lstrip(".") in {"conftest", "tests"}
    ]
    assert wrong == [], "import it from tests/support instead:\n" + "\n".join(wrong)


def test_every_tier_has_its_folder_and_no_folder_is_a_package() -> None:
    # no __init__.py: pytest imports each test file by its own name, and support.* from tests/
    for tier in TIERS:
        folder = ROOT / "tests" / tier
        assert any(folder.glob("test_*.py")), f"tests/{tier}/ has no tests"
        assert not (folder / "__init__.py").exists(), f"tests/{tier}/ must not be a package"
