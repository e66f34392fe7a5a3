"""The Python and IPython code blocks of the documentation's pages, as a reader copies them.

A fenced block whose language is ``python`` or ``ipython3`` runs. An HTML comment on
the line before it may say otherwise: ``<!-- not run: REASON -->`` (the reason is
shown) or ``<!-- run as: ipython_config.py -->``, a configuration file, run with a
fresh ``c`` and then loaded into ``OdysseyJupyter``. Tutorials are not here: MyST-NB
runs their cells when the site is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from support.site import DOCS

LANGUAGES = {"python", "ipython3", "ipython", "py"}
_FENCE = re.compile(r"^(`{3,})(\S*)")
_MARK = re.compile(r"^<!--\s*(not run|run as):\s*(.+?)\s*-->$")
CONFIG_FILE = "ipython_config.py"


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    not_run: str | None = None
    """Why the block does not run, as its page says."""
    config_file: bool = False

    def cell(self) -> str:
        """What a kernel runs for this block."""
        if not self.config_file:
            return self.code
        return (
            "from traitlets.config import Config\nc = Config()\n"
            + self.code
            + "\nfrom odyssey_jupyter.session.config import OdysseyJupyter\n"
            + "_loaded = OdysseyJupyter(config=c)\n"
            + "assert all(getattr(_loaded, k) == v for k, v in c.OdysseyJupyter.items())\n"
        )


def _blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    page = str(path.relative_to(DOCS))
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith(opening.group(1)))
        if opening.group(2) in LANGUAGES:
            mark = _MARK.match(lines[index - 1]) if index else None
            kind, detail = mark.groups() if mark else (None, None)
            if kind == "run as" and detail != CONFIG_FILE:
                raise ValueError(f"{page}:{index}: unknown 'run as: {detail}'")
            found.append(
                Block(
                    page,
                    index + 1,
                    "\n".join(lines[index + 1 : end]),
                    not_run=detail if kind == "not run" else None,
                    config_file=kind == "run as",
                )
            )
        index = end + 1
    return found


def page_blocks() -> dict[str, list[Block]]:
    """Every page's blocks, in order (pages outside ``tutorials/``)."""
    pages = sorted(p for p in DOCS.rglob("*.md") if "tutorials" not in p.parts)
    return {str(p.relative_to(DOCS)): blocks for p in pages if (blocks := _blocks(p))}
