"""Advice in the words of the place the user is in: a notebook, or the command line.

An error raised deep inside (a template's unknown name, an existing sweep, a paused
sweep) ends with what to do next. In a notebook that is "define y in a cell above"
or ``resume()``; typed into a terminal it must name a spec key or a command. The
text is built here, from the voice the process speaks in: the notebook's unless the
command line chose its own (``with speaking(COMMAND_LINE):``) around what it does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

PROGRAM = "python -m odyssey_jupyter"

NOTEBOOK: Mapping[str, str] = {
    "define": "define {name} in a cell above",
    "define_helpers": "define helper variables in a cell above and refer to them here",
    "params_example": "e.g. params={{'style': ['ink', 'oil'], 'seed': range(3)}}",
    "rows_example": "params=[{{'style': 'ink'}}, {{'style': 'oil'}}]",
    "allow_large": "check the grid, or pass allow_large=True if you mean it",
    "sweep_exists": "Sweep.open({sweep!r}) continues it; or choose another name",
    "resume": "call resume()",
    "resolve": (
        "Check with %odyssey_jobs (or Odyssey().list_simulations()), then call "
        "sweep.resolve({index}, job_id='...') to follow the job you found, or "
        "sweep.resolve({index}) to send it again."
    ),
}

COMMAND_LINE: Mapping[str, str] = {
    "define": "add {name} to the spec's params",
    "define_helpers": "a spec's template is one script: put values in the spec's params",
    "params_example": 'e.g. "params": {{"style": ["ink", "oil"], "seed": [0, 1, 2]}}',
    "rows_example": '"params": [{{"style": "ink"}}, {{"style": "oil"}}]',
    "allow_large": "check the grid, or pass --allow-large if you mean it",
    "sweep_exists": (
        f"`{PROGRAM} sweep resume {{sweep}}` continues it; or choose another name (--name)"
    ),
    "resume": f"run `{PROGRAM} sweep resume {{sweep}}`",
    "resolve": (
        "Check the account's jobs, then settle it in Python: "
        "Sweep.open({sweep!r}).resolve({index}, job_id='...') follows the job you found, "
        "Sweep.open({sweep!r}).resolve({index}) sends it again."
    ),
}

_voice: Mapping[str, str] = NOTEBOOK


def say(key: str, **values: Any) -> str:
    """The advice ``key`` in the current voice, its ``{fields}`` filled from ``values``."""
    return _voice[key].format(**values)


@contextlib.contextmanager
def speaking(voice: Mapping[str, str]) -> Iterator[None]:
    """Speak in ``voice`` (for every thread) until the block ends."""
    global _voice
    previous, _voice = _voice, voice
    try:
        yield
    finally:
        _voice = previous


__all__ = ["COMMAND_LINE", "NOTEBOOK", "PROGRAM", "say", "speaking"]
