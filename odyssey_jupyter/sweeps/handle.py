"""``Sweep``: the handle a notebook holds on one sweep: its controls, counts and results.

Every control returns at once: it hands its change to the sweep's scheduler on the
runtime's loop thread (:mod:`.scheduler`). A process runs each sweep through one
handle (:mod:`.registry`); the sweep's ledger keeps everything across restarts.
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.session.runtime import THREAD_NAME, Runtime, get_runtime
from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.book import ItemBook
from odyssey_jupyter.sweeps.errors import SweepFailedError
from odyssey_jupyter.sweeps.item import SweepItem, with_trusted_files
from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path, list_names
from odyssey_jupyter.sweeps.output import output_of
from odyssey_jupyter.sweeps.plan import check_name
from odyssey_jupyter.sweeps.registry import Registry
from odyssey_jupyter.sweeps.scheduler import Scheduler
from odyssey_jupyter.sweeps.settings import settings_of
from odyssey_jupyter.sweeps.states import ItemState, SweepState

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.output import SweepOutput

log = logging.getLogger(__name__)

SweepListener = Callable[["Sweep"], None]

_RUNNING: Registry[Sweep] = Registry()
"""The handles of the sweeps this process runs."""


class Sweep:
    """A running (or finished) sweep: its items, its counts and its controls.

    Made by :func:`odyssey_jupyter.sweep` or :meth:`~odyssey_jupyter.Sweep.open`. Every control
    returns at once; the work happens on the runtime's loop thread.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.Sweep.open("rainy_animals")   # after a kernel restart
        s.wait()
        s.retry_failed()
        print(s.results()[0]["video"])
    """

    def __init__(
        self,
        name: str,
        ledger: Ledger,
        *,
        runtime: Runtime | None = None,
        output: SweepOutput | None = None,
    ) -> None:
        settings = settings_of(ledger.meta(), ledger.path)
        self.name = name
        self.ledger = ledger
        self.portrait: bool = settings.portrait
        self.pack: int = settings.pack
        self.download: bool = settings.download
        self._listeners: builtins.list[SweepListener] = []
        # the ledger's word on files: only those inside the recordings folder
        book = ItemBook(ledger, with_trusted_files(ledger.items()))
        self._scheduler = Scheduler(
            name, book, runtime or get_runtime(), settings, output=output, notify=self._changed
        )

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, name: str, *, storage_options: dict[str, Any] | None = None) -> Sweep:
        """Reattach to a sweep by name (after a kernel restart) and continue it.

        A sweep with an ``output`` checks its store first (``storage_options`` as when it
        was started: they are never kept) and copies what the store lacks.
        """
        check_name(name)
        running = _RUNNING.running(name, Sweep._retire)
        if running is not None:
            return running
        path = ledger_path(name)
        if not os.path.lexists(path):
            known = ", ".join(list_names()) or "none"
            raise FileNotFoundError(f"no sweep named {name!r} in {path.parent} (known: {known})")
        ledger = Ledger(path)
        try:
            ledger.claim()  # run by another process: refused before its store is written to
            settings = settings_of(ledger.meta(), path)
            sweep = cls(name, ledger, output=output_of(settings, name, storage_options))
        except BaseException:
            ledger.close()
            raise
        return sweep.start()

    @staticmethod
    def list() -> builtins.list[str]:
        """Names of the sweeps on this machine (in the recordings directory)."""
        return list_names()

    def start(self) -> Sweep:
        """Start (or restart) the scheduler on the loop thread."""
        self.ledger.claim()
        _RUNNING.add(self.name, self)
        self._scheduler.settled.clear()
        self._scheduler.runtime.submit(self._scheduler.start_on_loop())
        return self

    @property
    def alive(self) -> bool:
        """Whether the runtime this sweep runs on still runs."""
        return self._scheduler.runtime.running

    def _retire(self) -> None:
        """Let go of the ledger and its lock (a newer handle takes the sweep over)."""
        self._scheduler.retired = True
        self.ledger.close()

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: SweepListener) -> Callable[[], None]:
        """Call ``fn(sweep)`` on the loop thread after every change; returns an unsubscribe."""
        self._listeners.append(fn)

        def unsubscribe() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return unsubscribe

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                log.exception("a listener of sweep %s raised", self.name)

    # ------------------------------------------------------------------ what the scheduler knows

    @property
    def state(self) -> SweepState:
        """``running``, ``paused``, ``cancelled`` or ``done``."""
        return self._scheduler.state

    @property
    def message(self) -> str | None:
        """Why the sweep is paused, and what to do about it."""
        return self._scheduler.message

    @property
    def limit(self) -> int:
        """Most jobs in flight at once (max_in_flight, or the declared / configured cap)."""
        return self._scheduler.pace.limit

    @property
    def target(self) -> float:
        """Jobs kept in flight now: halved on a 429 concurrent limit, regrown by successes."""
        return self._scheduler.pace.target

    @property
    def limit_hits(self) -> int:
        """How many submissions a 429 concurrent limit turned back."""
        return self._scheduler.pace.limit_hits

    @property
    def last_limit_reason(self) -> str | None:
        """The server's words on the last 429 concurrent limit."""
        return self._scheduler.pace.last_limit_reason

    @property
    def keyed(self) -> bool | None:
        """Whether the server honours idempotency keys (known once the sweep has started)."""
        return self._scheduler.keyed

    @property
    def output(self) -> SweepOutput | None:
        """Where the recordings and the manifest are copied (``output=``), if anywhere."""
        return self._scheduler.output

    @property
    def max_video_seconds(self) -> float | None:
        """The budget: no unit is sent that would take the seconds of video past it."""
        return self._scheduler.max_video_seconds

    @property
    def finished(self) -> bool:
        """True once the sweep is over (done, or cancelled with nothing left in flight)."""
        return self._scheduler.over

    @property
    def settled(self) -> bool:
        """True while nothing can change by itself: the sweep is over, or paused with no
        job in flight, no recording downloading and no copy to its output under way
        (what :meth:`wait` waits for)."""
        return self._scheduler.settled.is_set()

    # ------------------------------------------------------------------ controls

    def pause(self) -> None:
        """Send nothing more; jobs already in flight go on."""
        self._scheduler.call(lambda: self._scheduler.pause("paused by you; resume() continues"))

    def resume(self) -> None:
        """Continue a paused sweep (or a finished one with items pending again)."""
        self._restart(self._scheduler.resume)

    def cancel(self, active: bool = False) -> None:
        """Drop the items not yet sent; with ``active=True`` cancel the jobs in flight too."""
        self._scheduler.call(lambda: self._scheduler.cancel(active))

    def retry_failed(self) -> int:
        """Send the failed items again (a new job each); returns how many. The rest stay."""
        units = self._scheduler.book.in_state(ItemState.FAILED)
        self._restart(lambda: self._scheduler.retry(units))
        return sum(len(unit.items) for unit in units)

    def resolve(self, index: int, job_id: str | None = None) -> None:
        """Settle an ``unknown`` item: follow ``job_id`` if you found its job, else resend it."""
        unit = self._scheduler.book.unit_of(index)
        if unit is None:
            raise IndexError(f"the sweep {self.name} has no item {index}")
        if unit.state != ItemState.UNKNOWN:
            raise ValueError(f"item {index} is {unit.state}, not unknown")
        self._restart(lambda: self._scheduler.resolve(unit, job_id))

    def _restart(self, change: Callable[[], None]) -> None:
        """Apply ``change`` on the loop, then make sure the scheduler runs (it may have ended)."""
        self._scheduler.settled.clear()
        self._scheduler.call(change)
        if not self._scheduler.task_alive:
            self.start()

    def wait(
        self, timeout: float | None = None, *, raise_on_failure: bool = False
    ) -> dict[str, int]:
        """Block until the sweep is over (or paused with nothing in flight); its counts.

        Ctrl-C stops waiting and leaves the sweep running. With ``raise_on_failure``
        failed or unknown items raise :class:`~odyssey_jupyter.SweepFailedError`.
        """
        if threading.current_thread().name == THREAD_NAME:
            raise RuntimeError("Sweep.wait() would block the odyssey-loop thread")
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        settled = self._scheduler.settled
        while not settled.is_set():
            if not self.alive:
                raise OdysseyError(
                    f"the odyssey runtime stopped under sweep {self.name}; its ledger keeps it: "
                    f"Sweep.open({self.name!r}) continues it"
                )
            slice_ = 0.1
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                slice_ = min(slice_, remaining)
            settled.wait(slice_)
        counts = self.counts
        if raise_on_failure:
            self._raise_failures()
        return counts

    def _raise_failures(self) -> None:
        bad = [r for r in self.results() if r["status"] in (ItemState.FAILED, ItemState.UNKNOWN)]
        if bad:
            first = bad[0]
            raise SweepFailedError(
                f"sweep {self.name}: {len(bad)} item(s) failed or unknown; first, item "
                f"{first['index']}: {first['error']}",
                bad,
            )

    # ------------------------------------------------------------------ budget and output

    def video_seconds_used(self) -> float:
        """Seconds of video of every unit sent so far (what the budget counts)."""
        return self._scheduler.book.video_seconds_used()

    def budget_text(self) -> str | None:
        """``42/60 s of video`` when the sweep has a budget (the live view and the CLI)."""
        if self.max_video_seconds is None:
            return None
        return budget.usage_text(self.video_seconds_used(), self.max_video_seconds)

    def set_budget(self, max_video_seconds: float | None) -> None:
        """Change the budget (kept in the ledger); ``resume()`` then continues a paused sweep."""
        self._scheduler.max_video_seconds = budget.check_budget(max_video_seconds)
        self.ledger.set_meta("max_video_seconds", self._scheduler.max_video_seconds)

    def output_text(self) -> str | None:
        """Where the dataset goes, and what the players here play (``output=``)."""
        if self.output is None:
            return None
        what = "local copies" if self.output.keep_local else "nothing (no local copies kept)"
        return f"dataset: {self.output.manifest_uri}; the players here play {what}"

    def export(
        self,
        dest: str,
        format: str = "webdataset",
        shard_size: int = 1000,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> builtins.list[str]:
        """Write the completed items to ``dest`` as WebDataset tar shards (``NAME-000000.tar``,
        samples ``KEY.mp4`` + ``KEY.json``) or as the manifest alone (``format="parquet"``);
        returns the URIs written."""
        from odyssey_jupyter.sweeps.export import export_items

        source = self.output.store if self.output is not None else None
        dataset = self.output.dataset if self.output is not None else self.name
        return export_items(
            self.items,
            dataset,
            dest,
            source=source,
            format=format,
            shard_size=shard_size,
            storage_options=storage_options,
        )

    # ------------------------------------------------------------------ reading

    @property
    def items(self) -> builtins.list[SweepItem]:
        """A copy of every item as it is now, by index."""
        return self._scheduler.book.snapshot()

    @property
    def counts(self) -> dict[str, int]:
        """Items per state (every state listed, zeros included), and ``total``."""
        return self._scheduler.book.counts()

    def in_flight(self) -> int:
        """Jobs of this sweep queued or running on the server now (or being sent)."""
        return self._scheduler.book.in_flight()

    def videos_per_minute(self) -> float | None:
        """Items whose job ended per minute, over the last two minutes (None before any)."""
        return self._scheduler.pace.videos_per_minute(self.pack)

    def eta_seconds(self) -> float | None:
        """Seconds until the last item should end, from observed job times and the slots."""
        return self._scheduler.pace.eta_seconds(self._scheduler.book.jobs_left())

    def results(self) -> builtins.list[dict[str, Any]]:
        """One dict per item: params, job_id, stream_id, status, error and the local video path."""
        out = []
        for item in self.items:
            stream_id = item.files[0].get("stream_id") if item.files else None
            video = item.video
            out.append(
                {
                    "index": item.index,
                    "params": dict(item.params),
                    "job_id": item.job_id,
                    "stream_id": stream_id,
                    "status": item.state.value,
                    "error": item.error,
                    "video": str(video) if video is not None else None,
                }
            )
        return out

    def to_pandas(self) -> Any:
        """``results()`` as a DataFrame, one column per param (needs pandas)."""
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        rows = []
        for result in self.results():
            row = {k: v for k, v in result.items() if k != "params"}
            for key, value in result["params"].items():
                row[key if key not in row else f"param_{key}"] = value
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line: counts, in flight / limit, and why the limit was lowered."""
        counts = self.counts
        ended = (ItemState.COMPLETED, ItemState.FAILED, ItemState.CANCELLED)
        parts = [f"{sum(counts[state] for state in ended)}/{counts['total']} done"]
        for state in (*ended, ItemState.UNKNOWN, ItemState.PENDING):
            if counts[state]:
                parts.append(f"{counts[state]} {state}")
        parts.append(f"{self.in_flight()} in flight (limit {int(self.target)}/{self.limit})")
        if self.state != SweepState.RUNNING:
            parts.append(self.state)
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<Sweep {self.name}: {self.summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))
