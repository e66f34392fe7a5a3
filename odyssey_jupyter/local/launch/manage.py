"""The engine as a thing its user manages: is one running, and stop it without losing a job.

``engine_status`` and ``stop_engine`` are what ``odyssey-local status|stop`` and
``%odyssey_local status|stop`` print. Neither trusts ``engine.json`` alone: a pid
can be reused and a port taken over once an engine has died, so a process is called
this data directory's engine only once it has answered an identity challenge
(``identity.proves_identity``), and only such a process is ever signalled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.launch import processes
from odyssey_jupyter.local.launch.identity import proves_identity
from odyssey_jupyter.local.launch.launcher import stop_process
from odyssey_jupyter.local.launch.options import STOP_TIMEOUT, default_data_dir
from odyssey_jupyter.local.launch.record import EngineRecord, forget_record, load_record
from odyssey_jupyter.local.store.counts import job_counts
from odyssey_jupyter.protocol.types import ACTIVE_STATUSES

RUNNING, STALE, NONE, UNPROVEN = "running", "stale", "not running", "unproven"
STATUS_EXIT = {RUNNING: 0, STALE: 1, NONE: 3, UNPROVEN: 4}
"""``odyssey-local status`` exit codes, as an init script's ``status`` has them."""


def shown(value: object) -> str:
    """Text from a file or the system, safe to print on a terminal (control characters quoted)."""
    text = str(value)
    return text if text.isprintable() else repr(text)


def _uptime(seconds: float) -> str:
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What ``status`` found in a data directory; ``state`` is one of ``STATUS_EXIT``'s keys."""

    state: str
    data_dir: Path
    record: EngineRecord | None = None
    jobs: dict[str, int] | None = None
    uptime: float | None = None

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT[self.state]

    def as_json(self) -> dict[str, Any]:
        """The status as JSON (``--json``): never the key."""
        record = self.record
        return {
            "state": self.state,
            "data_dir": str(self.data_dir),
            "url": None if record is None else record.url,
            "pid": None if record is None else record.pid,
            "pace": None if record is None else record.pace,
            "workers": None if record is None else record.workers,
            "version": None if record is None else record.version,
            "uptime_seconds": None if self.uptime is None else round(self.uptime, 1),
            "jobs": self.jobs,
        }

    def text(self) -> str:
        """Plain lines for a person."""
        headline = {
            RUNNING: "The local engine is running.",
            STALE: "The local engine is not running: it stopped without cleaning up "
            "(engine.json names a process that is gone). `odyssey-local stop` removes "
            "the record; the next job starts a new engine.",
            NONE: "No local engine is running for this data directory.",
            UNPROVEN: "engine.json names a live process that does not prove it is this data "
            "directory's engine (another program may have its pid or port); nothing was "
            "sent to it.",
        }[self.state]
        lines = [headline, f"  data dir: {shown(self.data_dir)}"]
        record = self.record
        if record is not None:
            lines += [f"  url:      {shown(record.url)}", f"  pid:      {record.pid}"]
            if self.state == RUNNING:
                lines += [
                    f"  pace:     {shown(record.pace)}",
                    f"  workers:  {record.workers or 'unknown'}",
                    f"  version:  {shown(record.version or 'unknown')}",
                    "  uptime:   " + ("unknown" if self.uptime is None else _uptime(self.uptime)),
                ]
        if self.jobs is not None:
            counted = ", ".join(f"{n} {shown(s)}" for s, n in sorted(self.jobs.items()))
            lines.append(f"  jobs:     {counted or 'none'}")
        return "\n".join(lines)


def _data_dir(data_dir: Path | None) -> Path:
    return (data_dir or default_data_dir()).expanduser().resolve()


def engine_status(data_dir: Path | None = None) -> EngineStatus:
    """Whether an engine serves ``data_dir`` (default: the kernels' one), and what it holds.

    :param data_dir: the engine's data directory (default: the one kernels use,
        ``$ODYSSEY_LOCAL_DATA_DIR`` or the user cache folder).
    :returns: an :class:`~odyssey_jupyter.local.launch.manage.EngineStatus`; ``.text()`` says it
        in words, ``.as_json()`` as data.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        print(oj.engine_status().text())
    """
    directory = _data_dir(data_dir)
    jobs = job_counts(directory / "engine.db")
    record = load_record(directory)
    if record is None:
        return EngineStatus(NONE, directory, jobs=jobs)
    if not processes.alive(record.pid):
        return EngineStatus(STALE, directory, record, jobs)
    if not proves_identity(record, directory):
        return EngineStatus(UNPROVEN, directory, record, jobs)
    since = record.started or processes.started_at(record.pid)
    uptime = None if since is None else time.time() - since
    return EngineStatus(RUNNING, directory, record, jobs, uptime)


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """What ``stop`` did: ``stopped`` (or there was nothing to stop) and a line saying so."""

    stopped: bool
    message: str
    forced: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.stopped else 1

    def as_json(self) -> dict[str, Any]:
        return {"stopped": self.stopped, "forced": self.forced, "message": self.message}


def _active(jobs: dict[str, int] | None) -> int:
    return sum(n for status, n in (jobs or {}).items() if status in ACTIVE_STATUSES)


def stop_engine(data_dir: Path | None = None, *, timeout: float = STOP_TIMEOUT) -> StopOutcome:
    """Stop the engine serving ``data_dir``: asked first, ended after ``timeout`` seconds.

    Its unfinished jobs stay in its database, queued again, and the next engine on
    the data directory renders them. A stale ``engine.json`` is removed; a live
    process that does not prove it is the engine is never signalled.

    :param data_dir: the engine's data directory (default: the one kernels use).
    :param timeout: seconds the engine has to stop before it is ended.
    :returns: a :class:`~odyssey_jupyter.local.launch.manage.StopOutcome` saying whether it stopped.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        print(oj.stop_engine(timeout=10).message)
    """
    status = engine_status(data_dir)
    directory, record = status.data_dir, status.record
    if status.state == NONE:
        return StopOutcome(True, f"No local engine was running for {shown(directory)}.")
    assert record is not None
    if status.state == STALE:
        forget_record(directory, record.pid)
        return StopOutcome(
            True, f"No local engine was running; removed its stale engine.json (pid {record.pid})."
        )
    if status.state == UNPROVEN:
        return StopOutcome(False, status.text())
    try:
        forced = stop_process(record.pid, timeout)
    except PermissionError as exc:
        return StopOutcome(False, f"cannot stop the local engine (pid {record.pid}): {exc}")
    forget_record(directory, record.pid)  # an ended engine could not remove it itself
    active = _active(job_counts(directory / "engine.db"))
    kept = f"; its {active} unfinished jobs stay queued for the next engine" if active else ""
    how = f" (ended after {timeout:g} s)" if forced else ""
    return StopOutcome(
        True,
        f"Stopped the local engine (pid {record.pid}) serving {shown(directory)}{how}{kept}.",
        forced=forced,
    )
