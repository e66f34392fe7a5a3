"""Reading the user's objects for Tab completion without running any of their code.

A completer that calls ``isinstance`` (which reads a ``__class__`` property),
``hasattr`` on a class (a metaclass ``__getattr__``), ``len`` or ``iter`` runs
whatever the user's classes do there, on every Tab: a lazy proxy that loads a
model, a property that raises. Everything here goes through ``type(obj)``, the
C-level slots of ``type`` and :func:`inspect.getattr_static`, never through an
attribute lookup the object's class can hook, and stops at a deadline.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Iterable
from typing import Any

from odyssey_jupyter.client.retry import Deadline

MISSING: Any = object()
"""What a read that would have run code (or found nothing) gives."""

MAX_PLAIN_NODES = 10_000
"""Largest value (containers and leaves) copied to check whether it is a script."""
MAX_PLAIN_DEPTH = 16
"""Deepest nesting copied (a script is a few levels deep; a batch in a dict, five)."""

_PLAIN_LEAVES = (str, int, float, bool, type(None), bytes)
_OPAQUE = object()
"""Stands in for a leaf of any other type (an image object) in a plain copy."""

_MRO = type.__dict__["__mro__"]
_CLASS_DICT = type.__dict__["__dict__"]
_FUNC_OF = {
    staticmethod: staticmethod.__dict__["__func__"],
    classmethod: classmethod.__dict__["__func__"],
}


class OutOfTime(Exception):
    """The completion's time budget ran out: it gives up quietly."""


def check_time(deadline: Deadline) -> None:
    """Raise :class:`OutOfTime` once ``deadline`` has passed."""
    if deadline.remaining() <= 0:
        raise OutOfTime


def is_class(obj: Any) -> bool:
    """Whether ``obj`` is a class, read from its real type (no ``__class__`` lookup)."""
    return issubclass(type(obj), type)


def mro(klass: type) -> tuple[type, ...]:
    """``klass.__mro__`` through ``type``'s own slot (a metaclass cannot hook it)."""
    found: tuple[type, ...] = _MRO.__get__(klass, type)
    return found


def class_dict(klass: type) -> Any:
    """``vars(klass)`` through ``type``'s own slot."""
    return _CLASS_DICT.__get__(klass, type)


def _defines(klass: type, name: str) -> bool:
    return any(name in class_dict(base) for base in mro(klass))


def attribute(obj: Any, name: str) -> Any:
    """``obj.name`` read without running a property, a descriptor or ``__getattr__``."""
    try:
        value = inspect.getattr_static(obj, name)
    except AttributeError:
        return MISSING
    kind = type(value)
    for wrapper, func in _FUNC_OF.items():
        if issubclass(kind, wrapper):
            return func.__get__(value, wrapper)
    if kind in (types.GetSetDescriptorType, types.MemberDescriptorType):
        try:  # slots and built-in attributes: C code, no user code runs
            return value.__get__(obj, type(obj))
        except Exception:
            return MISSING
    if issubclass(kind, (property, functools.cached_property)) or (
        not issubclass(kind, type) and _defines(kind, "__set__")
    ):
        return MISSING  # a data descriptor: reading it would run code
    return value


def attribute_names(obj: Any, deadline: Deadline) -> set[str]:
    """The names ``dir(obj)`` would mostly list, read from dicts alone."""
    own = attribute(obj, "__dict__")
    names = {name for name in own if type(name) is str} if type(own) is dict else set()
    for klass in mro(obj if is_class(obj) else type(obj)):
        check_time(deadline)
        names.update(name for name in class_dict(klass) if type(name) is str)
    return names


class _NotPlain(Exception):
    """A part of the value is not plain data, or the value is too big or too deep."""


def plain_copy(value: Any, deadline: Deadline) -> Any:
    """A copy of ``value`` made of built-in dicts, lists and tuples with string keys,
    when it is one (exact types: a subclass may hook ``__iter__`` or ``__len__``);
    other leaves become an inert stand-in. ``MISSING`` for anything else, or for a
    value of more than ``MAX_PLAIN_NODES`` parts or ``MAX_PLAIN_DEPTH`` levels."""
    if type(value) not in (dict, list, tuple):
        return MISSING
    try:
        return _copy(value, 0, [MAX_PLAIN_NODES], deadline)
    except _NotPlain:
        return MISSING


def _copy(item: Any, depth: int, left: list[int], deadline: Deadline) -> Any:
    kind = type(item)
    if kind in _PLAIN_LEAVES:
        return item
    if kind is not dict and kind is not list and kind is not tuple:
        return _OPAQUE
    left[0] -= len(item)  # the built-in len of an exact built-in type: no user code
    if depth >= MAX_PLAIN_DEPTH or left[0] < 0:
        raise _NotPlain
    check_time(deadline)
    if kind is dict:
        copy: dict[str, Any] = {}
        for key, inner in item.items():
            if type(key) is not str:
                raise _NotPlain
            copy[key] = _copy(inner, depth + 1, left, deadline)
        return copy
    return [_copy(inner, depth + 1, left, deadline) for inner in item]


def names_in(namespace: Iterable[str]) -> list[str]:
    """The string keys of a namespace (a name is never anything else in ``user_ns``)."""
    return [name for name in namespace if type(name) is str]


__all__ = [
    "MISSING",
    "OutOfTime",
    "attribute",
    "attribute_names",
    "check_time",
    "class_dict",
    "is_class",
    "mro",
    "names_in",
    "plain_copy",
]
