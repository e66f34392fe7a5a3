"""The rules a simulation script must follow, shared by the client and the local engine.

A script is a list of entries ``{"timestamp_ms": int, <action>: {...}}`` with one
action each (``start``, ``interact``, ``end``). Entries form streams: a
``start``, any number of ``interact``, then an ``end``; a script may hold several
streams one after another, and its first entry is a ``start`` at 0 (the hosted
service's rule). Validation happens before anything is sent, and each error names
the entry (and field) and says how to fix it. Advice that does not stop a job (the
3 s the hosted API recommends between interactions) comes from ``script_warnings``.

The cell-text language that produces scripts lives in ``script_text``; this module
only knows the data shape, so the engine can use it without IPython.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.grammar import GRAMMAR
from odyssey_jupyter.text.suggest import did_you_mean

ACTIONS = GRAMMAR.actions
"""An entry's actions, as the timeline writes them (``grammar.json``)."""
MAX_ENTRIES = 1000
MAX_SCRIPTS = 100
MAX_PROMPT_CHARS = 4000
MAX_STREAM_MS = 300_000
MAX_SCRIPT_MS = 24 * 3600 * 1000
"""Latest time an entry may have: a day. Bounds every picture and sum drawn from a script."""
DATA_URL_PREFIX = "data:image/"
MAX_IMAGE_MB = 25
MAX_IMAGE_BYTES = MAX_IMAGE_MB * 1024 * 1024
"""Largest start image, decoded (the hosted API's limit; client and engine both check it)."""
MIN_INTERACTION_GAP_MS = 3000
"""The hosted API's reference recommends at least 3 s between interactions (a warning)."""

_ACTION_FIELDS: dict[str, frozenset[str]] = {
    "start": frozenset({"prompt", "image"}),
    "interact": frozenset({"prompt"}),
    "end": frozenset(),
}

Entry = dict[str, Any]
Script = list[Entry]


@dataclass(frozen=True, slots=True)
class Cue:
    """One prompt on a stream's timeline; ``offset_ms`` is relative to the stream start."""

    timestamp_ms: int
    offset_ms: int
    action: str
    prompt: str
    entry: int


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """One stream of a validated script: when it runs and what it is told."""

    script_index: int
    start_ms: int
    end_ms: int
    cues: tuple[Cue, ...]
    image: Any = field(default=None, repr=False)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class _At(TypedDict):
    """Which entry of which script a problem sits in, as ``_fail`` takes it."""

    entry: int | None
    script_index: int | None


class _Where(_At):
    """An ``_At`` narrowed to one field of the entry."""

    field_name: str | None


def _fail(
    problem: str,
    hint: str,
    *,
    entry: int | None,
    script_index: int | None,
    field_name: str | None = None,
    code: str | None = None,
) -> ScriptError:
    return ScriptError(
        problem, hint=hint, entry=entry, script_index=script_index, field=field_name, code=code
    )


def _count(number: int) -> str:
    """An int for a message: ``str()`` refuses ints of more than 4300 digits."""
    try:
        return str(number)
    except ValueError:
        return f"{'-' if number < 0 else ''}about 2^{number.bit_length() - 1}"


def seconds_text(ms: int) -> str:
    """Milliseconds as seconds, exactly: ``ms / 1000`` overflows a float for huge timestamps."""
    whole, rest = divmod(ms, 1000)
    try:
        return f"{whole}.{rest:03d}".rstrip("0").rstrip(".")
    except ValueError:  # more digits than str() prints
        return _count(whole)


def _shown(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of a bad value for an error message (never megabytes of it)."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is named by its type
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


BACKWARDS = "time-goes-backwards"
START_WHILE_OPEN = "start-while-open"
BEFORE_START = "before-start"
NEVER_ENDS = "never-ends"
STREAM_TOO_LONG = "stream-too-long"
FIRST_NOT_AT_ZERO = "first-not-at-zero"
"""Codes of the order rules on ``ScriptError.code``: a cell form words them its own way."""


class StreamOrder:
    """The order rules of one script's entries, fed one entry at a time.

    Their one home: ``validate_script`` feeds it checked entries, and the timeline
    reader feeds it each line as it reads it, so a mistake is named where it is.
    ``previous`` is ``(timestamp, action)`` of the last entry taken and ``open_start``
    ``(entry, timestamp)`` of the stream still open, for a caller's own wording.
    """

    def __init__(self, *, script_index: int | None = None) -> None:
        self.script_index = script_index
        self.previous: tuple[int, str] | None = None
        self.open_start: tuple[int, int] | None = None

    def step(self, index: int, stamp: int, action: str) -> int | None:
        """Take entry ``index``; for an ``end``, return the length of the stream it closes."""
        where: _At = {"entry": index, "script_index": self.script_index}
        if self.previous is None and action == "start" and stamp != 0:
            raise _fail(
                f"the script's first 'start' is at {_count(stamp)} ms, not at 0",
                "begin the script with a 'start' at timestamp_ms 0 (the hosted API refuses "
                "anything else); a later stream may start after the previous one's end",
                field_name="timestamp_ms",
                code=FIRST_NOT_AT_ZERO,
                **where,
            )
        if self.previous is not None:
            prev_stamp, prev_action = self.previous
            may_share = action == "start" and prev_action == "end"
            if stamp < prev_stamp or (stamp == prev_stamp and not may_share):
                raise _fail(
                    f"time goes backwards: {_count(stamp)} ms comes after {_count(prev_stamp)} ms",
                    "each entry must be later than the one before it "
                    "(a start may share the previous end's time)",
                    field_name="timestamp_ms",
                    code=BACKWARDS,
                    **where,
                )
        length: int | None = None
        if action == "start":
            if self.open_start is not None:
                raise _fail(
                    f"a new 'start' while the stream started at entry {self.open_start[0]} "
                    "is still open",
                    "add an 'end' entry before starting another stream",
                    code=START_WHILE_OPEN,
                    **where,
                )
            self.open_start = (index, stamp)
        elif self.open_start is None:
            what = "'interact'" if action == "interact" else "'end'"
            raise _fail(
                f"{what} before any 'start'",
                "begin each stream with a 'start' entry",
                code=BEFORE_START,
                **where,
            )
        elif action == "end":
            length = stamp - self.open_start[1]
            self.open_start = None
        self.previous = (stamp, action)
        return length

    def finish(self, last_entry: int) -> None:
        """The script ends after ``last_entry``: no stream may be left open."""
        if self.open_start is not None:
            raise _fail(
                f"the stream started at entry {self.open_start[0]} never ends",
                "add an 'end' entry after its last interaction",
                entry=last_entry,
                script_index=self.script_index,
                code=NEVER_ENDS,
            )


def _check_prompt(
    value: Any, *, action: str, entry: int, script_index: int | None, sendable: bool
) -> str:
    where: _Where = {"entry": entry, "script_index": script_index, "field_name": f"{action}.prompt"}
    if value is None:
        raise _fail(
            f"'{action}' has no prompt",
            f'give it one: {{"{action}": {{"prompt": "..."}}}}',
            **where,
        )
    if not isinstance(value, str):
        raise _fail(
            f"the prompt must be text, not {type(value).__name__}",
            "put the prompt in quotes",
            **where,
        )
    if not value.strip():
        raise _fail("the prompt is empty", "describe what should happen", **where)
    if sendable:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _fail(
                f"the prompt holds a lone surrogate ({value[exc.start]!r}) at character "
                f"{exc.start + 1}, which is not text that can be sent",
                "retype that part of the prompt (it usually comes from a broken copy and paste)",
                **where,
            ) from None
    if len(value) > MAX_PROMPT_CHARS:
        raise _fail(
            f"the prompt is {len(value)} characters long (at most {MAX_PROMPT_CHARS})",
            "shorten it",
            **where,
        )
    return value


def _check_image(
    value: Any, *, require_data_url: bool, entry: int, script_index: int | None
) -> None:
    where: _Where = {"entry": entry, "script_index": script_index, "field_name": "start.image"}
    if value is None:
        raise _fail("'image' is null", "leave the key out when there is no image", **where)
    if require_data_url:
        if not isinstance(value, str) or not value.startswith(DATA_URL_PREFIX):
            raise _fail(
                "the image must be a data URL (data:image/<type>;base64,...)",
                "encode the image as a base64 data URL before sending it",
                **where,
            )
        if ";base64," not in value[:100]:
            raise _fail(
                "the image data URL is not base64-encoded",
                "use the form data:image/<type>;base64,<data>",
                **where,
            )


def _check_stamp(raw: Mapping[Any, Any], where: _At) -> int:
    """The entry's ``timestamp_ms``: present, a whole number, not negative."""
    if "timestamp_ms" not in raw:
        raise _fail(
            "the entry has no 'timestamp_ms'",
            "add the time in milliseconds from the start of the script",
            field_name="timestamp_ms",
            **where,
        )
    stamp = raw["timestamp_ms"]
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise _fail(
            f"'timestamp_ms' must be a whole number of milliseconds, not {_shown(stamp)}",
            "write it as an integer, for example 3000 for three seconds",
            field_name="timestamp_ms",
            **where,
        )
    if stamp < 0:
        raise _fail(
            f"'timestamp_ms' is negative ({_count(stamp)})",
            "times count from 0",
            field_name="timestamp_ms",
            **where,
        )
    return stamp


def unknown_action_hint(word: str, rule: str) -> str:
    """The fix for an unknown action: the closest action when one is close, then ``rule``."""
    close = did_you_mean(word, ACTIONS)
    return f"{close} {rule[:1].upper()}{rule[1:]}" if close else rule


def _entry_action(raw: Mapping[Any, Any], where: _At) -> str:
    """The one action an entry holds; an unknown key is answered with the closest action."""
    unknown = sorted(str(k) for k in raw if k != "timestamp_ms" and k not in ACTIONS)
    if unknown:
        raise _fail(
            f"unknown key {unknown[0]!r}",
            unknown_action_hint(
                unknown[0], "an entry holds 'timestamp_ms' and one of 'start', 'interact', 'end'"
            ),
            field_name=unknown[0],
            **where,
        )
    actions = [a for a in ACTIONS if a in raw]
    if len(actions) != 1:
        found = " and ".join(repr(a) for a in actions) if actions else "none"
        raise _fail(
            f"an entry needs exactly one action, found {found}",
            "split it into one entry per action",
            **where,
        )
    return actions[0]


def _action_body(raw: Mapping[Any, Any], action: str, where: _At) -> Mapping[Any, Any]:
    """What the action holds: a dict of its own fields only (``end`` may hold ``None``)."""
    body = raw[action]
    if body is None and action == "end":
        body = {}
    if not isinstance(body, Mapping):
        raise _fail(
            f"'{action}' must hold a dict, not {type(body).__name__}",
            f'write it as "{action}": {{"prompt": "..."}}'
            if action != "end"
            else 'write it as "end": {}',
            field_name=action,
            **where,
        )
    extra = sorted(str(k) for k in body if k not in _ACTION_FIELDS[action])
    if extra:
        allowed = ", ".join(sorted(_ACTION_FIELDS[action])) or "nothing"
        hint = (
            "only 'start' takes an image" if extra[0] == "image" else f"'{action}' takes {allowed}"
        )
        raise _fail(
            f"unknown field {extra[0]!r} in '{action}'",
            hint,
            field_name=f"{action}.{extra[0]}",
            **where,
        )
    return body


def _check_entry(
    raw: Any, *, entry: int, script_index: int | None, require_data_url: bool
) -> tuple[int, str, Entry]:
    where: _At = {"entry": entry, "script_index": script_index}
    if not isinstance(raw, Mapping):
        raise _fail(
            f"an entry must be a dict, not {type(raw).__name__}",
            'write it as {"timestamp_ms": 0, "start": {"prompt": "..."}}',
            **where,
        )
    stamp = _check_stamp(raw, where)
    action = _entry_action(raw, where)
    body = _action_body(raw, action, where)
    clean: dict[str, Any] = {}
    if action != "end":
        clean["prompt"] = _check_prompt(
            body.get("prompt"),
            action=action,
            entry=entry,
            script_index=script_index,
            sendable=not require_data_url,
        )
    if action == "start" and "image" in body:
        _check_image(
            body["image"],
            require_data_url=require_data_url,
            entry=entry,
            script_index=script_index,
        )
        clean["image"] = body["image"]
    return stamp, action, {"timestamp_ms": stamp, action: clean}


def validate_script(
    script: Any, *, script_index: int | None = None, require_data_url: bool = False
) -> Script:
    """Check one script and return a clean copy (plain dicts, entries in order).

    ``require_data_url`` is for the server side, where images must already be
    data URLs; the client accepts paths, bytes and arrays and converts them later.
    The client also refuses prompts it could not encode as UTF-8 (a lone surrogate);
    a server received them as JSON escapes and keeps them as text.
    """
    if isinstance(script, (str, bytes)) or not isinstance(script, Sequence):
        raise _fail(
            f"a script must be a list of entries, not {type(script).__name__}",
            'write it as [{"timestamp_ms": 0, "start": {"prompt": "..."}}, ...]',
            entry=None,
            script_index=script_index,
        )
    if not script:
        raise _fail(
            "the script is empty",
            "add a start entry, optional interact entries and an end entry",
            entry=None,
            script_index=script_index,
        )
    if len(script) > MAX_ENTRIES:
        raise _fail(
            f"the script has {len(script)} entries (at most {MAX_ENTRIES})",
            "split it into several jobs",
            entry=None,
            script_index=script_index,
        )
    clean: Script = []
    order = StreamOrder(script_index=script_index)
    for index, raw in enumerate(script):
        stamp, action, entry = _check_entry(
            raw, entry=index, script_index=script_index, require_data_url=require_data_url
        )
        where: _At = {"entry": index, "script_index": script_index}
        length = order.step(index, stamp, action)
        if length is not None and length > MAX_STREAM_MS:
            raise _fail(
                f"the stream lasts {seconds_text(length)} s (at most {MAX_STREAM_MS // 1000} s)",
                "end it earlier or split it into several streams",
                field_name="timestamp_ms",
                code=STREAM_TOO_LONG,
                **where,
            )
        if stamp > MAX_SCRIPT_MS:
            raise _fail(
                f"'timestamp_ms' is {seconds_text(stamp)} s, later than a script may run "
                f"(at most {MAX_SCRIPT_MS // 3_600_000} h = {MAX_SCRIPT_MS} ms)",
                "times count from the start of the script; split a longer plan into several jobs",
                field_name="timestamp_ms",
                **where,
            )
        clean.append(entry)
    order.finish(len(script) - 1)
    return clean


def validate_scripts(scripts: Any, *, require_data_url: bool = False) -> list[Script]:
    """Check a batch (``scripts=``): a non-empty list of scripts, each valid on its own."""
    if isinstance(scripts, (str, bytes)) or not isinstance(scripts, Sequence):
        raise ScriptError(
            f"'scripts' must be a list of scripts, not {type(scripts).__name__}",
            hint="pass a list whose items are scripts (lists of entries)",
        )
    if not scripts:
        raise ScriptError("'scripts' is empty", hint="give at least one script")
    if len(scripts) > MAX_SCRIPTS:
        raise ScriptError(
            f"'scripts' holds {len(scripts)} scripts (at most {MAX_SCRIPTS})",
            hint="submit them as several jobs",
        )
    return [
        validate_script(item, script_index=i, require_data_url=require_data_url)
        for i, item in enumerate(scripts)
    ]


def plan_streams(script: Script, *, script_index: int = 0) -> list[StreamPlan]:
    """Split a validated script into its streams, with prompt cues relative to each start."""
    plans: list[StreamPlan] = []
    start_ms = 0
    image: Any = None
    cues: list[Cue] = []
    for index, entry in enumerate(script):
        stamp = int(entry["timestamp_ms"])
        if "start" in entry:
            start_ms, image = stamp, entry["start"].get("image")
            cues = [Cue(stamp, 0, "start", entry["start"]["prompt"], index)]
        elif "interact" in entry:
            cues.append(
                Cue(stamp, stamp - start_ms, "interact", entry["interact"]["prompt"], index)
            )
        else:
            plans.append(StreamPlan(script_index, start_ms, stamp, tuple(cues), image))
    return plans


@dataclass(frozen=True, slots=True)
class ScriptWarning:
    """Advice on a valid script: it is still sent, but the hosted API recommends otherwise.

    ``entry`` and ``previous`` are entry indexes; ``line`` and ``previous_line`` the
    editor lines of the same entries, when the script came from a cell.
    """

    entry: int
    previous: int
    gap_ms: int
    script_index: int | None = None
    line: int | None = None
    previous_line: int | None = None

    def located(self, line: int | None, previous_line: int | None) -> ScriptWarning:
        """This warning naming the editor lines of its two entries."""
        return replace(self, line=line, previous_line=previous_line)

    @property
    def where(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        script = f"script {self.script_index}, " if self.script_index is not None else ""
        return f"{script}entry {self.entry}"

    @property
    def message(self) -> str:
        before = (
            f"line {self.previous_line}"
            if self.previous_line is not None
            else f"entry {self.previous}"
        )
        return (
            f"the interact comes {seconds_text(self.gap_ms)} s after the prompt on {before}; "
            f"the hosted API recommends at least {MIN_INTERACTION_GAP_MS // 1000} s "
            "between interactions"
        )

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def script_warnings(scripts: Sequence[Script], *, batch: bool) -> tuple[ScriptWarning, ...]:
    """The advice on validated scripts: interactions closer than ``MIN_INTERACTION_GAP_MS``.

    The one home of that recommendation; the cell parser adds the editor lines.
    """
    found: list[ScriptWarning] = []
    for index, script in enumerate(scripts):
        for plan in plan_streams(script, script_index=index):
            for before, cue in zip(plan.cues, plan.cues[1:], strict=False):
                gap = cue.timestamp_ms - before.timestamp_ms
                if cue.action == "interact" and gap < MIN_INTERACTION_GAP_MS:
                    found.append(
                        ScriptWarning(
                            cue.entry, before.entry, gap, script_index=index if batch else None
                        )
                    )
    return tuple(found)


def is_batch(value: Any) -> bool:
    """True when ``value`` looks like a list of scripts rather than one script."""
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and len(value) > 0
        and all(isinstance(v, Sequence) and not isinstance(v, (str, bytes)) for v in value)
    )
