"""The one rule for putting untrusted text into HTML, SVG and copyable code.

Job ids, statuses, ``detail`` and ``error_message`` from a server, URLs, totals,
exception messages built from any of these, and prompts, variable values and
file names from the user are data. ``ipywidgets.HTML`` sets ``innerHTML`` with no
sanitiser, and a ``text/html`` output runs inline handlers in a trusted
notebook, so every such string passes through one of these helpers at the point
where markup is built, never a hand-rolled copy.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

_SAFE_SCHEMES = frozenset({"http", "https"})
_DATA_PREFIXES = ("data:image/", "data:video/")
# Characters browsers drop from a URL before reading its scheme ("java\tscript:").
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")
_CLASS_UNSAFE = re.compile(r"[^a-z0-9-]")
# Terminal escapes, other control characters, bidi controls, line separators and
# lone surrogates: a text fallback shows them as visible escapes, so a server string
# cannot restyle or rewrite a terminal (or reorder what a reader sees), nor fail to
# encode. Newlines and tabs stay.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def escape(value: Any) -> str:
    """``value`` as text content or a quoted attribute value: ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


def printable(value: Any) -> str:
    """``value`` for a text fallback: control characters and bidi overrides made visible."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(value))


def class_name(value: Any) -> str:
    """A CSS class token from untrusted text: lower case, ``[a-z0-9-]`` only."""
    return _CLASS_UNSAFE.sub("-", str(value).lower())


def safe_url(value: Any) -> str:
    """An escaped ``src``/``href`` value, or ``""`` unless it is harmless to follow.

    Harmless: a relative path, ``http(s)://``, or a ``data:image/`` or ``data:video/``
    URL. Anything else (``javascript:``, ``vbscript:``, ``data:text/html``, ...) is
    dropped, whatever its case or the control characters hidden in it.
    """
    url = str(value)
    probe = _URL_IGNORED.sub("", url).lower()
    if probe.startswith(_DATA_PREFIXES):
        return escape(url)
    scheme = urlsplit(probe).scheme if ":" in probe else ""
    if scheme and not (scheme in _SAFE_SCHEMES or _is_windows_drive(probe)):
        return ""
    return escape(url)


def _is_windows_drive(probe: str) -> bool:
    """``c:/...`` has a one-letter "scheme": a local path, not a URL."""
    return len(probe) > 2 and probe[0].isalpha() and probe[1] == ":" and probe[2] in "/\\"


def python_literal(value: Any) -> str:
    """``repr(value)``; a string in double quotes, the way the docs write job ids.

    Built from ``repr`` so every quote, backslash, line break and lone surrogate is
    escaped: the literal evaluates back to ``value`` and to nothing else.
    """
    text = repr(value)
    if not isinstance(value, str) or text[0] == '"':
        return text
    return '"' + text[1:-1].replace('"', '\\"') + '"'


def python_call(target: str, function: str, *args: Any) -> str:
    """A copyable line ``target = function(arg, ...)`` with every argument a quoted literal.

    A crafted job id cannot end the string literal and run code when the line is
    pasted into a cell.
    """
    return f"{target} = {function}({', '.join(python_literal(a) for a in args)})"


__all__ = ["class_name", "escape", "printable", "python_call", "python_literal", "safe_url"]
