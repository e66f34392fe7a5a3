"""One item of a sweep, the one model of it: its state, params, script, job and files.

The ledger reads and writes these, the scheduler changes them (together with the
ledger), and readers get copies (``Sweep.items``), so a view never sees an item
change under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.session.recordings import recordings_base
from odyssey_jupyter.sweeps.item_files import recordings_of, trusted_files
from odyssey_jupyter.sweeps.states import ItemState

if TYPE_CHECKING:
    from odyssey_jupyter.session.jobs import Job
    from odyssey_jupyter.session.recording import LocalRecording


@dataclass(slots=True)
class SweepItem:
    """One item of a sweep as it is now.

    Items packed into one job (``pack`` > 1) share a ``unit``, and with it their state,
    key, job id, error and attempts; ``script_index`` is the item's place among the
    scripts of that job.
    """

    index: int
    unit: int
    params: dict[str, Any]
    script: list[dict[str, Any]]
    state: ItemState
    key: str | None = None
    """The idempotency key its job is (or was) sent with."""
    job_id: str | None = None
    error: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    """How many times its job was sent."""
    script_index: int = 0
    job: Job | None = None
    """The handle following its job in this process, if one does."""

    @property
    def status(self) -> ItemState:
        """The item's state, under the name ``results()`` and the gallery give it."""
        return self.state

    @property
    def recordings(self) -> list[LocalRecording]:
        """The item's downloaded recordings (from the job handle, or the ledger's files)."""
        if self.job is not None and self.job.local_recordings:
            mine = [r for r in self.job.local_recordings if r.script_index == self.script_index]
            return [r for r in mine if r.video_path.is_file()]  # keep_local=False removes them
        return recordings_of(self.files, self.script_index)

    @property
    def stored_video(self) -> str | None:
        """The URI of the video in the sweep's output store (``output=``), if it is there."""
        for entry in self.files:
            stored = (entry.get("stored") or {}).get("video")
            if stored and stored.get("uri"):
                return str(stored["uri"])
        return None

    @property
    def video(self) -> Path | None:
        """The first recording's local video, if there is one."""
        recordings = self.recordings
        return recordings[0].video_path if recordings else None


def with_trusted_files(items: list[SweepItem]) -> list[SweepItem]:
    """Items read from a ledger, each with only the files ``trusted_files`` keeps."""
    base = recordings_base()
    return [replace(item, files=trusted_files(item.files, base)) for item in items]
