"""Tab completion for the Odyssey magics and the timeline language, inside the kernel.

It lives in the kernel, not the editor, so it works wherever IPython completes:
JupyterLab, Notebook 7, VS Code and terminal IPython. It reads the text being
edited, the user namespace and the working directory, nothing else: it never runs
the cell, never evaluates an expression, runs none of the user's code (objects are
read as :mod:`odyssey_jupyter.ipython.static_read` reads them) and never touches the
network. A Tab gives up quietly after ``TIME_BUDGET_SECONDS``. Flags come from the
parsers in ``magic_args``; the body form from the shared rules in ``body_form``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.client.retry import Deadline
from odyssey_jupyter.ipython.magic_args import (
    SIMULATE_CONFLICTS,
    jobs_parser,
    local_parser,
    login_parser,
    simulate_parser,
)
from odyssey_jupyter.ipython.static_read import (
    MISSING,
    OutOfTime,
    attribute,
    attribute_names,
    check_time,
    names_in,
    plain_copy,
)
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.script.body_form import detect_form
from odyssey_jupyter.script.grammar import GRAMMAR, pattern
from odyssey_jupyter.script.line_tokens import scan_line
from odyssey_jupyter.script.timeline_format import escape_text
from odyssey_jupyter.text.recorded_parser import RecordedParser

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

MATCHER_ID = "odyssey_jupyter.ipython.completion"
MAX_ITEMS = 500
"""At most this many completions (a directory or namespace can be huge)."""
TIME_BUDGET_SECONDS = 0.5
"""A Tab that has not found its completions by then gives up quietly and offers none."""
TAIL_WINDOW = 1024
"""The most text before the cursor that the tail scanners (``{name``, ``image=``) see:
what they look for is short, and a bounded window bounds their work however long
the line."""

_CELL_MAGIC = pattern("cell_magic")


@dataclass(frozen=True)
class Completions:
    """What to offer: ``items`` (text, type) replace ``fragment``, the text before the cursor."""

    fragment: str
    items: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- flags


@dataclass(frozen=True)
class Flag:
    """One option of a magic, as its parser defines it."""

    names: tuple[str, ...]
    takes_value: bool


@dataclass(frozen=True)
class MagicFlags:
    flags: tuple[Flag, ...]
    conflicts: Mapping[str, frozenset[str]]

    def flag(self, word: str) -> Flag | None:
        name = word.split("=", 1)[0]
        for flag in self.flags:
            if name in flag.names:
                return flag
        return None


def _flags_of(parser: RecordedParser) -> tuple[Flag, ...]:
    return tuple(
        Flag(option.flags, option.takes_value) for option in parser.options if option.flags
    )


def _symmetric(pairs: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for flag, others in pairs.items():
        for other in others:
            table.setdefault(flag, set()).add(other)
            table.setdefault(other, set()).add(flag)
    return {flag: frozenset(others) for flag, others in table.items()}


_PARSERS: dict[str, tuple[Callable[[], RecordedParser], Mapping[str, Any]]] = {
    "odyssey_simulate": (simulate_parser, SIMULATE_CONFLICTS),
    "odyssey_jobs": (jobs_parser, {}),
    "odyssey_login": (login_parser, {}),
    "odyssey_local": (local_parser, {}),
}
"""Each magic's parser and the pairs of its flags that exclude each other."""
_LINE_MAGIC = re.compile(rf"^\s*%(?P<name>{'|'.join(_PARSERS)})\s(?P<args>.*)$")


@functools.cache
def magic_flags(magic: str) -> MagicFlags:
    """The flags of ``magic`` (``odyssey_simulate``, ``_jobs``, ``_login``, ``_local``)."""
    factory, conflicts = _PARSERS[magic]
    return MagicFlags(_flags_of(factory()), _symmetric(conflicts))


@dataclass
class _Words:
    """A magic line split like ``shlex`` would, tolerating an unclosed quote at the end."""

    done: list[str]
    partial: str
    """The raw text of the word under the cursor (quotes included); empty after a space."""


def _split_words(text: str) -> _Words:
    done: list[str] = []
    current: list[str] = []
    raw_start = 0
    quote = ""
    in_word = False
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
            continue
        if char.isspace():
            if in_word:
                done.append("".join(current))
                current, in_word = [], False
            continue
        if not in_word:
            in_word, raw_start = True, index
        if char in "\"'":
            quote = char
        else:
            current.append(char)
    return _Words(done, text[raw_start:] if in_word else "")


def _magic_line(magic: str, args: str, *, cell: bool, ctx: _Context) -> Completions | None:
    spec = magic_flags(magic)
    words = _split_words(args)
    partial = words.partial
    given: set[str] = set()
    values: dict[str, str] = {}
    positional: list[str] = []
    pending: Flag | None = None
    for word in words.done:
        if pending is not None:
            values[pending.names[-1]] = word
            pending = None
            continue
        flag = spec.flag(word) if word.startswith("-") else None
        if flag is None:
            positional.append(word)
            continue
        given.update(flag.names)
        if flag.takes_value and "=" not in word:
            pending = flag
        elif flag.takes_value:
            values[flag.names[-1]] = word.split("=", 1)[1]
    if pending is not None:
        return _flag_value(pending, partial, given, ctx)
    if partial.startswith("-"):
        return _offer_flags(spec, partial, given, values)
    if magic == "odyssey_simulate" and not cell and not positional:
        found = _script_variables(partial, ctx)
        if not partial:
            found.items.extend(_offer_flags(spec, "", given, values).items)
        return found
    if not partial and (cell or magic != "odyssey_simulate"):
        return _offer_flags(spec, "", given, values)
    return None


def _offer_flags(
    spec: MagicFlags, partial: str, given: set[str], values: Mapping[str, str]
) -> Completions:
    excluded = set(given)
    for name in given:
        excluded.update(spec.conflicts.get(name, ()))
    status = values.get("--status", "").lower()
    if status in {s.value for s in JobStatus} and JobStatus(status).is_terminal:
        excluded.add("--active")  # --active means unfinished jobs only
    items: list[tuple[str, str]] = []
    for flag in spec.flags:
        if excluded.intersection(flag.names):
            continue
        for name in flag.names:
            if name.startswith(partial) and (name.startswith("--") or name == partial):
                items.append((name, "param"))
    return Completions(partial, items)


def _flag_value(flag: Flag, partial: str, given: set[str], ctx: _Context) -> Completions | None:
    if "--status" in flag.names:
        active = "--active" in given
        wanted = partial.lower()
        return Completions(
            partial,
            [
                (status.value, "keyword")
                for status in JobStatus
                if status.value.startswith(wanted) and not (active and status.is_terminal)
            ],
        )
    if "--image" in flag.names:
        return _image_value(partial, ctx)
    return None


# --------------------------------------------------------------------------- body


def _body(lines: Sequence[str], cursor_line: int, before: str, ctx: _Context) -> Completions | None:
    if detect_form("\n".join(lines[1:])) != "timeline":
        return None
    if pattern("comment").search(before):
        return None  # inside a comment
    image = pattern("image_value_prefix").search(tail(before))
    if image is not None:
        return _image_value(image.group(1), ctx, timeline=True)
    substitution = _substitution(before, ctx)
    if substitution is not None:
        return substitution
    slot = pattern("action_slot").search(before)
    if slot is not None and pattern("timeish").search(slot.group(1)):
        return _actions(slot.group(2), _stream_open(lines[1:cursor_line]))
    return None


def _stream_open(previous: Sequence[str]) -> bool:
    """Whether a stream started above (in the same script of a batch) has not ended."""
    open_stream = False
    for raw in previous:
        parts = scan_line(raw)
        if parts.separator:
            open_stream = False
            continue
        action = parts.action_word()
        if action == "start":
            open_stream = True
        elif action == "end":
            open_stream = False
    return open_stream


def _actions(word: str, open_stream: bool) -> Completions:
    valid = [a for a in GRAMMAR.actions if (a != "start") == open_stream]
    upper = word.isupper()
    items = [
        (action.upper() if upper else action, "keyword")
        for action in valid
        if action.startswith(word.lower())
    ]
    return Completions(word, items)


def tail(before: str) -> str:
    """The last ``TAIL_WINDOW`` characters before the cursor: all a tail pattern sees."""
    return before[-TAIL_WINDOW:]


def substitution_tail(text: str) -> tuple[int, str] | None:
    """(how many braces, the dotted name) of the ``{name`` that ends ``text``, if one does.

    One backward pass over ``text`` (a pattern searched from every brace of a line
    of braces is quadratic): the name is the run of word characters and dots at
    the end, starting with a letter or ``_`` (or empty), right after the braces.
    """
    start = len(text)
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
        start -= 1
    name = text[start:]
    if name and not (name[0] == "_" or (name[0].isascii() and name[0].isalpha())):
        return None
    first = start
    while first > 0 and text[first - 1] == "{":
        first -= 1
    return (start - first, name) if first < start else None


def _substitution(before: str, ctx: _Context) -> Completions | None:
    found = substitution_tail(tail(before))
    if found is None or found[0] % 2 == 0:
        return None  # no brace, or an escaped one ({{)
    return _names(found[1], ctx)


def _image_value(value: str, ctx: _Context, *, timeline: bool = False) -> Completions:
    if value.startswith("{"):
        return _substitution(value, ctx) or Completions(value)
    return _paths(value, ctx, timeline=timeline)


# --------------------------------------------------------------------------- names and paths


def _names(dotted: str, ctx: _Context) -> Completions:
    check_time(ctx.deadline)
    *heads, prefix = dotted.split(".")
    show_private = prefix.startswith("_")
    if not heads:
        candidates: Iterable[str] = (
            name
            for name in names_in(ctx.namespace)
            if name.startswith(prefix) and name not in ctx.hidden
        )
    else:
        obj = ctx.namespace.get(heads[0], MISSING)
        for attr in heads[1:]:
            if obj is MISSING:
                break
            obj = attribute(obj, attr)
        if obj is MISSING:
            return Completions(prefix)
        names = attribute_names(obj, ctx.deadline)
        candidates = (name for name in names if name.startswith(prefix))
    chosen = sorted(name for name in candidates if show_private or not name.startswith("_"))
    return Completions(prefix, [(name, "instance") for name in chosen[:MAX_ITEMS]])


def _script_variables(prefix: str, ctx: _Context) -> Completions:
    """Variables holding a script, checked on a plain copy: the user's objects are
    never iterated, measured or asked their class (see :mod:`static_read`)."""
    from odyssey_jupyter.script.cell import CellScripts
    from odyssey_jupyter.script.literal_forms import from_value

    items: list[tuple[str, str]] = []
    for name in sorted(n for n in names_in(ctx.namespace) if n.startswith(prefix)):
        if name in ctx.hidden or name.startswith("_"):
            continue
        check_time(ctx.deadline)
        value = ctx.namespace[name]
        if type(value) is not CellScripts:
            copy = plain_copy(value, ctx.deadline)
            if copy is MISSING:
                continue
            try:
                from_value(copy, name=name, images=False)
            except Exception:
                continue
        items.append((name, "instance"))
        if len(items) >= MAX_ITEMS:
            break
    return Completions(prefix, items)


def _paths(value: str, ctx: _Context, *, timeline: bool = False) -> Completions:
    r"""Files and folders that complete ``value``; in a timeline line (``timeline``) a
    name's ``#`` and braces are written as the line reads them back (``\#``, ``{{``)."""
    quote = value[0] if value[:1] in ('"', "'") else ""
    raw = value[len(quote) :]
    if timeline:
        raw = raw.replace("\\#", "#").replace("{{", "{").replace("}}", "}")
    folder = raw[: raw.rfind("/") + 1]
    prefix = raw[len(folder) :]
    base = Path(os.path.expanduser(folder)) if folder else Path()
    if not base.is_absolute():
        base = ctx.cwd / base
    found: list[tuple[str, bool]] = []
    try:
        with os.scandir(base) as entries:
            for entry in entries:
                check_time(ctx.deadline)
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append((entry.name, is_dir))
    except OSError:
        return Completions(value)
    items: list[tuple[str, str]] = []
    for name, is_dir in sorted(found, key=lambda item: (not item[1], item[0])):
        text = folder + name + ("/" if is_dir else "")
        if timeline:
            text = escape_text(text)
        if quote or re.search(r"\s", text):
            mark = quote or ('"' if '"' not in text else "'")
            text = mark + text + ("" if is_dir else mark)
        items.append((text, "path"))
        if len(items) >= MAX_ITEMS:
            break
    return Completions(value, items)


# --------------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class _Context:
    namespace: Mapping[str, Any]
    hidden: Mapping[str, Any] | frozenset[str]
    cwd: Path
    deadline: Deadline


def complete(
    full_text: str,
    cursor_line: int,
    cursor_column: int,
    namespace: Mapping[str, Any],
    *,
    hidden: Mapping[str, Any] | frozenset[str] = frozenset(),
    cwd: Path | None = None,
) -> Completions | None:
    """Completions at (``cursor_line``, ``cursor_column``) of a cell, or None when the
    cursor is not somewhere this module knows about (other completers then answer)."""
    lines = full_text.split("\n")
    if not 0 <= cursor_line < len(lines):
        return None
    before = lines[cursor_line][:cursor_column]
    home = cwd if cwd is not None else Path.cwd()
    ctx = _Context(namespace, hidden, home, Deadline(TIME_BUDGET_SECONDS))
    try:
        return _at(lines, cursor_line, before, ctx)
    except OutOfTime:
        return Completions("")  # out of time: nothing, quietly


def _at(lines: Sequence[str], cursor_line: int, before: str, ctx: _Context) -> Completions | None:
    """What to offer where the cursor is (see :func:`complete`)."""
    magic = _CELL_MAGIC.match(before) if cursor_line == 0 else None
    if magic is not None:
        args = before[magic.end() :]
        if not args:
            return None  # IPython completes the magic's own name
        return _magic_line("odyssey_simulate", args, cell=True, ctx=ctx)
    line_magic = _LINE_MAGIC.match(before)
    if line_magic is not None and not (cursor_line > 0 and _CELL_MAGIC.match(lines[0])):
        return _magic_line(line_magic.group("name"), line_magic.group("args"), cell=False, ctx=ctx)
    if cursor_line > 0 and _CELL_MAGIC.match(lines[0]):
        return _body(lines, cursor_line, before, ctx)
    return None


def make_matcher(shell: InteractiveShell) -> Callable[[Any], Any]:
    """An IPython v2 matcher completing against ``shell``'s namespace."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID, priority=100)  # type: ignore[untyped-decorator]
    def odyssey_matcher(context: Any) -> dict[str, Any]:
        found = complete(
            context.full_text,
            context.cursor_line,
            context.cursor_position,
            shell.user_ns,
            hidden=shell.user_ns_hidden,
        )
        if found is None or not found.items:
            return {"completions": [], "suppress": False}
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in found.items],
            "matched_fragment": found.fragment,
            "suppress": True,
            "ordered": True,
        }

    return odyssey_matcher  # type: ignore[no-any-return]


_registered: dict[int, Callable[[Any], Any]] = {}


def register(shell: InteractiveShell) -> None:
    """Add the matcher to ``shell``'s completer (once, however often the extension loads)."""
    unregister(shell)
    completer = getattr(shell, "Completer", None)
    if completer is None:
        return
    matcher = make_matcher(shell)
    completer.custom_matchers.append(matcher)
    _registered[id(shell)] = matcher


def unregister(shell: InteractiveShell) -> None:
    """Remove the matcher (``%unload_ext``)."""
    matcher = _registered.pop(id(shell), None)
    completer = getattr(shell, "Completer", None)
    if matcher is not None and completer is not None and matcher in completer.custom_matchers:
        completer.custom_matchers.remove(matcher)
