"""Timeline text -> scripts: one ``TIME ACTION [PROMPT] [image=PATH]`` entry per line.

``---`` alone on a line separates the scripts of a batch. Every mistake is one
:class:`ScriptError` naming the cell line, in the timeline's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.cell import CellScripts, validated
from odyssey_jupyter.script.grammar import GRAMMAR, pattern
from odyssey_jupyter.script.line_tokens import LineParts, scan_line
from odyssey_jupyter.script.placeholders import lookup, substitute
from odyssey_jupyter.script.rules import (
    ACTIONS,
    BACKWARDS,
    BEFORE_START,
    FIRST_NOT_AT_ZERO,
    NEVER_ENDS,
    START_WHILE_OPEN,
    Script,
    StreamOrder,
    unknown_action_hint,
)
from odyssey_jupyter.script.timeline_format import format_ms


def parse_time(token: str, previous_ms: int) -> int:
    """``1500ms``, ``3s``, ``2.5s``, ``1:05``, ``1:05.250``, ``1:02:05``; ``+`` is relative."""
    match = pattern("time").search(token)
    if match is None:
        raise ValueError(token)
    part = dict(zip(GRAMMAR.time_parts, match.groups(), strict=True))
    if part["ms"] is not None:
        value = int(part["ms"])
    elif part["seconds"] is not None:
        whole, _, frac = part["seconds"].partition(".")
        value = int(whole) * 1000 + int((frac + "000")[:3])
    else:
        head, _, frac = part["clock"].partition(".")
        seconds_total = 0
        for number in head.split(":"):
            seconds_total = seconds_total * 60 + int(number)
        value = seconds_total * 1000 + int((frac + "000")[:3])
    return previous_ms + value if part["relative"] else value


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
            parts = scan_line(raw)
            if parts.blank:
                continue
            if parts.separator:
                self._close_script(number)
                self.scripts.append([])
                self.lines.append([])
                self.order = StreamOrder()
                self.separator_line = number
                continue
            previous_ms = self.order.previous[0] if self.order.previous is not None else 0
            line = _entry(parts, previous_ms, self.namespace, number)
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
                f"time goes backwards: {format_ms(line.stamp)} comes after "
                f"{format_ms(previous[0])} (line {self.lines[-1][-1]})",
                "each line must be later than the one before (times count from the start "
                "of the script; write +2s for 'two seconds after the previous line')",
            )
        if exc.code == START_WHILE_OPEN and open_start is not None:
            return (
                f"a new start while the stream started on line {self.lines[-1][open_start[0]]} "
                "is still open",
                f"add a line like '{format_ms(line.stamp)} end' before this one",
            )
        if exc.code == FIRST_NOT_AT_ZERO:
            return (
                f"the script's first start is at {format_ms(line.stamp)}, not 0s",
                "begin each script with a line like '0s start <prompt>' (the hosted API "
                "refuses anything else); a later stream may start after the previous end",
            )
        if exc.code == BEFORE_START:
            return (
                f"{line.action} before any start",
                f"begin the stream with a line like '{format_ms(line.stamp)} start <prompt>'",
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
                hint=f"add a line like '{format_ms(last_ms + 1000)} end' "
                "after its last interaction",
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


def read_timeline(source: Sequence[str], namespace: Mapping[str, Any]) -> CellScripts:
    return validated(_TimelineReader(source, namespace).read())


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
        if pattern("bare_number").search(token):
            hint = f"add a unit: '{token}s' or '{token}ms'"
        raise fail(f"'{token}' is not a time", hint) from None


def _entry(parts: LineParts, previous_ms: int, namespace: Mapping[str, Any], number: int) -> _Line:
    """One line's entry: ``TIME ACTION [PROMPT] [image=PATH]``; ``+`` times count from
    ``previous_ms``. Placeholders are filled here, so a bad name is named on its line."""

    def fail(problem: str, hint: str) -> ScriptError:
        return ScriptError(problem, hint=hint, line=number, source_line=parts.text)

    token = parts.part(parts.time)
    stamp = _line_time(token, previous_ms, parts.part(parts.code), fail)
    if parts.action is None:
        raise fail(
            "the line has a time but no action", f"add start, interact or end after '{token}'"
        )
    action = parts.action_word()
    if action not in ACTIONS:
        written = parts.part(parts.action)
        raise fail(
            f"unknown action '{written}'",
            unknown_action_hint(written, "use start, interact or end (any case)"),
        )
    if parts.empty_image is not None:
        raise fail("image= has no path", _IMAGE_FORMS)
    image = _image_of(parts, namespace, number)
    if action == "end":
        if parts.prompt is not None:
            raise fail(
                "'end' takes no prompt",
                "move the text to an interact line before the end, or delete it",
            )
        if image:
            raise fail("'end' takes no image", "put image= on the start line")
        return _Line(stamp, action, {})
    if image and action != "start":
        raise fail(
            "only a start line takes an image", "move image= to the start line of this stream"
        )
    return _Line(stamp, action, _prompt_body(parts, token, action, namespace, number) | image)


def _image_of(parts: LineParts, namespace: Mapping[str, Any], number: int) -> dict[str, Any]:
    """``{"image": value}`` for a line that ends in ``image=VALUE``, else ``{}``."""
    if parts.image_value is None:
        return {}
    return {"image": _image_value(parts.part(parts.image_value), namespace, number, parts.text)}


def _prompt_body(
    parts: LineParts, token: str, action: str, namespace: Mapping[str, Any], number: int
) -> dict[str, Any]:
    """The prompt of a ``start`` or ``interact`` line, its placeholders filled."""
    raw = parts.text
    prompt = substitute(parts.part(parts.prompt), namespace, number, raw)
    if not prompt.strip():
        raise ScriptError(
            f"the {action} line has no prompt",
            hint=f"describe what should happen: '{token} {action} <prompt>'",
            line=number,
            source_line=raw,
        )
    return {"prompt": prompt}


_IMAGE_FORMS = 'write image=cat.png, image="my cat.png" or image={variable}, or remove image='


def _image_value(token: str, namespace: Mapping[str, Any], number: int, raw: str) -> Any:
    if token[:1] in "\"'" and token[-1:] == token[:1] and len(token) >= 2:
        token = token[1:-1]
    whole = pattern("whole_placeholder").search(token)
    if whole:
        return lookup(whole.group(1).strip(), namespace, line=number, source_line=raw)
    if not token:
        raise ScriptError("image= has no path", hint=_IMAGE_FORMS, line=number, source_line=raw)
    return substitute(token, namespace, number, raw)
