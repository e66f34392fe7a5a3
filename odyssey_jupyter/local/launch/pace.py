"""What a client tells its user when the engine's pace is not, or is no longer, the one asked.

The rule: an engine serves every kernel, ``Odyssey()`` and CLI run on its data
directory, so a change of ``local_pace`` never replaces it under them. The client
that asks for another pace is told which pace it gets and how to switch (stop the
engine: the next job starts one at the asked pace); a client whose engine was
restarted at another pace meanwhile is told too. Nobody's pace changes silently.
"""

from __future__ import annotations

from pathlib import Path

STOP_HINT = "`%odyssey_local stop` (or `odyssey-local stop` in a terminal)"


def pace_notice(
    url: str, data_dir: Path, pace: str, *, asked: str | None, before: str | None
) -> str | None:
    """The notice for an engine found at ``pace``, or ``None`` when there is nothing to say.

    ``asked`` is the client's ``local_pace`` (``None``: any pace), ``before`` the pace
    of the engine it used until now (``None``: its first).
    """
    if asked is not None and pace != asked:
        return (
            f"The local engine at {url} renders at {pace} pace, not {asked}: it serves every "
            f"kernel and client of {data_dir}, so it is not replaced under them. To switch, "
            f"stop it with {STOP_HINT}; the next job starts an engine at {asked} pace."
        )
    if before is not None and pace != before:
        return f"The local engine at {url} now renders at {pace} pace (it was {before})."
    return None
