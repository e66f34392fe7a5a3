"""``%%odyssey_simulate --sweep PARAMS``: the cell body is a sweep's template.

Kept apart from :mod:`odyssey_jupyter.ipython.magics` so that the magic stays thin. Each
``{name}`` in the body is taken from the item's params first, then from the
notebook's variables. ``--dry-run`` checks every item and shows how many items,
jobs and seconds of video it would make, and the first items' scripts.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from odyssey_jupyter.ipython.magic_args import SimulateArgs, WaitInterrupted
from odyssey_jupyter.script.cell import MAGIC_BODY_FIRST_LINE
from odyssey_jupyter.session import config as config_module


def run_sweep_cell(args: SimulateArgs, cell: str, namespace: dict[str, Any]) -> None:
    """Plan (``--dry-run``) or start the sweep; with ``--wait`` block until it is over."""
    from odyssey_jupyter.display.sweep.live import show_sweep
    from odyssey_jupyter.display.sweep.plan import SweepPlan
    from odyssey_jupyter.sweeps import prepare, sweep

    assert args.sweep is not None
    if args.sweep not in namespace:
        raise UsageError(
            f"no variable named '{args.sweep}'; define the params in a cell above "
            "(a list of dicts, a dict of lists or a DataFrame)"
        )
    params = namespace[args.sweep]
    shared: dict[str, Any] = {
        "name": args.sweep_name,
        "pack": args.pack,
        "max_in_flight": args.max_in_flight,
        "namespace": namespace,
        "from_cell": True,
        "first_line": MAGIC_BODY_FIRST_LINE,
        "output": args.store,
        "max_video_seconds": args.max_video_seconds,
    }
    if args.dry_run:
        name, items = prepare(cell, params, **shared)
        if args.output:
            namespace[args.output] = [item.script for item in items]
        display(SweepPlan(name, items, pack=args.pack))  # type: ignore[no-untyped-call]
        return
    running = sweep(cell, params, portrait=args.portrait, download=args.download, **shared)
    if args.output:
        namespace[args.output] = running
    show_sweep(running)
    wait = args.wait if args.wait is not None else config_module.get_config().wait_by_default
    if wait:
        try:
            running.wait(args.timeout, raise_on_failure=True)
        except KeyboardInterrupt:
            raise WaitInterrupted(
                f"stopped waiting; sweep {running.name} goes on "
                f"(Sweep.open({running.name!r}) reattaches, .cancel() stops it)"
            ) from None
