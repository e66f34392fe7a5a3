"""Sweeps: one template, many params, run under the account's limits and kept in a ledger.

``sweep(template, params)`` checks every item first (nothing is sent or written
when one is bad), writes the ledger, and starts the scheduler on the runtime's
loop thread; it returns the :class:`Sweep` at once.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.sweeps import budget
from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path, refuse_planted
from odyssey_jupyter.sweeps.manifest import check_param_names
from odyssey_jupyter.sweeps.plan import (
    PlannedItem,
    check_name,
    chunk,
    params_json,
    plan_items,
)
from odyssey_jupyter.sweeps.shard import check_shard, shard_name
from odyssey_jupyter.sweeps.storage import output_text
from odyssey_jupyter.sweeps.sweep import Sweep, SweepFailedError, SweepItem
from odyssey_jupyter.text.advice import say


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


def default_name() -> str:
    return time.strftime("sweep_%Y%m%d_%H%M%S_") + secrets.token_hex(2)


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
    chosen = check_name(name) if name is not None else default_name()
    budget.check_budget(max_video_seconds)
    if shard is not None:
        if name is None:
            raise ScriptError("a sharded sweep needs a name: every shard writes under it")
        chosen = shard_name(chosen, check_shard(shard))
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ScriptError(f"pack must be a whole number of 1 or more, not {pack!r}")
    if max_in_flight is not None and (
        isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1
    ):
        raise ScriptError(
            f"max_in_flight must be a whole number of 1 or more, not {max_in_flight!r}"
        )
    path = ledger_path(chosen)
    refuse_planted(path)
    if path.exists():
        raise ScriptError(
            f"a sweep named {chosen!r} already exists",
            hint=say("sweep_exists", sweep=chosen),
        )
    items = plan_items(
        template,
        params,
        namespace=namespace,
        allow_large=allow_large,
        from_cell=from_cell,
        first_line=first_line,
    )
    if output is not None:
        check_param_names({key for item in items for key in item.params})
    if shard is not None:
        items = [item for item in items if item.index % shard[1] == shard[0]]
    return chosen, items


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
    """Run ``template`` once per item of ``params``; returns the running :class:`Sweep`.

    ``template``: timeline text with ``{placeholders}`` (as in the cell magic) or a
    list of entries whose strings hold them. ``params``: a list of dicts, a dict
    of lists (their product) or a pandas DataFrame. ``pack=K`` sends up to K items
    per job (``scripts=``). ``max_in_flight`` defaults to the server's declared
    cap, else the ``sweep_max_in_flight`` setting (10, the hosted queue cap).
    ``namespace`` supplies placeholders the params do not (the magic passes the
    notebook's variables). A template is data and is never run: timeline text, JSON
    or entries; ``from_cell=True`` (set by the ``%%odyssey_simulate --sweep`` magic
    for the cell its user wrote) alone lets a Python-form template be evaluated. A text
    template's lines are numbered from ``first_line``.

    ``output``: a folder or fsspec URL (``s3://bucket/prefix``) where the recordings and
    a Parquet manifest go, under ``OUTPUT/NAME/``; the store is checked before anything
    is sent. ``storage_options`` go to fsspec and are never kept. ``keep_local=False``
    deletes each local copy once the store holds it. ``max_video_seconds``: a budget;
    the sweep pauses before passing it. ``shard=(I, N)``: only the items whose index
    modulo N is I, with their own ledger and manifest shard.

    :param template: timeline text, JSON, or a list of entries with ``{placeholders}``.
    :param params: a list of dicts, a dict of lists (their product) or a DataFrame.
    :param name: the sweep's name (a plain identifier), also its ledger's.
    :returns: the running :class:`~odyssey_jupyter.Sweep`.
    :raises OdysseyError: bad input, naming the item; nothing was sent or written.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        s = oj.sweep(
            "0s start a {animal} in the rain\\n2s end",
            {"animal": ["cat", "fox"]},
            name="rainy_animals",
        )
        s.wait()
        print(s.counts["completed"], "of", s.counts["total"])
    """
    output_url = output_text(output) if output is not None else None
    chosen, items = prepare(
        template,
        params,
        name=name,
        pack=pack,
        max_in_flight=max_in_flight,
        allow_large=allow_large,
        namespace=namespace,
        from_cell=from_cell,
        first_line=first_line,
        output=output_url,
        max_video_seconds=max_video_seconds,
        shard=shard,
    )
    dataset = check_name(name) if shard is not None and name is not None else chosen
    target = None
    if output_url is not None:
        from odyssey_jupyter.sweeps.output import open_output

        target = open_output(
            output_url, storage_options, dataset, shard=shard, keep_local=keep_local
        )
    items = [_storable(item, bool(portrait)) for item in items]
    rows = []
    for unit, group in enumerate(chunk(items, pack)):
        for item in group:
            rows.append((item.index, unit, params_json(item.params), json.dumps(item.script)))
    meta = {
        "name": chosen,
        "created": time.time(),
        "portrait": bool(portrait),
        "pack": pack,
        "download": bool(download),
        "max_in_flight": max_in_flight,
        "version": 1,
    }
    if max_video_seconds is not None:
        meta["max_video_seconds"] = budget.check_budget(max_video_seconds)
    if target is not None:
        meta.update(
            output=target.store.url,
            dataset=dataset,
            shard=list(shard) if shard else None,
            keep_local=keep_local,
            download=True,
        )
    ledger = Ledger.create(ledger_path(chosen), meta, rows)
    running = Sweep(chosen, ledger)
    running.output = target
    return running.start()


__all__ = ["Sweep", "SweepFailedError", "SweepItem", "prepare", "sweep"]
