"""The render worker process: takes one stream at a time, reports back on a queue.

Messages to the engine (tuples, first item the kind):
``("ready", slot)``, ``("started", slot, stream_id)``, ``("progress", slot, stream_id, p)``,
``("done", slot, stream_id, frame_count, duration_seconds, render_seconds)``,
``("failed", slot, stream_id, message)``, ``("cancelled", slot, stream_id)``.
A worker stops when told (``None``), or on its own when the engine process is gone.
"""

from __future__ import annotations

import os
import queue
import signal
from typing import Any


def worker_main(slot: int, tasks: Any, results: Any, cancel: Any, parent_pid: int) -> None:
    """Entry point of a worker process (``multiprocessing`` target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. a process-group kill: same
    from odyssey_jupyter.local.render import RenderCancelled, RenderFailed, render_stream

    def orphaned() -> bool:
        return os.getppid() != parent_pid

    results.put(("ready", slot))
    while True:
        try:
            spec = tasks.get(timeout=1.0)
        except queue.Empty:
            if orphaned():
                return
            continue
        if spec is None:
            return
        cancel.clear()
        sid = spec.stream_id

        def stop() -> bool:
            return bool(cancel.is_set()) or orphaned()

        results.put(("started", slot, sid))

        def progress(fraction: float, sid: str = sid) -> None:
            results.put(("progress", slot, sid, fraction))

        try:
            result = render_stream(spec, should_stop=stop, on_progress=progress)
        except RenderCancelled:
            results.put(("cancelled", slot, sid))
        except RenderFailed as exc:
            results.put(("failed", slot, sid, str(exc)))
        except Exception as exc:
            results.put(("failed", slot, sid, f"the renderer failed: {type(exc).__name__}: {exc}"))
        else:
            results.put(
                (
                    "done",
                    slot,
                    sid,
                    result.frame_count,
                    result.duration_seconds,
                    result.render_seconds,
                )
            )
        if orphaned():
            return
