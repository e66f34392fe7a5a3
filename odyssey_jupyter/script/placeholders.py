"""``{name}`` and ``{name.attr}`` placeholders: a stored value, read without running code."""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Mapping
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.grammar import pattern
from odyssey_jupyter.text.advice import say
from odyssey_jupyter.text.suggest import did_you_mean


def substitute(text: str, namespace: Mapping[str, Any], number: int, raw: str) -> str:
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
        return str(lookup(match.group(1).strip(), namespace, line=number, source_line=raw))

    return pattern("braces").sub(repl, text)


def lookup(
    name: str, namespace: Mapping[str, Any], *, line: int | None, source_line: str | None
) -> Any:
    if not pattern("placeholder_name").search(name):
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
            hint=unknown_name_hint(head, namespace)
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


def unknown_name_hint(name: str, namespace: Mapping[str, Any]) -> str:
    """``"did you mean photo? "`` naming the closest variables of the user's namespace."""
    known = (key for key in namespace if isinstance(key, str) and not key.startswith("_"))
    close = did_you_mean(name, known)
    return f"{close} Or " if close else ""


def fill_placeholders(text: str, namespace: Mapping[str, Any]) -> Any:
    """A string with ``{name}`` placeholders filled by the timeline's own rules.

    A string that is one whole placeholder (``"{photo}"``) becomes the value
    itself, as ``image={photo}`` does, so an image may be bytes or a PIL image;
    otherwise each ``{name}`` becomes ``str(value)`` and ``{{``/``}}`` are braces.
    """
    whole = pattern("whole_placeholder").search(text)
    if whole:
        return lookup(whole.group(1).strip(), namespace, line=None, source_line=None)
    try:
        return substitute(text, namespace, 0, text)
    except ScriptError as exc:  # the same error, without a cell line it never had
        raise ScriptError(exc.problem, hint=exc.hint, source_line=text) from None


def resolve_image_arg(value: str, namespace: Mapping[str, Any]) -> Any:
    """The ``--image`` argument: a path, or ``{var}`` naming a path/bytes/PIL/array."""
    match = pattern("whole_placeholder").search(value.strip())
    if match:
        return lookup(match.group(1).strip(), namespace, line=None, source_line=None)
    return value
