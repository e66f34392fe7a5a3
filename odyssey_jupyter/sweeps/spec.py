"""Reading a sweep spec file: a regular file, read with a cap, as finite, shallow JSON.

A spec file is data from wherever its author got it. ``st_size`` says nothing for
``/dev/zero`` or a FIFO, so the file must be a regular one and is read at most
``MAX_SPEC_BYTES + 1`` bytes; NaN and infinities are refused (nothing downstream
can use them), and so is nesting deeper than any spec needs, before it can
exhaust the interpreter's recursion limit anywhere later.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.files.finite_json import NonFiniteError, loads_strict

MAX_SPEC_BYTES = 64 * 1024 * 1024
MAX_SPEC_DEPTH = 64
"""Deepest nesting of lists and objects in a spec (a template entry needs about five)."""
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Non-blocking, so opening a FIFO returns at once and is then refused, not waited on."""


def _read_capped(path: Path) -> bytes:
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        raise OdysseyError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OdysseyError(f"{path} is not a regular file; give the path of a JSON file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SPEC_BYTES:
        raise OdysseyError(f"{path} is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB")
    return data


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iterative: no recursion to exhaust)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_SPEC_DEPTH:
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep(path: Path) -> OdysseyError:
    return OdysseyError(
        f"{path} nests lists or objects more than {MAX_SPEC_DEPTH} deep; a spec needs a few"
    )


def load_spec(path: Path) -> Any:
    """The JSON value in the spec file ``path``; every problem is one error naming the file."""
    data = _read_capped(path)
    try:
        value = loads_strict(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise OdysseyError(f"{path} is not UTF-8 text (byte {exc.start + 1})") from None
    except NonFiniteError as exc:
        raise OdysseyError(f"{path}: {exc}; write a number or null") from None
    except RecursionError:
        raise _too_deep(path) from None
    except ValueError as exc:
        raise OdysseyError(f"{path} is not valid JSON: {exc}") from None
    if _depth(value) > MAX_SPEC_DEPTH:
        raise _too_deep(path)
    return value
