"""Cell text -> validated script(s): the language of ``%%odyssey_simulate``.

Three body forms, told apart by their first meaningful line (``body_form``): a
timeline (``timeline_reader``), a Python expression evaluated in the user
namespace, or JSON (``literal_forms``). Nothing here touches the network: the
magic calls this on the kernel thread and must stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.body_form import detect_form, first_meaningful
from odyssey_jupyter.script.cell import PARSER_LIMITS, CellScripts, too_deep
from odyssey_jupyter.script.image_checks import check_images
from odyssey_jupyter.script.literal_forms import parse_json, parse_python
from odyssey_jupyter.script.rules import Script
from odyssey_jupyter.script.timeline_reader import read_timeline


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
    first = first_meaningful(source)
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
        parsed = read_timeline(source, namespace)
    elif form == "json":
        parsed = parse_json(text, source)
    else:
        parsed = parse_python(text, source, namespace)
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


def refuse_code(text: str) -> None:
    """Raise unless ``text`` reads as timeline text or JSON: data is never evaluated."""
    source = tuple(text.splitlines())
    if _form_of(text, source) == "python":
        raise _code_refused(source)


def _form_of(text: str, source: Sequence[str]) -> str:
    try:
        return detect_form(text)
    except PARSER_LIMITS:
        raise too_deep(source) from None


def _code_refused(source: Sequence[str]) -> ScriptError:
    number = first_meaningful(source) or 1
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
