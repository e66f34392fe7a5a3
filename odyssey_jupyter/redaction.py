"""One home for keeping credentials out of what a person sees.

A server may echo the API key or a bearer token back in any text it answers
with (a job's ``error_message``, a list row, an error ``detail``); httpx may put
them in an exception. Whatever crosses the client boundary passes through
:func:`scrub` (one text) or :func:`scrub_value` (a whole decoded answer) before
it is stored, shown, logged or raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"

MIN_SECRET_PREFIX = 8
"""A secret cut short is still caught when at least this much of its start shows."""


def _forms(secret: str) -> list[str]:
    """The secret as sent and URL-encoded (either way), longest first, in lower case."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    return sorted({form.lower() for form in forms}, key=len, reverse=True)


def _covered(text: str, secret: str) -> list[tuple[int, int]]:
    """Spans of ``text`` showing ``secret`` whole, URL-encoded or cut short, in any case.

    A server or a proxy may echo a key back percent-encoded, upper-cased or
    truncated to its first characters; any run of at least ``MIN_SECRET_PREFIX``
    characters that starts like the secret is taken for it.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: keep positions
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    spans: list[tuple[int, int]] = []
    for form in _forms(secret):
        head = form[: min(len(form), MIN_SECRET_PREFIX)]
        start = lowered.find(head)
        while start != -1:
            end = start + len(head)
            while end - start < len(form) and end < len(lowered):
                if lowered[end] != form[end - start]:
                    break
                end += 1
            spans.append((start, end))
            start = lowered.find(head, end)
    return spans


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (key, token) replaced by ``***``, also when it shows
    URL-encoded, in another case, or only as its first ``MIN_SECRET_PREFIX`` characters."""
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        spans = sorted(_covered(text, secret))
        if not spans:
            continue
        parts: list[str] = []
        position = 0
        for start, end in spans:
            if start < position:  # overlaps the last one: widen it
                position = max(position, end)
                continue
            parts.append(text[position:start])
            parts.append(REDACTED)
            position = end
        parts.append(text[position:])
        text = "".join(parts)
    return text


def scrub_value(value: Any, secrets: Iterable[str | None]) -> Any:
    """A copy of a decoded JSON ``value`` with every string (values and keys) scrubbed.

    Walks with its own stack, so an answer nested as deep as the JSON decoder allows
    cannot exhaust Python's recursion limit here.
    """
    known = [secret for secret in secrets if secret]
    if not known:
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, key = stack.pop()
        item = holder[key]
        if isinstance(item, str):
            holder[key] = scrub(item, known)
        elif isinstance(item, dict):
            copy = {scrub(k, known) if isinstance(k, str) else k: v for k, v in item.items()}
            holder[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            items = list(item)
            holder[key] = items
            stack.extend((items, index) for index in range(len(items)))
    return root[0]


__all__ = ["MIN_SECRET_PREFIX", "REDACTED", "scrub", "scrub_value"]
