"""Cancelling a job, and what the request came to: one rule for every Cancel.

``Job.cancel``, the status widget's button and the job browser all ask through
:func:`cancel_job`, so a job past cancelling (the server's 400) reads the same
everywhere: an answer, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.errors import InvalidRequestError
from odyssey_jupyter.protocol.types import SimulationJobDetail

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey

_REFUSED_WORDS = {"processing": "rendering", "running": "rendering"}


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancel request came to: the line a button, ``job.cancel()`` or the browser shows.

    ``refused`` means the server answered 400 "cannot be cancelled" for a job that is
    still active (the hosted service cancels only pending or dispatched jobs): the
    job goes on and finishes on its own. ``reason`` is the server's explanation.
    """

    job_id: str
    status: str
    """The job's status once the request was answered."""
    refused: bool = False
    reason: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled" and not self.refused

    @property
    def message(self) -> str:
        if self.refused:
            state = _REFUSED_WORDS.get(self.status, self.status)
            return (
                f"Job {self.job_id} is already {state} and can no longer be cancelled; "
                "it will finish on its own."
            )
        if self.status == "cancelled":
            return f"Job {self.job_id} cancelled."
        return f"Job {self.job_id} is already {self.status}; there was nothing to cancel."

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


async def cancel_job(client: Odyssey, job_id: str) -> tuple[CancelOutcome, SimulationJobDetail]:
    """Ask the server to cancel ``job_id``; a 400 "cannot be cancelled" is an answer.

    The one home of that rule for every Cancel (``Job.cancel``, the status widget's
    button, the job browser). Returns the outcome and the job's detail after it; any
    other failure (404, 403, the network) raises as usual.
    """
    try:
        await client.cancel_simulation(job_id)
    except InvalidRequestError as exc:
        if exc.status_code not in (None, 400):
            raise
        detail = await client.get_simulate_status(job_id)
        status = str(detail.status)
        if detail.is_terminal:  # it ended meanwhile: the 400 is only "too late"
            return CancelOutcome(job_id, status), detail
        reason = exc.detail if isinstance(exc.detail, str) else exc.message
        return CancelOutcome(job_id, status, refused=True, reason=str(reason)), detail
    detail = await client.get_simulate_status(job_id)
    return CancelOutcome(job_id, str(detail.status)), detail
