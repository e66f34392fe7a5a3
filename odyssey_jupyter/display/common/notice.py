"""Small information lines under a cell (not red stderr boxes that stay in the notebook).

The "i" mark is a tiny inline SVG in the text colour: the Unicode circled i
(U+24D8) is missing from common fonts and showed as a box.
"""

from __future__ import annotations

import re

from odyssey_jupyter.display.common.palette import MUTED_TEXT
from odyssey_jupyter.text.markup import escape

INFO_MARK = (
    '<svg class="odyssey-info-mark" width="12" height="12" viewBox="0 0 16 16" '
    'style="vertical-align:-1px;margin-right:4px">'
    '<circle cx="8" cy="8" r="7" fill="none" stroke="currentColor" stroke-width="1.5"/>'
    '<rect x="7.25" y="6.5" width="1.5" height="5.5" fill="currentColor"/>'
    '<circle cx="8" cy="4.4" r="1" fill="currentColor"/></svg>'
)

_CODE = re.compile(r"(ODYSSEY_[A-Z_]+|https?://\S+?)(?=[\s)]|$)")


def notice_bundle(text: str) -> dict[str, str]:
    """``text`` as a muted one-line ``text/html`` plus the same ``text/plain``."""
    escaped = escape(text)
    marked = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped)
    return {
        "text/html": (
            f'<div class="odyssey-notice" style="font-size:0.85em;color:{MUTED_TEXT}">'
            f"{INFO_MARK}{marked}</div>"
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
