"""The small block that lists a script's warnings (advice that does not stop a job).

Shown by ``--dry-run`` and once when the magic submits; the warnings themselves
come from ``script.script_warnings`` (their one home). The heading says what
happens to the job in the context it is shown in: sent anyway, or (in a dry run,
where nothing is sent) what a real run would do. The HTML form escapes every
message, since a prompt's line number is the only thing here not from this module,
and the rule for untrusted text has one home too (``markup``).
"""

from __future__ import annotations

from collections.abc import Sequence

from odyssey_jupyter.script.rules import ScriptWarning
from odyssey_jupyter.text.markup import escape, printable

SETTING_HINT = "%config OdysseyJupyter.script_warnings = False turns these off"
"""How to silence the block, said under it (the setting is ``config.script_warnings``)."""


SENT = "the job is still sent"
DRY_RUN = "a real run would still send the job"


def _heading(count: int, sending: bool) -> str:
    return f"{count} warning{'s' if count != 1 else ''} ({SENT if sending else DRY_RUN})"


def warnings_text(warnings: Sequence[ScriptWarning], *, sending: bool = True) -> str:
    """The plain-text block: a heading, one line per warning, then how to turn them off.

    ``sending`` is False in a dry run: nothing is sent, so nothing says it is.
    """
    if not warnings:
        return ""
    lines = [f"Warning: {_heading(len(warnings), sending)}"]
    lines += [f"  {printable(warning)}" for warning in warnings]
    lines.append(f"  ({SETTING_HINT})")
    return "\n".join(lines)


def warnings_html(warnings: Sequence[ScriptWarning], *, sending: bool = True) -> str:
    """The same block as HTML, every message escaped."""
    if not warnings:
        return ""
    items = "".join(
        f"<li><b>{escape(warning.where)}</b>: {escape(warning.message)}</li>"
        for warning in warnings
    )
    return (
        '<div class="odyssey-warnings" style="margin:4px 0;padding:4px 8px;'
        "border-left:3px solid var(--jp-warn-color1, #f57c00);"
        'color:var(--jp-ui-font-color1, inherit)">'
        f"<div>&#9888; {escape(_heading(len(warnings), sending))}</div>"
        f'<ul style="margin:2px 0 2px 1.2em;padding:0">{items}</ul>'
        '<div style="font-size:0.85em;color:var(--jp-ui-font-color2, #616161)">'
        f"{escape(SETTING_HINT)}</div></div>"
    )


class ScriptWarnings:
    """A displayable list of warnings (``text/html`` and ``text/plain``)."""

    def __init__(self, warnings: Sequence[ScriptWarning], *, sending: bool = True) -> None:
        self.warnings = tuple(warnings)
        self.sending = sending

    def _repr_mimebundle_(self, **_: object) -> dict[str, str]:
        return {
            "text/plain": warnings_text(self.warnings, sending=self.sending),
            "text/html": warnings_html(self.warnings, sending=self.sending),
        }

    def __repr__(self) -> str:
        return warnings_text(self.warnings, sending=self.sending)


__all__ = ["SETTING_HINT", "ScriptWarnings", "warnings_html", "warnings_text"]
