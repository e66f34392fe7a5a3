"""Cell text -> validated script(s): the language of ``%%odyssey_simulate``.

Three body forms, told apart by their first meaningful line:

1. a timeline, one entry per line: ``TIME ACTION [PROMPT] [image=PATH]``
   (``---`` alone on a line separates the scripts of a batch);
2. a Python expression evaluated in the user namespace (a leading ``script =`` or
   ``scripts =`` is accepted, so a script from the Simulate API guide pastes as is);
3. JSON with the same content (a script, a list of scripts, or
   ``{"script": ...}`` / ``{"scripts": ...}``).

Every mistake becomes one :class:`ScriptError` naming the cell line, showing it and
saying how to fix it. Nothing here touches the network: the magic calls this on
the kernel thread and must stay fast.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import ImageError, ScriptError
from odyssey_jupyter.script.body_form import detect_form, pattern
from odyssey_jupyter.script.body_form import first_meaningful as _first_meaningful
from odyssey_jupyter.script.images import is_image_data
from odyssey_jupyter.script.rules import (
    ACTIONS,
    BACKWARDS,
    BEFORE_START,
    DATA_URL_PREFIX,
    FIRST_NOT_AT_ZERO,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_MB,
    NEVER_ENDS,
    START_WHILE_OPEN,
    Script,
    ScriptWarning,
    StreamOrder,
    is_batch,
    script_warnings,
    unknown_action_hint,
    validate_script,
    validate_scripts,
)
from odyssey_jupyter.text.advice import say
from odyssey_jupyter.text.suggest import did_you_mean

CELL_FILENAME = "<odyssey cell>"
MAGIC_BODY_FIRST_LINE = 2
"""The editor line of a cell body's first line: the ``%%odyssey_simulate`` line is line 1."""
IMAGE_HEAD_BYTES = 64 * 1024
"""How much of an image file the cell parser reads to tell whether it is an image."""

_TIME = re.compile(
    r"""^(?P<rel>\+)?(?:
        (?P<ms>\d+)ms
      | (?P<s>\d+(?:\.\d+)?)s
      | (?P<clock>(?:\d+:)?\d+:\d{2}(?:\.\d{1,3})?)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_SEPARATOR = pattern("separator")
_IMAGE_TAIL = re.compile(r"""(?:^|\s)image=(?P<value>"[^"]*"|'[^']*'|\S+)\s*$""")
_EMPTY_IMAGE = re.compile(r"(?:^|\s)image=\s*$")
TIMELINE_TOKENS: dict[str, re.Pattern[str]] = {"TIME": _TIME, "image=PATH": _IMAGE_TAIL}
"""A timeline line's tokens as this parser matches them (the reference is made from these)."""
_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


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
        return _error(
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


# --------------------------------------------------------------------------- entry points


def parse_cell(
    text: str,
    namespace: Mapping[str, Any] | None = None,
    *,
    first_line: int = 1,
    allow_python: bool = True,
) -> CellScripts:
    """Parse a cell body in any of the three forms; raise :class:`ScriptError` on mistakes.

    Lines are numbered from ``first_line``: the magic passes ``MAGIC_BODY_FIRST_LINE``,
    so every message names the line as the editor numbers it. ``allow_python=False``
    reads text that is data (a spec file, a dataset): its Python form is refused, never run.
    """
    namespace = namespace if namespace is not None else {}
    form_text = text
    text = "\n" * max(0, first_line - 1) + text  # every parser then counts editor lines
    source = tuple(text.splitlines())
    first = _first_meaningful(source)
    if first is None:
        raise ScriptError(
            "the cell holds no script",
            hint="write one entry per line, e.g. '0s start A cat on a windowsill', then '5s end'",
        )
    _refuse_surrogates(text, source)
    form = _form_of(form_text, source)
    if form == "python" and not allow_python:
        raise _code_refused(source)
    if form == "timeline":
        parsed = _parse_timeline(source, namespace)
    elif form == "json":
        parsed = _parse_json(text, source)
    else:
        parsed = _parse_python(text, source, namespace)
    check_images(parsed)
    return parsed


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


def with_image(parsed: CellScripts, image: Any) -> CellScripts:
    """Give ``image`` to every ``start`` entry that has no image of its own (``--image``)."""
    scripts: list[Script] = []
    for script in parsed.scripts:
        new_script: Script = []
        for entry in script:
            if "start" in entry and "image" not in entry["start"]:
                entry = {**entry, "start": {**entry["start"], "image": image}}
            new_script.append(entry)
        scripts.append(new_script)
    updated = replace(parsed, scripts=scripts)
    check_images(updated)
    return updated


def resolve_image_arg(value: str, namespace: Mapping[str, Any]) -> Any:
    """The ``--image`` argument: a path, or ``{var}`` naming a path/bytes/PIL/array."""
    match = re.fullmatch(r"\{([^{}]+)\}", value.strip())
    if match:
        return _lookup(match.group(1).strip(), namespace, line=None, source_line=None)
    return value


def check_images(parsed: CellScripts) -> None:
    """Refuse missing, unreadable, oversized or non-image start images before sending."""
    for si, script in enumerate(parsed.scripts):
        for ei, entry in enumerate(script):
            if "start" not in entry or "image" not in entry["start"]:
                continue
            line = parsed.line_of(si, ei)
            problem = _image_problem(entry["start"]["image"])
            if problem is not None:
                what, hint = problem
                raise _error(
                    what,
                    hint,
                    parsed=parsed,
                    line=line,
                    script_index=si,
                    entry=ei,
                    field="start.image",
                    cls=ImageError,
                )


# --------------------------------------------------------------------------- detection


def refuse_code(text: str) -> None:
    """Raise unless ``text`` reads as timeline text or JSON: data is never evaluated."""
    source = tuple(text.splitlines())
    if _form_of(text, source) == "python":
        raise _code_refused(source)


def _form_of(text: str, source: Sequence[str]) -> str:
    try:
        return detect_form(text)
    except _PARSER_LIMITS:
        raise _too_deep(source) from None


def _code_refused(source: Sequence[str]) -> ScriptError:
    number = _first_meaningful(source) or 1
    return ScriptError(
        "the template reads as Python code (it is neither timeline text nor valid JSON); "
        "a template that is data is never run",
        hint="write timeline text ('0s start a {animal} in the rain' / '3s end'), JSON or a "
        "list of entries; only a %%odyssey_simulate --sweep cell may be Python",
        line=number,
        source_line=source[number - 1] if source else None,
    )


def _refuse_surrogates(text: str, source: Sequence[str]) -> None:
    """A lone surrogate (a broken paste) cannot be parsed as Python nor sent as JSON."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return
    for number, line in enumerate(source, start=1):
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ScriptError(
                f"the cell holds a lone surrogate ({line[exc.start]!r}) at character "
                f"{exc.start + 1}, which is not text that can be sent",
                hint="retype that part of the line (it usually comes from a broken copy and paste)",
                line=number,
                source_line=line,
            ) from None
    raise ScriptError(  # pragma: no cover - splitlines keeps every character but line ends
        "the cell holds a lone surrogate", hint="retype the cell"
    )


_PARSER_LIMITS = (RecursionError, MemoryError)
"""What the JSON decoder and CPython's parser raise for brackets nested thousands deep."""


def _too_deep(source: Sequence[str]) -> ScriptError:
    number = _first_meaningful(source) or 1
    return ScriptError(
        "the cell nests lists or dicts too deeply to read",
        hint="a script is a list of entries (a batch: a list of such lists); check the brackets",
        line=number,
        source_line=source[number - 1] if source else None,
    )


# --------------------------------------------------------------------------- timeline


def parse_time(token: str, previous_ms: int) -> int:
    """``1500ms``, ``3s``, ``2.5s``, ``1:05``, ``1:05.250``, ``1:02:05``; ``+`` is relative."""
    match = _TIME.match(token)
    if match is None:
        raise ValueError(token)
    if match.group("ms") is not None:
        value = int(match.group("ms"))
    elif match.group("s") is not None:
        seconds = match.group("s")
        whole, _, frac = seconds.partition(".")
        if len(frac) > 3 and frac[3:].strip("0"):
            raise ValueError(token)
        value = int(whole) * 1000 + int((frac + "000")[:3])
    else:
        clock = match.group("clock")
        head, _, frac = clock.partition(".")
        parts = [int(p) for p in head.split(":")]
        if parts[-1] >= 60 or (len(parts) == 3 and parts[1] >= 60):
            raise ValueError(token)
        seconds_total = 0
        for part in parts:
            seconds_total = seconds_total * 60 + part
        value = seconds_total * 1000 + int((frac + "000")[:3])
    return previous_ms + value if match.group("rel") else value


def _strip_comment(raw: str) -> str:
    r"""Cut at the first unescaped ``#``; ``\#`` stands for a literal ``#``."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw) and raw[i + 1] == "#":
            out.append("#")
            i += 2
            continue
        if char == "#":
            break
        out.append(char)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Line:
    """One timeline line, tokenised: its time, action, prompt and image."""

    stamp: int
    action: str
    body: dict[str, Any]


class _TimelineReader:
    """Cell lines -> scripts, with the cell line of every entry.

    It only tokenises; each entry's order is checked by ``script.StreamOrder`` as its
    line is read (so the first mistake in the cell is the one named), and the whole
    script by ``validate_script`` at the end. An order error comes back keyed by its
    code and is reworded here in lines, with the timeline's own hints.
    """

    def __init__(self, source: Sequence[str], namespace: Mapping[str, Any]) -> None:
        self.source = source
        self.namespace = namespace
        self.scripts: list[Script] = [[]]
        self.lines: list[list[int]] = [[]]
        self.order = StreamOrder()
        self.separator_line = 0

    def read(self) -> CellScripts:
        for number, raw in enumerate(self.source, start=1):
            body = _strip_comment(raw).strip()
            if not body:
                continue
            if _SEPARATOR.match(body):
                self._close_script(number)
                self.scripts.append([])
                self.lines.append([])
                self.order = StreamOrder()
                self.separator_line = number
                continue
            previous_ms = self.order.previous[0] if self.order.previous is not None else 0
            line = _tokenise(body, previous_ms, self.namespace, number, raw)
            self._take(line, number, raw)
        self._close_script(0)
        table: list[list[int | None]] = [list(row) for row in self.lines]
        return CellScripts(
            self.scripts, len(self.scripts) > 1, "timeline", table, tuple(self.source)
        )

    def _take(self, line: _Line, number: int, raw: str) -> None:
        entries = self.scripts[-1]
        previous, open_start = self.order.previous, self.order.open_start
        try:
            self.order.step(len(entries), line.stamp, line.action)
        except ScriptError as exc:
            problem, hint = self._reworded(exc, line, previous, open_start)
            raise ScriptError(
                problem, hint=hint, line=number, source_line=raw, code=exc.code
            ) from None
        entries.append({"timestamp_ms": line.stamp, line.action: line.body})
        self.lines[-1].append(number)

    def _reworded(
        self,
        exc: ScriptError,
        line: _Line,
        previous: tuple[int, str] | None,
        open_start: tuple[int, int] | None,
    ) -> tuple[str, str]:
        """The timeline's words for an order rule ``StreamOrder`` refused."""
        if exc.code == BACKWARDS and previous is not None:
            return (
                f"time goes backwards: {_fmt_ms(line.stamp)} comes after "
                f"{_fmt_ms(previous[0])} (line {self.lines[-1][-1]})",
                "each line must be later than the one before (times count from the start "
                "of the script; write +2s for 'two seconds after the previous line')",
            )
        if exc.code == START_WHILE_OPEN and open_start is not None:
            return (
                f"a new start while the stream started on line {self.lines[-1][open_start[0]]} "
                "is still open",
                f"add a line like '{_fmt_ms(line.stamp)} end' before this one",
            )
        if exc.code == FIRST_NOT_AT_ZERO:
            return (
                f"the script's first start is at {_fmt_ms(line.stamp)}, not 0s",
                "begin each script with a line like '0s start <prompt>' (the hosted API "
                "refuses anything else); a later stream may start after the previous end",
            )
        if exc.code == BEFORE_START:
            return (
                f"{line.action} before any start",
                f"begin the stream with a line like '{_fmt_ms(line.stamp)} start <prompt>'",
            )
        return exc.problem, exc.hint or ""  # pragma: no cover - step raises only the above

    def _close_script(self, at_line: int) -> None:
        entries = self.scripts[-1]
        try:
            self.order.finish(len(entries) - 1)
        except ScriptError as exc:
            if exc.code != NEVER_ENDS or self.order.open_start is None:
                raise  # pragma: no cover - finish raises only never-ends
            start_line = self.lines[-1][self.order.open_start[0]]
            last_ms = self.order.previous[0] if self.order.previous is not None else 0
            raise ScriptError(
                f"the stream started on line {start_line} never ends",
                hint=f"add a line like '{_fmt_ms(last_ms + 1000)} end' after its last interaction",
                line=start_line,
                source_line=self.source[start_line - 1],
                code=exc.code,
            ) from None
        if not entries:
            where = "before this separator" if at_line else "after the last '---'"
            number = at_line or self.separator_line
            raise ScriptError(
                f"script {len(self.scripts) - 1} of the batch is empty ({where})",
                hint="remove the extra '---' or add entries between the separators",
                line=number or None,
                source_line=self.source[number - 1] if number else None,
            )


def _parse_timeline(source: Sequence[str], namespace: Mapping[str, Any]) -> CellScripts:
    return _validated(_TimelineReader(source, namespace).read())


def _line_time(
    token: str, previous_ms: int, body: str, fail: Callable[[str, str], ScriptError]
) -> int:
    """The line's time in ms, or the error that says what a time looks like."""
    if token.lower() in ACTIONS:
        raise fail(
            f"the line has no time before '{token}'",
            f"start the line with a time, e.g. '3s {body}'",
        )
    try:
        return parse_time(token, previous_ms)
    except ValueError:
        hint = "write a time such as 1500ms, 3s, 2.5s, 1:05, 1:05.250 or +2s"
        if re.fullmatch(r"\+?\d+(\.\d+)?", token):
            hint = f"add a unit: '{token}s' or '{token}ms'"
        raise fail(f"'{token}' is not a time", hint) from None


def _tokenise(
    body: str, previous_ms: int, namespace: Mapping[str, Any], number: int, raw: str
) -> _Line:
    """One line's parts: ``TIME ACTION [PROMPT] [image=PATH]``; ``+`` times count from
    ``previous_ms``. Placeholders are filled here, so a bad name is named on its line."""

    def fail(problem: str, hint: str) -> ScriptError:
        return ScriptError(problem, hint=hint, line=number, source_line=raw)

    parts = body.split(None, 2)
    token = parts[0]
    stamp = _line_time(token, previous_ms, body, fail)
    if len(parts) < 2:
        raise fail(
            "the line has a time but no action", f"add start, interact or end after '{token}'"
        )
    action = parts[1].lower()
    if action not in ACTIONS:
        raise fail(
            f"unknown action '{parts[1]}'",
            unknown_action_hint(parts[1], "use start, interact or end (any case)"),
        )
    rest = parts[2].strip() if len(parts) > 2 else ""
    if _EMPTY_IMAGE.search(rest):
        raise fail("image= has no path", _IMAGE_FORMS)
    tail = _IMAGE_TAIL.search(rest)
    image: Any = None
    if tail:
        image = _image_value(tail.group("value"), namespace, number, raw)
        rest = rest[: tail.start()].strip()
    if action == "end":
        if rest:
            raise fail(
                "'end' takes no prompt",
                "move the text to an interact line before the end, or delete it",
            )
        if tail:
            raise fail("'end' takes no image", "put image= on the start line")
        return _Line(stamp, action, {})
    if tail and action != "start":
        raise fail(
            "only a start line takes an image", "move image= to the start line of this stream"
        )
    prompt = _substitute(rest, namespace, number, raw)
    if not prompt.strip():
        raise fail(
            f"the {action} line has no prompt",
            f"describe what should happen: '{token} {action} <prompt>'",
        )
    return _Line(stamp, action, {"prompt": prompt, **({"image": image} if tail else {})})


_IMAGE_FORMS = 'write image=cat.png, image="my cat.png" or image={variable}, or remove image='


def _image_value(token: str, namespace: Mapping[str, Any], number: int, raw: str) -> Any:
    if token[:1] in "\"'" and token[-1:] == token[:1] and len(token) >= 2:
        token = token[1:-1]
    whole = re.fullmatch(r"\{([^{}]+)\}", token)
    if whole:
        return _lookup(whole.group(1).strip(), namespace, line=number, source_line=raw)
    if not token:
        raise ScriptError("image= has no path", hint=_IMAGE_FORMS, line=number, source_line=raw)
    return _substitute(token, namespace, number, raw)


def _substitute(text: str, namespace: Mapping[str, Any], number: int, raw: str) -> str:
    """``{name}`` -> str(value); ``{{``/``}}`` -> literal braces."""

    def repl(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if match.group(1) is None:
            raise ScriptError(
                f"a lone '{token}' in the prompt",
                hint="write {{ or }} for a literal brace, or {name} to insert a variable",
                line=number,
                source_line=raw,
            )
        return str(_lookup(match.group(1).strip(), namespace, line=number, source_line=raw))

    return _BRACES.sub(repl, text)


def _lookup(
    name: str, namespace: Mapping[str, Any], *, line: int | None, source_line: str | None
) -> Any:
    if not _NAME.match(name):
        raise ScriptError(
            f"'{{{name}}}' is not a variable name",
            hint="write {name} or {name.attribute}; use {{ and }} for literal braces",
            line=line,
            source_line=source_line,
        )
    head, *attrs = name.split(".")
    if head not in namespace:
        raise ScriptError(
            f"unknown variable '{head}'",
            hint=_unknown_name_hint(head, namespace)
            + say("define", name=head)
            + " (or write {{ and }} for literal braces)",
            line=line,
            source_line=source_line,
        )
    value = namespace[head]
    for attr in attrs:
        value = _attribute(value, name, attr, line=line, source_line=source_line)
    return value


_PLAIN_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)
"""Slots and C-level attributes: reading them through ``__get__`` runs no user code."""


def _attribute(
    value: Any, name: str, attr: str, *, line: int | None, source_line: str | None
) -> Any:
    """One step of ``{name.attr}``: a stored value, read without running the object's code.

    A placeholder inserts a value: it never reaches private or dunder names, never
    walks through a module or a callable (``{os.environ}``, ``{helper.__globals__}``)
    and never runs a property or ``__getattr__``.
    """
    problem: str | None = None
    found: Any = None
    if attr.startswith("_"):
        problem = f"reaches the private name '{attr}'"
    elif isinstance(value, types.ModuleType) or callable(value):
        problem = f"reads '{attr}' of a {_kind(value)}"
    else:
        try:
            found = inspect.getattr_static(value, attr)
        except AttributeError:
            problem = f"names '{attr}', which its object does not have"
    if problem is None and isinstance(found, _PLAIN_DESCRIPTORS):
        found = found.__get__(value, type(value))
    elif problem is None and hasattr(type(found), "__get__"):
        problem = f"reads '{attr}', which code computes (a property or method)"
    elif problem is None and (isinstance(found, types.ModuleType) or callable(found)):
        problem = f"is a {_kind(found)}, not a value"
    if problem is not None:
        raise ScriptError(
            f"the placeholder {{{name}}} {problem}",
            hint="a placeholder inserts a stored value; for anything else set a variable "
            f"in a cell above (x = {name}) and write {{x}}",
            line=line,
            source_line=source_line,
        )
    return found


def _kind(value: Any) -> str:
    return "module" if isinstance(value, types.ModuleType) else "callable"


def _unknown_name_hint(name: str, namespace: Mapping[str, Any]) -> str:
    """``"did you mean photo? "`` naming the closest variables of the user's namespace."""
    known = (key for key in namespace if isinstance(key, str) and not key.startswith("_"))
    close = did_you_mean(name, known)
    return f"{close} Or " if close else ""


# --------------------------------------------------------------------------- python / json


def _parse_python(text: str, source: Sequence[str], namespace: Mapping[str, Any]) -> CellScripts:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(text, filename=CELL_FILENAME, mode="exec")
    except _PARSER_LIMITS:
        raise _too_deep(source) from None
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
    except _PARSER_LIMITS:
        raise _too_deep(source) from None
    try:
        return eval(code, dict(namespace) if not isinstance(namespace, dict) else namespace)
    except NameError as exc:
        number = _cell_lineno(exc) or expr.lineno
        name = getattr(exc, "name", None) or str(exc)
        raise ScriptError(
            f"unknown variable '{name}'",
            hint=_unknown_name_hint(name, namespace) + say("define", name=name),
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


def _parse_json(text: str, source: Sequence[str]) -> CellScripts:
    value = json.loads(text)
    node: ast.expr | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            node = ast.parse(text.strip() and text, mode="eval").body
    except (SyntaxError, *_PARSER_LIMITS):
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
                line=_first_meaningful(source) if source else None,
                source_line=source[(_first_meaningful(source) or 1) - 1] if source else None,
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
    return _validated(parsed)


def _validated(parsed: CellScripts) -> CellScripts:
    try:
        if parsed.batch:
            scripts = validate_scripts(parsed.scripts)
        else:
            scripts = [validate_script(parsed.scripts[0])]
    except ScriptError as exc:
        line = parsed.line_of(exc.script_index, exc.entry)
        raise _error(
            exc.problem,
            exc.hint or "",
            parsed=parsed,
            line=line,
            script_index=exc.script_index,
            entry=exc.entry,
            field=exc.field,
            cls=type(exc),
            code=exc.code,
        ) from None
    return replace(parsed, scripts=scripts)


def _error(
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
        line = _first_meaningful(parsed.source)
    if line is not None and 0 < line <= len(parsed.source):
        source_line = parsed.source[line - 1]
        return cls(problem, hint=hint or None, line=line, source_line=source_line, code=code)
    batch_index = script_index if parsed.batch else None
    return cls(
        problem, hint=hint or None, entry=entry, script_index=batch_index, field=field, code=code
    )


# --------------------------------------------------------------------------- images


_IMAGE_KINDS = "use a PNG, JPEG, GIF or WebP file"


def _file_content_problem(path: Path, image: Any) -> tuple[str, str] | None:
    """An image file that is empty, unreadable or not an image, told from its first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(IMAGE_HEAD_BYTES)
            if head and not is_image_data(head):
                head += handle.read()  # some formats keep their header further in
    except OSError as exc:
        return f"image file {image} cannot be read ({exc.strerror})", "check its permissions"
    if not head:
        return f"image file {image} is empty", "read the file again; it holds no data"
    if not is_image_data(head):
        return f"image file {image} is not a recognised image", _IMAGE_KINDS
    return None


def _image_problem(image: Any) -> tuple[str, str] | None:
    if isinstance(image, (bytes, bytearray, memoryview)):
        if len(image) == 0:
            return "the image bytes are empty", "read the file again; it holds no data"
        if len(image) > MAX_IMAGE_BYTES:
            return (
                f"the image is {len(image) / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
                "use a smaller image",
            )
        if not is_image_data(bytes(image)):
            return "the image bytes are not a recognised image", _IMAGE_KINDS
        return None
    if isinstance(image, str) and image.startswith(DATA_URL_PREFIX):
        return None
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if not path.is_file():
            return (
                f"image file not found: {image}",
                f"check the path; relative paths start at {Path.cwd()}",
            )
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return (
                f"the image file is {size / 1e6:.1f} MB (at most {MAX_IMAGE_MB} MB)",
                "use a smaller image",
            )
        return _file_content_problem(path, image)
    module = type(image).__module__.split(".")[0]
    if module in {"PIL", "numpy"}:
        return None
    if "numpy" in sys.modules and hasattr(image, "__array_interface__"):
        return None
    return (
        f"the image is a {type(image).__name__}, not a path, bytes, a PIL image or an array",
        "pass a file path, the file's bytes, a PIL image or a NumPy RGB array",
    )


def describe_image(image: Any) -> str:
    """A short text for an image of any accepted kind (never the data itself)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return f"<{len(image) / 1000:.1f} kB of image bytes>"
    if isinstance(image, str) and image.startswith(DATA_URL_PREFIX):
        return f"<data URL, {len(image) / 1000:.1f} kB>"
    if isinstance(image, (str, Path)):
        text = str(image)
        return f'"{text}"' if re.search(r"\s", text) else text
    size = getattr(image, "size", None)
    shape = getattr(image, "shape", None)
    if shape is not None:
        return f"<array {'x'.join(str(s) for s in shape)}>"
    if isinstance(size, tuple):
        return f"<{type(image).__name__} {size[0]}x{size[1]}>"
    return f"<{type(image).__name__}>"


# --------------------------------------------------------------------------- text form


def _fmt_ms(ms: int) -> str:
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms / 1000:.3f}".rstrip("0") + "s"


def _escape(prompt: str) -> str:
    return prompt.replace("{", "{{").replace("}", "}}").replace("#", "\\#")


def format_timeline(scripts: Sequence[Script]) -> str:
    """The timeline text form of validated script(s); ``---`` between batch scripts."""
    blocks: list[str] = []
    for script in scripts:
        rows: list[str] = []
        for entry in script:
            stamp = _fmt_ms(int(entry["timestamp_ms"]))
            if "start" in entry:
                row = f"{stamp} start {_escape(entry['start']['prompt'])}"
                if "image" in entry["start"]:
                    row += f" image={describe_image(entry['start']['image'])}"
            elif "interact" in entry:
                row = f"{stamp} interact {_escape(entry['interact']['prompt'])}"
            else:
                row = f"{stamp} end"
            rows.append(row)
        blocks.append("\n".join(rows))
    return "\n---\n".join(blocks)


def fill_placeholders(text: str, namespace: Mapping[str, Any]) -> Any:
    """A string with ``{name}`` placeholders filled by the timeline's own rules.

    A string that is one whole placeholder (``"{photo}"``) becomes the value
    itself, as ``image={photo}`` does, so an image may be bytes or a PIL image;
    otherwise each ``{name}`` becomes ``str(value)`` and ``{{``/``}}`` are braces.
    """
    whole = re.fullmatch(r"\{([^{}]+)\}", text)
    if whole:
        return _lookup(whole.group(1).strip(), namespace, line=None, source_line=None)
    try:
        return _substitute(text, namespace, 0, text)
    except ScriptError as exc:  # the same error, without a cell line it never had
        raise ScriptError(exc.problem, hint=exc.hint, source_line=text) from None
