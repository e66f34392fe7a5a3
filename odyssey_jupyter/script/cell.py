"""A parsed cell: its validated scripts and the editor line of every entry.

Every body form (timeline, Python, JSON) ends here: :func:`validated` checks the
scripts and :func:`located_error` turns a rule's error into one naming the cell line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.body_form import first_meaningful
from odyssey_jupyter.script.rules import (
    Script,
    ScriptWarning,
    script_warnings,
    validate_script,
    validate_scripts,
)

CELL_FILENAME = "<odyssey cell>"
MAGIC_BODY_FIRST_LINE = 2
"""The editor line of a cell body's first line: the ``%%odyssey_simulate`` line is line 1."""


@dataclass(frozen=True)
class CellScripts:
    """What a cell (or a variable) holds, validated and ready to submit.

    ``scripts`` always has one item per script; ``batch`` says whether to submit
    them as ``scripts=`` (a batch job) or ``script=`` (one script). ``lines[i][j]``
    is the editor line of entry j of script i (``None`` when unknown): the body's first
    line is ``first_line`` of ``parse_cell``, 2 under the magic.
    """

    scripts: list[Script]
    batch: bool
    form: str
    lines: list[list[int | None]]
    source: tuple[str, ...] = ()
    script_lines: list[int] = field(default_factory=list)
    """Line of each script of a batch written as a literal list (Python/JSON forms)."""

    def submit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``jobs.simulate``."""
        if self.batch:
            return {"scripts": self.scripts}
        return {"script": self.scripts[0]}

    def line_of(self, script_index: int | None, entry: int | None) -> int | None:
        index = script_index or 0
        if entry is None:
            if script_index is not None and 0 <= index < len(self.script_lines):
                return self.script_lines[index]
            return None
        try:
            line = self.lines[index][entry]
        except IndexError:
            line = None
        if line is None and script_index is not None and 0 <= index < len(self.script_lines):
            return self.script_lines[index]
        return line

    def warnings(self) -> tuple[ScriptWarning, ...]:
        """The advice on these scripts (``script.script_warnings``), naming editor lines."""
        return tuple(
            warning.located(
                self.line_of(warning.script_index, warning.entry),
                self.line_of(warning.script_index, warning.previous),
            )
            for warning in script_warnings(self.scripts, batch=self.batch)
        )

    def locate(self, error: ScriptError) -> ScriptError:
        """``error`` (found later, e.g. decoding an image) naming the cell line it came from."""
        if error.line is not None:
            return error
        return located_error(
            error.problem,
            error.hint or "",
            parsed=self,
            line=self.line_of(error.script_index, error.entry),
            script_index=error.script_index,
            entry=error.entry,
            field=error.field,
            cls=type(error),
            code=error.code,
        )


PARSER_LIMITS = (RecursionError, MemoryError)
"""What the JSON decoder and CPython's parser raise for brackets nested thousands deep."""


def too_deep(source: Sequence[str]) -> ScriptError:
    number = first_meaningful(source) or 1
    return ScriptError(
        "the cell nests lists or dicts too deeply to read",
        hint="a script is a list of entries (a batch: a list of such lists); check the brackets",
        line=number,
        source_line=source[number - 1] if source else None,
    )


def validated(parsed: CellScripts) -> CellScripts:
    try:
        if parsed.batch:
            scripts = validate_scripts(parsed.scripts)
        else:
            scripts = [validate_script(parsed.scripts[0])]
    except ScriptError as exc:
        raise parsed.locate(exc) from None
    return replace(parsed, scripts=scripts)


def located_error(
    problem: str,
    hint: str,
    *,
    parsed: CellScripts,
    line: int | None,
    script_index: int | None,
    entry: int | None,
    field: str | None = None,
    cls: type[ScriptError] = ScriptError,
    code: str | None = None,
) -> ScriptError:
    """A cell-line error when the line is known, else one naming the script and entry.

    A whole-cell mistake (no entry to point at) names the cell's first meaningful line.
    """
    if line is None and entry is None and parsed.source:
        line = first_meaningful(parsed.source)
    if line is not None and 0 < line <= len(parsed.source):
        source_line = parsed.source[line - 1]
        return cls(problem, hint=hint or None, line=line, source_line=source_line, code=code)
    batch_index = script_index if parsed.batch else None
    return cls(
        problem, hint=hint or None, entry=entry, script_index=batch_index, field=field, code=code
    )
