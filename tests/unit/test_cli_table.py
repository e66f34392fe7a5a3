"""The command line's tables: aligned by terminal columns, cut to the width, printable."""

from __future__ import annotations

import re
from pathlib import Path

from odyssey_jupyter.cli.terminal import Column, table, width_of

COLUMNS = (Column("NAME"), Column("N", numeric=True, shrinks=False), Column("NOTE"))


def test_wide_characters_count_as_two_columns_and_rows_stay_aligned() -> None:
    rows = [["猫" * 12, 1, "x" * 60], ["cat", 22, "short\nnote\x1b[2J"]]
    lines = table(COLUMNS, rows, 40)
    assert all(width_of(line) <= 40 for line in lines), lines
    ends = {
        width_of(line[: line.index(str(n)) + len(str(n))])
        for line, n in zip(lines[1:], (1, 22), strict=True)
    }
    assert len(ends) == 1, lines  # numbers end in the same terminal column
    assert "…" in lines[1] and lines[2].endswith("short note\\x1b[2J")


def test_a_table_that_fits_is_not_cut() -> None:
    lines = table(COLUMNS, [["猫猫", 3, "fine"]], 200)
    assert lines == ["NAME  N  NOTE", "猫猫  3  fine"]


def test_only_the_terminal_module_writes_to_a_stream() -> None:
    """The printable rule is structural: a command cannot print around it."""
    package = Path(__file__).resolve().parents[2] / "odyssey_jupyter"
    modules = sorted([*package.glob("cli/*.py"), *package.glob("cli.py")])
    assert modules
    offenders = [
        f"{path.name}:{number}"
        for path in modules
        if path.name != "terminal.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bprint\(|\.write\(|\.flush\(", line)
    ]
    assert offenders == [], f"write through odyssey_jupyter.cli.terminal instead: {offenders}"
