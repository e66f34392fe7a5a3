"""What to say about words a command line did not take: the magics' and the CLI's.

The magics and ``python -m odyssey_jupyter`` all parse with argparse and are left
with the same kind of rest (``parse_known_args``); one wording for it, with the
closest known flag from :mod:`odyssey_jupyter.text.suggest`, keeps them alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from odyssey_jupyter.text.recorded_parser import RecordedParser
from odyssey_jupyter.text.suggest import MAX_SUGGESTIONS, closest, offer


def known_flags(parser: RecordedParser) -> list[str]:
    """Every option string the parser takes (``-o``, ``--output``, ...), in its order."""
    return [flag for option in parser.options for flag in option.flags]


def is_flag(word: str) -> bool:
    """``-x`` and ``--xyz`` are flags; ``-`` alone is a value (standard input, by custom)."""
    return word.startswith("-") and word != "-"


def meant_flags(word: str, known: Sequence[str]) -> list[str]:
    """The flags ``word`` may have meant, best first.

    Flags cannot be abbreviated, so a word that begins flags means those flags
    (``--max``: ``--max-in-flight`` or ``--max-video-seconds``). Otherwise names are
    compared without their dashes, which every flag shares and which would make short
    words look alike (``--max`` and ``--image``).
    """
    name = word.split("=", 1)[0]
    if name.startswith("--") and len(name) > 2:
        begun = [flag for flag in known if flag.startswith(name)]
        if begun:
            return begun[:MAX_SUGGESTIONS]
    by_bare = {flag.lstrip("-"): flag for flag in known}
    return [by_bare[match] for match in closest(name.lstrip("-"), by_bare, limit=1)]


def unknown_flags(words: Sequence[str], parser: RecordedParser) -> str:
    """``"unknown option: --potrait (did you mean --portrait?)"``, or ``""`` for none.

    A flag written ``--name=value`` is named without its value.
    """
    flags = [word for word in words if is_flag(word)]
    if not flags:
        return ""
    known = known_flags(parser)
    described = []
    for word in flags:
        name = word.split("=", 1)[0]
        meant = meant_flags(word, known)
        described.append(f"{name} ({offer(meant)})" if meant else name)
    plural = "s" if len(flags) > 1 else ""
    return f"unknown option{plural}: {', '.join(described)}"


def unexpected_words(words: Sequence[str]) -> list[str]:
    """The words of a rest that are not flags (stray values, extra arguments)."""
    return [word for word in words if not is_flag(word)]
