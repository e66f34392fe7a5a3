"""One home for "did you mean ...?" hints on unknown names.

Actions, flags, variables and statuses are all looked up by name; a typo in
any of them should be answered the same way, with the closest known names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

#: How alike a known name must be (difflib ratio) to be offered.
CUTOFF = 0.6
#: At most this many names are offered.
MAX_SUGGESTIONS = 3


def closest(word: str, known: Iterable[str], *, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """The known names closest to ``word``, best first (case-insensitive)."""
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(name.casefold(), name)
    matches = difflib.get_close_matches(word.casefold(), list(by_folded), n=limit, cutoff=CUTOFF)
    return [by_folded[match] for match in matches]


def did_you_mean(word: str, known: Iterable[str], *, limit: int = MAX_SUGGESTIONS) -> str:
    """A sentence such as ``"did you mean interact?"``, or ``""`` when nothing is close.

    The caller escapes or quotes the names for its medium; this only joins them.
    """
    return offer(closest(word, known, limit=limit))


def offer(names: Sequence[str]) -> str:
    """The sentence for names already chosen (by :func:`closest` or otherwise)."""
    if not names:
        return ""
    if len(names) == 1:
        return f"did you mean {names[0]}?"
    return f"did you mean {', '.join(names[:-1])} or {names[-1]}?"
