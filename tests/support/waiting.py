"""The one wait for a condition that another thread, process or engine brings about."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    interval: float = 0.05,
) -> None:
    """Poll ``predicate`` until it holds; AssertionError naming ``what`` after ``timeout`` s.

    The deadline is generous on purpose: it only bounds a hung test, never measures one.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:g} s: {what}")
        time.sleep(interval)
