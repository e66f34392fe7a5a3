"""Starting a sweep: every item checked first, then the ledger written and the scheduler started.

``sweep(template, params)`` checks every item (nothing is sent or written when one
is bad), writes the ledger, and starts the scheduler on the runtime's loop
thread; it returns the :class:`~odyssey_jupyter.Sweep` at once. ``prepare`` is
the check alone (the magic's ``--dry-run``).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.handle import Sweep
from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path, refuse_planted
from odyssey_jupyter.sweeps.manifest import check_param_names
from odyssey_jupyter.sweeps.output import SweepOutput, open_output
from odyssey_jupyter.sweeps.plan import PlannedItem, check_name, chunk, params_json, plan_items
from odyssey_jupyter.sweeps.settings import (
    SweepSettings,
    check_flag,
    check_whole,
    settings_meta,
)
from odyssey_jupyter.sweeps.shard import check_shard, shard_name
from odyssey_jupyter.sweeps.storage import output_text
from odyssey_jupyter.text.advice import say

LEDGER_VERSION = 1


def default_name() -> str:
    return time.strftime("sweep_%Y%m%d_%H%M%S_") + secrets.token_hex(2)


def _storable(item: PlannedItem, portrait: bool) -> PlannedItem:
    """Start images that JSON cannot hold (bytes, PIL, arrays) become data URLs now."""
    from odyssey_jupyter.protocol.submission import with_data_urls

    needs = any(
        isinstance(e.get("start"), dict)
        and "image" in e["start"]
        and not isinstance(e["start"]["image"], str)
        for e in item.script
    )
    if not needs:
        return item
    return PlannedItem(
        item.index, item.params, with_data_urls(item.script, portrait=portrait, script_index=None)
    )


@dataclass(frozen=True)
class SweepRequest:
    """Everything a sweep is started with (the keywords of :func:`sweep`)."""

    template: Any
    """Timeline text, JSON, or a list of entries whose strings hold ``{placeholders}``."""
    params: Any
    """A list of dicts, a dict of lists (their product) or a pandas DataFrame."""
    name: str | None = None
    """The sweep's name (a plain identifier), also its ledger's; a dated one if None."""
    portrait: bool = True
    max_in_flight: int | None = None
    """Jobs at once; None: the server's declared cap, else ``sweep_max_in_flight``."""
    pack: int = 1
    """Items sent per job (``scripts=``)."""
    download: bool = True
    allow_large: bool = False
    """More than ``MAX_ITEMS`` items are refused without it (a typo in a grid multiplies)."""
    namespace: Mapping[str, Any] | None = None
    """Placeholders the params do not supply (the magic passes the notebook's variables)."""
    from_cell: bool = False
    """The template is a cell its user wrote: only then may its Python form be evaluated."""
    first_line: int = 1
    """The number of a text template's first line (for errors)."""
    output: str | os.PathLike[str] | None = None
    """A folder or fsspec URL where the recordings and a Parquet manifest go, under
    ``OUTPUT/NAME/``; the store is checked before anything is sent."""
    storage_options: dict[str, Any] | None = None
    """For fsspec; never kept."""
    max_video_seconds: float | None = None
    """A budget: the sweep pauses before passing it."""
    keep_local: bool = True
    """False: each local copy is deleted once the store holds it."""
    shard: tuple[int, int] | None = None
    """``(I, N)``: only the items whose index modulo N is I, with their own ledger and
    manifest shard."""

    def plan(self) -> tuple[str, list[PlannedItem]]:
        """The sweep's name and items, checked; nothing is sent or written."""
        chosen = self._name()
        budget.check_budget(self.max_video_seconds)
        check_whole("pack", self.pack)
        for flag in ("portrait", "download", "keep_local"):
            check_flag(flag, getattr(self, flag))
        if self.max_in_flight is not None:
            check_whole("max_in_flight", self.max_in_flight)
        path = ledger_path(chosen)
        refuse_planted(path)
        if path.exists():
            raise ScriptError(
                f"a sweep named {chosen!r} already exists",
                hint=say("sweep_exists", sweep=chosen),
            )
        items = plan_items(
            self.template,
            self.params,
            namespace=self.namespace,
            allow_large=self.allow_large,
            from_cell=self.from_cell,
            first_line=self.first_line,
        )
        if self.output is not None:
            check_param_names({key for item in items for key in item.params})
        if self.shard is not None:
            items = [item for item in items if item.index % self.shard[1] == self.shard[0]]
        return chosen, items

    def _name(self) -> str:
        """The ledger's name: the one given (or a dated one), a shard's own for a shard."""
        chosen = check_name(self.name) if self.name is not None else default_name()
        if self.shard is None:
            return chosen
        if self.name is None:
            raise ScriptError("a sharded sweep needs a name: every shard writes under it")
        return shard_name(chosen, check_shard(self.shard))

    def start(self) -> Sweep:
        """Check everything, write the ledger, start the scheduler; the running sweep."""
        output_url = output_text(self.output) if self.output is not None else None
        chosen, items = self.plan()
        dataset = chosen if self.shard is None or self.name is None else check_name(self.name)
        target = None
        if output_url is not None:
            target = open_output(
                output_url,
                self.storage_options,
                dataset,
                shard=self.shard,
                keep_local=self.keep_local,
            )
        rows = [
            (item.index, unit, params_json(item.params), json.dumps(item.script))
            for unit, group in enumerate(chunk(items, self.pack))
            for item in (_storable(each, self.portrait) for each in group)
        ]
        ledger = Ledger.create(ledger_path(chosen), self._meta(chosen, dataset, target), rows)
        return Sweep(chosen, ledger, output=target).start()

    def _meta(self, chosen: str, dataset: str, target: SweepOutput | None) -> dict[str, Any]:
        """What the ledger keeps, so ``Sweep.open`` continues the sweep as it was."""
        settings = SweepSettings(
            portrait=self.portrait,
            pack=self.pack,
            download=True if target is not None else self.download,
            max_in_flight=self.max_in_flight,
            max_video_seconds=budget.check_budget(self.max_video_seconds),
            output=target.store.url if target is not None else None,
            dataset=dataset if target is not None else None,
            shard=self.shard if target is not None else None,
            keep_local=self.keep_local,
        )
        return {
            "name": chosen,
            "created": time.time(),
            "version": LEDGER_VERSION,
            **settings_meta(settings),
        }


def prepare(
    template: Any,
    params: Any,
    *,
    name: str | None = None,
    pack: int = 1,
    max_in_flight: int | None = None,
    allow_large: bool = False,
    namespace: Mapping[str, Any] | None = None,
    from_cell: bool = False,
    first_line: int = 1,
    output: str | None = None,
    max_video_seconds: float | None = None,
    shard: tuple[int, int] | None = None,
) -> tuple[str, list[PlannedItem]]:
    """Check everything about a sweep without sending or writing anything.

    With ``shard=(I, N)`` the items are those whose index modulo N is I, and the
    name returned is the shard's ledger name (``NAME_shardIofN``).
    """
    return SweepRequest(
        template,
        params,
        name=name,
        pack=pack,
        max_in_flight=max_in_flight,
        allow_large=allow_large,
        namespace=namespace,
        from_cell=from_cell,
        first_line=first_line,
        output=output,
        max_video_seconds=max_video_seconds,
        shard=shard,
    ).plan()


def sweep(
    template: Any,
    params: Any,
    *,
    name: str | None = None,
    portrait: bool = True,
    max_in_flight: int | None = None,
    pack: int = 1,
    download: bool = True,
    allow_large: bool = False,
    namespace: Mapping[str, Any] | None = None,
    from_cell: bool = False,
    first_line: int = 1,
    output: str | os.PathLike[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    max_video_seconds: float | None = None,
    keep_local: bool = True,
    shard: tuple[int, int] | None = None,
) -> Sweep:
    """Run ``template`` once per item of ``params``; returns the running :class:`Sweep` at once.

    Every item is checked first: nothing is sent or written when one is bad. The
    Sweeps reference page describes every keyword.

    :param template: timeline text, JSON, or a list of entries with ``{placeholders}``.
    :param params: a list of dicts, a dict of lists (their product) or a DataFrame.
    :param name: the sweep's name (a plain identifier), also its ledger's.
    :returns: the running :class:`~odyssey_jupyter.Sweep`.
    :raises OdysseyError: bad input, naming the item; nothing was sent or written.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.sweep("0s start a {animal} in the rain\\n2s end", {"animal": ["cat", "fox"]})
        print(s.wait()["completed"], "of", len(s.items))
    """
    return SweepRequest(
        template,
        params,
        name=name,
        portrait=portrait,
        max_in_flight=max_in_flight,
        pack=pack,
        download=download,
        allow_large=allow_large,
        namespace=namespace,
        from_cell=from_cell,
        first_line=first_line,
        output=output,
        storage_options=storage_options,
        max_video_seconds=max_video_seconds,
        keep_local=keep_local,
        shard=shard,
    ).start()
