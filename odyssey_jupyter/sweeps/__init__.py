"""Sweeps: one template, many params, run under the account's limits and kept in a ledger.

``sweep(template, params)`` checks every item first (nothing is sent or written
when one is bad), writes the ledger, and starts the scheduler on the runtime's
loop thread; it returns the :class:`Sweep` at once.
"""

from __future__ import annotations

from odyssey_jupyter.sweeps.handle import Sweep
from odyssey_jupyter.sweeps.item import SweepItem
from odyssey_jupyter.sweeps.start import prepare, sweep
from odyssey_jupyter.sweeps.states import ItemState, SweepState

__all__ = ["ItemState", "Sweep", "SweepItem", "SweepState", "prepare", "sweep"]
