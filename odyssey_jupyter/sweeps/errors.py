"""What a sweep raises: one of its items failed, or another process is running it.

Both belong to the package's one exception tree (they derive from ``OdysseyError``) and
are exported from ``odyssey_jupyter``; they live beside the sweeps that raise them.
"""

from __future__ import annotations

from typing import Any

from odyssey_jupyter.errors import OdysseyError


class SweepFailedError(OdysseyError):
    """A sweep ended with failed or unknown items, and its waiter asked to be told.

    Raised by ``Sweep.wait(raise_on_failure=True)``; the sweep itself is kept as it is,
    so ``retry_failed()`` and ``resolve()`` can still settle the items it names.

    :param message: how many items failed, and the first one's error.
    :param failures: one ``results()`` dict per failed or unknown item.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        try:
            s.wait(raise_on_failure=True)   # s: from oj.sweep(...) or oj.Sweep.open(...)
        except oj.SweepFailedError as exc:
            print(len(exc.failures), "to look at; first:", exc.failures[0]["error"])
    """

    def __init__(self, message: str, failures: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.failures = failures


class SweepBusyError(OdysseyError):
    """The sweep is already being run by another live process (named in the message).

    Two processes scheduling one sweep would send its pending items twice, so a second
    one is refused until the first has stopped.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        try:
            s = oj.Sweep.open("rainy_animals")
        except oj.SweepBusyError as exc:
            print(exc)   # which process runs it; stop it there, or wait for it
    """
