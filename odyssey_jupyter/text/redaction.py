"""One home for keeping credentials out of what a person sees.

A server may echo the API key or a bearer token back in any text it answers
with (a job's ``error_message``, a list row, an error ``detail``); httpx may put
them in an exception. Whatever crosses the client boundary passes through
:func:`scrub` (one text) or :func:`scrub_value` (a whole decoded answer) before
it is stored, shown, logged or raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"

API_KEY_PREFIX = "ody_"
"""How Odyssey API keys begin (the hosted API's and the local engine's alike)."""

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


_KEY_LIKE = re.compile(re.escape(API_KEY_PREFIX) + r"[A-Za-z0-9_-]{8,}", re.IGNORECASE)
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{24,}")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()]+")


def looks_like_key(text: str) -> bool:
    """Whether ``text`` holds something shaped like an API key: ``ody_`` and at least
    8 more key characters, or one run of 24 such characters (no host name has it)."""
    return bool(_KEY_LIKE.search(text) or _TOKEN_LIKE.search(text))


def _without_credentials(url: str) -> str:
    """``url`` with its userinfo, query values and fragment replaced by ``***`` (cut
    by hand, not parsed: a URL too broken to parse is still shown without them)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rpartition("@")[2]
    tail, hash_mark, fragment = tail.partition("#")
    path, question, query = tail.partition("?")
    values = "&".join(
        f"{pair.partition('=')[0]}={REDACTED}" if "=" in pair else REDACTED
        for pair in query.split("&")
        if pair
    )
    shown = f"{scheme}://{netloc}{path}"
    shown += f"?{values}" if question and values else question
    return shown + (f"#{REDACTED}" if hash_mark and fragment else "")


def shown_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """A URL as a person may see it (in an error, a repr, a notice): no user or
    password, no query value, no fragment, none of ``secrets``; and nothing at all
    of a value that looks like an API key rather than a URL (``***``)."""
    text = scrub(_without_credentials(url.strip()), list(secrets))
    if "://" not in text and looks_like_key(text):
        return REDACTED
    return text if not _KEY_LIKE.search(text) else _KEY_LIKE.sub(REDACTED, text)


def shown_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` (an exception's message, say) with ``secrets`` scrubbed and every URL
    in it shown as :func:`shown_url` shows one."""
    known = list(secrets)

    def shown(match: re.Match[str]) -> str:
        url = match.group(0)
        kept = url.rstrip(".,;:!?")  # the sentence's punctuation, not the URL's
        return shown_url(kept, known) + url[len(kept) :]

    return _URL_IN_TEXT.sub(shown, scrub(text, known))


__all__ = [
    "API_KEY_PREFIX",
    "MIN_SECRET_PREFIX",
    "REDACTED",
    "looks_like_key",
    "scrub",
    "scrub_value",
    "shown_text",
    "shown_url",
]
