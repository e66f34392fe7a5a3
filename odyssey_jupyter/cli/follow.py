"""Following a running sweep from a terminal: the progress line, then the outcome."""

from __future__ import annotations

from typing import Any

from odyssey_jupyter.cli import codes
from odyssey_jupyter.cli.terminal import Terminal
from odyssey_jupyter.text.advice import PROGRAM

MAX_LISTED = 10
"""Failed items a finished run lists one by one; ``sweep items`` shows them all."""


def follow(sweep: Any, term: Terminal, every: float | None = None) -> int:
    """Print the progress line until the sweep settles; the exit code it earns."""
    from odyssey_jupyter.display.sweep.summary import status_line

    every = every if every is not None else (1.0 if term.live else 5.0)
    last = ""
    try:
        while True:
            sweep.wait(every)
            line = status_line(sweep)
            if line != last:
                term.progress(line)
                last = line
            if sweep.settled:  # over, or paused with nothing downloading or being copied
                break
    except KeyboardInterrupt:
        term.end_progress()
        term.note(
            f"stopped; the ledger keeps sweep {sweep.name}: "
            f"`{PROGRAM} sweep resume {sweep.name}` continues it"
        )
        return codes.INTERRUPTED
    term.end_progress()
    return report(sweep, term)


def report(sweep: Any, term: Terminal) -> int:
    """The first failed or unknown items, the sweep's message, one line of counts; the
    exit code. The rest of a long list is one command away, not a screenful."""
    counts = sweep.counts
    bad = [item for item in sweep.items if item.status in ("failed", "unknown")]
    for item in bad[:MAX_LISTED]:
        term.note(f"item {item.index} {item.status}: {item.error}")
    if len(bad) > MAX_LISTED:
        term.note(
            f"... and {len(bad) - MAX_LISTED} more: `{PROGRAM} sweep items {sweep.name} "
            "--state failed` (or --state unknown) lists them"
        )
    if sweep.message:
        term.note(sweep.message)
    budget = sweep.budget_text()
    if budget is not None:
        term.note(f"budget: {budget}")
    term.note(
        f"{sweep.name}: {counts['completed']} completed, {counts['failed']} failed, "
        f"{counts['unknown']} unknown, {counts['cancelled']} cancelled, "
        f"{counts['pending']} pending of {counts['total']}"
    )
    left = counts["failed"] + counts["unknown"] + counts["pending"] + counts["cancelled"]
    return codes.ITEMS_BAD if left else codes.OK
