"""One timeline line split into its parts and tokens, by the patterns of ``grammar.json``.

The reader takes a line's time, action, prompt and image from :func:`scan_line`;
:func:`line_tokens` gives the kind and span of every token, the view the editor's
highlighter (``labextension/src/tokens.ts``) computes from the same file the same
way. Spans count characters (code points) of the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from odyssey_jupyter.script.grammar import GRAMMAR, pattern

Span = tuple[int, int]
"""``(start, end)`` of a part of a line."""

_PROMPT_MARKS = re.compile(f"({pattern('escape').pattern})|{pattern('braces').pattern}")
"""A prompt's marks: an escaped comment sign (group 1), braces and placeholders (group 2)."""


@dataclass(frozen=True)
class Token:
    """A highlighted part of a line; ``kind`` is the highlighter's name for it."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class LineParts:
    """Where a line's parts sit; a part the line lacks is ``None``.

    ``code`` is the line before its comment, without surrounding whitespace; ``rest``
    is everything after the action; ``prompt`` is ``rest`` without its image.
    """

    text: str
    code: Span
    comment: int | None
    separator: bool
    time: Span | None = None
    action: Span | None = None
    rest: Span | None = None
    prompt: Span | None = None
    image_key: Span | None = None
    image_value: Span | None = None
    empty_image: Span | None = None

    @property
    def blank(self) -> bool:
        """Whether the line holds nothing but whitespace and a comment."""
        return self.code[0] == self.code[1]

    def part(self, span: Span | None) -> str:
        r"""The text of ``span`` with every ``\#`` read as a literal ``#`` ("" for none)."""
        if span is None:
            return ""
        return pattern("escape").sub(GRAMMAR.comment_prefix, self.text[span[0] : span[1]])

    def action_word(self) -> str:
        """The action as written, in lower case ("" when the line has none)."""
        return self.part(self.action).lower()


def scan_line(text: str) -> LineParts:
    """The parts of one timeline line (a separator, a comment, or an entry)."""
    found = pattern("comment").search(text)
    comment = found.start() if found is not None else None
    code_end = comment if comment is not None else len(text)
    words = [match.span() for match in pattern("word").finditer(text[:code_end])]
    if not words:
        return LineParts(text, (code_end, code_end), comment, separator=False)
    code = (words[0][0], words[-1][1])
    if pattern("separator").search(text[code[0] : code[1]]):
        return LineParts(text, code, comment, separator=True)
    entry = LineParts(text, code, comment, separator=False, time=words[0])
    if len(words) < 2:
        return entry
    entry = replace(entry, action=words[1])
    if len(words) < 3:
        return entry
    rest = (words[2][0], code[1])
    return _with_image(replace(entry, rest=rest, prompt=rest), words[2:])


def _with_image(parts: LineParts, words: list[Span]) -> LineParts:
    """``parts`` with the ``image=`` that ends its rest, if one does; ``words`` are the
    rest's words, and the prompt is those before the image."""
    assert parts.rest is not None
    offset = parts.rest[0]
    rest = parts.text[offset : parts.rest[1]]
    tail = pattern("image_tail").search(rest)
    found = tail or pattern("empty_image").search(rest)
    if found is None:
        return parts
    key = (offset + found.start(1), offset + found.end(1))
    before = [word for word in words if word[1] <= key[0]]
    prompt = (before[0][0], before[-1][1]) if before else None
    if tail is not None:
        value = (offset + tail.start(2), offset + tail.end(2))
        return replace(parts, prompt=prompt, image_key=key, image_value=value)
    return replace(parts, prompt=prompt, empty_image=key)


def line_tokens(text: str) -> tuple[Token, ...]:
    """Every token of one body line, in order; plain prompt text and spaces are no token."""
    parts = scan_line(text)
    found: list[Token] = []
    if parts.separator:
        found.append(Token("separator", *parts.code))
    if parts.time is not None:
        kind = "time" if pattern("time").search(parts.part(parts.time)) else "invalid"
        found.append(Token(kind, *parts.time))
    if parts.action is not None:
        kind = "action" if parts.action_word() in GRAMMAR.actions else "invalid"
        found.append(Token(kind, *parts.action))
    if parts.rest is not None and parts.action_word() == "end":
        found.append(Token("invalid", *parts.rest))
    elif parts.rest is not None:
        found += _prompt_tokens(parts)
    if parts.comment is not None:
        found.append(Token("comment", parts.comment, len(text)))
    return tuple(found)


def _prompt_tokens(parts: LineParts) -> list[Token]:
    """The marks of the prompt, then the image."""
    found: list[Token] = []
    if parts.prompt is not None:
        start, end = parts.prompt
        for mark in _PROMPT_MARKS.finditer(parts.text[start:end]):
            found.append(Token(_mark_kind(mark), start + mark.start(), start + mark.end()))
    if parts.image_key is not None and parts.image_value is not None:
        value = parts.text[parts.image_value[0] : parts.image_value[1]]
        whole = pattern("whole_placeholder").search(value) is not None
        found.append(Token("imageKey", *parts.image_key))
        found.append(Token("substitution" if whole else "imageValue", *parts.image_value))
    if parts.empty_image is not None:
        found.append(Token("invalid", *parts.empty_image))
    return found


def _mark_kind(mark: re.Match[str]) -> str:
    r"""``\#``, ``{{`` and ``}}`` are escapes, ``{name}`` a substitution, a lone brace invalid."""
    if mark.group(1) is not None:
        return "escape"
    if mark.group(2) is not None:
        return "substitution"
    return "escape" if len(mark.group(0)) == 2 else "invalid"
