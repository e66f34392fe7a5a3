"""Small information lines under a cell (not red stderr boxes that stay in the notebook)."""

from __future__ import annotations

import re

from odyssey_jupyter.display.markup import escape

_CODE = re.compile(r"(ODYSSEY_[A-Z_]+|https?://\S+?)(?=[\s)]|$)")


def notice_bundle(text: str) -> dict[str, str]:
    """``text`` as a muted one-line ``text/html`` plus the same ``text/plain``."""
    escaped = escape(text)
    marked = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped)
    return {
        "text/html": (
            '<div class="odyssey-notice" style="font-size:0.85em;color:#555">'
            f"&#9432; {marked}</div>"
        ),
        "text/plain": text,
    }


def show_notice(text: str) -> None:
    """Display ``text`` as an information line in the cell that caused it."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        import sys

        print(text, file=sys.stderr)
        return
    display(notice_bundle(text), raw=True)  # type: ignore[no-untyped-call]
