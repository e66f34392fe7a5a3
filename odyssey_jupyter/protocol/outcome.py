"""What waiting with ``raise_on_failure`` raises for a job that ended badly.

One home for the rule, so ``Odyssey.wait`` and ``Job.wait`` say the same thing.
"""

from __future__ import annotations

from odyssey_jupyter.errors import JobCancelledError, JobError, JobFailedError
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail


def outcome_error(detail: SimulationJobDetail) -> JobError | None:
    """The error of a job that ended failed or cancelled; ``None`` for any other status."""
    if detail.status == JobStatus.FAILED:
        reason = detail.error_message or "no reason given"
        return JobFailedError(f"job {detail.job_id} failed: {reason}", detail)
    if detail.status == JobStatus.CANCELLED:
        return JobCancelledError(f"job {detail.job_id} was cancelled", detail)
    return None
