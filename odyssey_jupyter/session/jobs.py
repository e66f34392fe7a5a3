"""The synchronous face of a simulation: ``simulate()`` and the ``Job`` handle it returns.

``simulate`` validates the script in the caller (bad input raises at once and
nothing is sent) and returns a ``Job`` within microseconds; image conversion,
the local engine's start and the POST happen on the runtime's loop thread, and
the shared ``Watcher`` follows the job from there. Every field of a ``Job`` is
written on the loop thread only; listeners are called there after each change.
Blocking methods (``wait``, ``refresh``, ``cancel``, ``recordings``) wait in
short slices, so Ctrl-C interrupts them within a tenth of a second and leaves
the job running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.errors import JobTimeoutError, OdysseyError, ScriptError
from odyssey_jupyter.protocol.outcome import outcome_error
from odyssey_jupyter.protocol.submission import validated_source
from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail
from odyssey_jupyter.script.rules import Script, ScriptWarning, script_warnings
from odyssey_jupyter.session import at_exit, history
from odyssey_jupyter.session import config as config_module
from odyssey_jupyter.session.cancel import CancelOutcome, cancel_job
from odyssey_jupyter.session.job_files import download_streams
from odyssey_jupyter.session.runtime import THREAD_NAME, Runtime, get_runtime, wait_in_slices
from odyssey_jupyter.session.watch_timing import WatchTiming
from odyssey_jupyter.session.watcher import Watcher

if TYPE_CHECKING:
    from odyssey_jupyter.client.odyssey import Odyssey
    from odyssey_jupyter.session.recording import LocalRecording

log = logging.getLogger(__name__)

PHASES = ("starting engine", "submitting", "watching", "downloading", "done", "error")
FINAL_PHASES = frozenset({"done", "error"})
FOLLOWED_PHASES = frozenset({"starting engine", "submitting", "watching"})
"""Phases before the job's end was seen: a terminal detail then starts the finishing step."""

Listener = Callable[["Job"], None]
Locate = Callable[[ScriptError], ScriptError]
"""Gives a ScriptError found on the loop (an image that does not decode) its cell line."""

_registry: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


class Job(WatchTiming):
    """A simulation job seen from this kernel: its phase, last known status and recordings.

    ``phase`` is this side's pipeline: ``starting engine`` -> ``submitting`` ->
    ``watching`` -> (``downloading``) -> ``done``; ``error`` when the submission,
    the poll (404/403) or the download failed. How the job itself ended is in
    ``status`` (``completed``, ``failed``, ``cancelled``); a failed job still
    reaches phase ``done``.

    Made by :func:`~odyssey_jupyter.simulate` or the magic (``-o NAME``); its
    constructor's arguments are the sync layer's.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        job = oj.simulate([
            {"timestamp_ms": 0, "start": {"prompt": "A red kite over a beach"}},
            {"timestamp_ms": 2000, "end": {}},
        ])
        job.wait(timeout=120)
        print(job.job_id, job.status)
    """

    def __init__(
        self,
        *,
        job_id: str | None = None,
        scripts: list[Script] | None = None,
        portrait: bool = True,
        download: bool = True,
        runtime: Runtime | None = None,
        phase: str = "submitting",
        warnings: Sequence[ScriptWarning] = (),
        warnings_shown: bool = False,
        locate: Locate | None = None,
    ) -> None:
        self.job_id: str | None = job_id
        self.phase: str = phase
        self.status: JobStatus | None = None
        self.detail: SimulationJobDetail | None = None
        self.error: BaseException | None = None
        self.reconnecting: bool = False
        self.scripts: list[Script] | None = scripts
        self.portrait: bool = portrait
        self.created: float = time.time()
        self.local_recordings: list[LocalRecording] | None = None
        self.download: bool = download
        self.cancel_outcome: CancelOutcome | None = None
        """What the last cancel request came to (a refused one is still an answer)."""
        self.background: bool = False
        """Followed in bulk (a sweep's job): the watcher never polls faster for it."""
        self.warnings: tuple[ScriptWarning, ...] = tuple(warnings)
        """Advice on the script (``script.script_warnings``); the job was sent all the same."""
        self.warnings_shown: bool = warnings_shown
        """The cell shows the warnings already (the magic's block): its widget does not."""
        self._locate = locate
        self._runtime = runtime
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._final = threading.Event()
        self._submit_future: concurrent.futures.Future[None] | None = None
        self._download_lock: asyncio.Lock | None = None
        # watcher bookkeeping (loop thread only)
        self.needs_detail = False
        WatchTiming.__init__(self, scripts)
        self._poll_error: BaseException | None = None

    # ------------------------------------------------------------------ creation

    @classmethod
    def from_id(cls, job_id: str, *, download: bool = False) -> Job:
        """A handle on an existing job, watched until it ends.

        Returns the same object when this process already has a handle on that
        job. ``download=True`` fetches the recordings as soon as it has completed;
        otherwise ``recordings()`` fetches them on first use.
        """
        if not isinstance(job_id, str) or not job_id.strip():
            raise ValueError(f"a job id must be a non-empty string, not {job_id!r}")
        with _registry_lock:
            existing = _registry.get(job_id)
            if existing is not None:
                if download and not existing.download:
                    existing.download = True
                return existing
            runtime = get_runtime()
            job = cls(job_id=job_id, download=download, runtime=runtime, phase="watching")
            job.needs_detail = True
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            done.set_result(None)
            job._submit_future = done
            _registry[job_id] = job
        Watcher.of(runtime).watch(job)
        return job

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Call ``fn(job)`` on the loop thread after every change; returns an unsubscribe."""
        with self._listeners_lock:
            self._listeners.append(fn)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return unsubscribe

    def _notify(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(self)
            except Exception:  # one broken listener must not starve the others
                log.exception("a listener of job %s raised; the others still run", self.job_id)

    def _set(self, **changes: Any) -> None:
        """Change fields (loop thread) and notify listeners once if anything changed."""
        dirty = False
        for name, value in changes.items():
            if getattr(self, name) is not value and getattr(self, name) != value:
                setattr(self, name, value)
                dirty = True
        if dirty:
            self._notify()
        if self.phase in FINAL_PHASES:
            # after notifying: when wait() returns, every listener (the widget) has seen the end
            self._final.set()

    # ------------------------------------------------------------------ watched (loop thread)

    def apply(self, detail: SimulationJobDetail) -> bool:
        """Take a fresh detail; returns True when the status changed.

        A terminal status is final: a slower, older answer never undoes it.
        """
        self.needs_detail = False
        self.last_detail_at = time.monotonic()
        if self.detail is not None and self.detail.is_terminal and not detail.is_terminal:
            return False
        old_status = self.status
        self.note_running(detail)
        if detail != self.detail:
            self._set(detail=detail, status=detail.status)
        return old_status != detail.status

    def listed_as(self, status: JobStatus) -> None:
        self._set(status=status)

    def finishing(self) -> Coroutine[Any, Any, None] | None:
        """The step that ends a job seen terminal (download when asked, then done); once."""
        if self.detail is None or not self.detail.is_terminal or self.phase not in FOLLOWED_PHASES:
            return None
        self._set(phase="downloading" if self._will_download() else self.phase)
        return self._finish()

    async def _finish(self) -> None:
        try:
            if self.phase == "downloading":
                client = await self.runtime.get_client()
                await self._download_recordings(client)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("downloading the recordings of job %s failed: %s", self.job_id, exc)
            self._set(error=exc, phase="error")
            return
        self._set(phase="done")

    def mark_reconnecting(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._poll_error = exc
            self._set(reconnecting=True, error=exc)
        elif not self.reconnecting:
            self._set(reconnecting=True)

    def poll_failed(self, exc: BaseException) -> None:
        self._poll_error = exc
        self._set(error=exc, reconnecting=False)

    def poll_recovered(self) -> None:
        if not self.reconnecting and self._poll_error is None:
            return
        clear = self.error is self._poll_error
        self._poll_error = None
        if clear:
            self._set(reconnecting=False, error=None)
        else:
            self._set(reconnecting=False)

    def give_up(self, exc: BaseException) -> None:
        self._set(error=exc, phase="error", reconnecting=False)

    def _will_download(self) -> bool:
        return bool(self.download) and self.status == JobStatus.COMPLETED

    # ------------------------------------------------------------------ runtime

    @property
    def runtime(self) -> Runtime:
        runtime = self._runtime
        if runtime is None or not runtime.running:
            runtime = self._runtime = get_runtime()
        return runtime

    def _observe(self, detail: SimulationJobDetail) -> None:
        """A detail this handle fetched itself, applied the way the watcher applies its own."""
        Watcher.of(self.runtime).observe(self, detail)

    async def _submitted(self) -> str:
        """Wait (on the loop) until the POST is done; the job id, or the submission error."""
        future = self._submit_future
        if future is not None and not future.done():
            await asyncio.shield(asyncio.wrap_future(future))
        if self.job_id is None:
            if self.error is not None:
                raise self.error
            raise OdysseyError("the job was never submitted")
        return self.job_id

    # ------------------------------------------------------------------ submission

    async def send(self, request: dict[str, Any]) -> None:
        """On the loop: start the engine if needed, POST (the client converts images), watch."""
        try:
            client = await self.runtime.get_client()
            if client.needs_engine_start():
                self._set(phase="starting engine")
                await client.start_engine()  # its own phase, so the POST is timed alone
                self._set(phase="submitting")
            detail = await client.simulate(**request)
        except asyncio.CancelledError:
            self._set(error=OdysseyError("the submission was cancelled"), phase="error")
            raise
        except ScriptError as exc:  # a bad image: named by its cell line where there is one
            self._set(error=self._locate(exc) if self._locate else exc, phase="error")
            return
        except Exception as exc:
            self._set(error=exc, phase="error")
            return
        self.job_id = detail.job_id
        with _registry_lock:
            _registry.setdefault(detail.job_id, self)
        self.apply(detail)
        self._set(phase="watching")
        try:
            history.record(
                detail.job_id,
                scripts=self.scripts,
                portrait=self.portrait,
                api_url=_api_url(client),
                created=self.created,
            )
        except Exception:
            log.exception("could not record job %s in the local history", detail.job_id)
        if detail.is_terminal:
            self._observe(detail)
        else:
            Watcher.of(self.runtime).watch(self)

    # ------------------------------------------------------------------ blocking API

    def wait(
        self, timeout: float | None = None, *, raise_on_failure: bool = False
    ) -> SimulationJobDetail:
        """Block until the job has ended (and its recordings are downloaded); the final detail.

        Ctrl-C stops waiting and leaves the job running. A failed submission is
        re-raised. With ``raise_on_failure`` a failed, cancelled or unfinished
        (``timeout``) job raises ``JobFailedError``/``JobCancelledError``/
        ``JobTimeoutError`` carrying the detail.
        """
        if not self._final.is_set() and threading.current_thread().name == THREAD_NAME:
            raise RuntimeError("Job.wait() would block the odyssey-loop thread; use a listener")
        wait_in_slices(self._final.wait, self._final.is_set, timeout)
        if self.job_id is None and self.error is not None:
            raise self.error
        detail = self.detail
        if not self._final.is_set():
            if raise_on_failure or detail is None:
                state = self.status or self.phase
                raise JobTimeoutError(
                    f"job {self.job_id or '(not submitted yet)'} is still {state} after "
                    f"{timeout:g} s; it keeps running (wait again, or cancel it)",
                    detail,
                )
            return detail
        if detail is None:  # the poll gave up (404/403) before any detail
            raise self.error or OdysseyError(f"job {self.job_id} has no detail")
        if raise_on_failure:
            failure = outcome_error(detail)
            if failure is not None:
                raise failure
            if self.phase == "error" and self.error is not None:
                raise self.error
        return detail

    def refresh(self) -> SimulationJobDetail:
        """Ask the API for the job's detail now (and tell the listeners)."""
        return self.runtime.run(self._refresh_async())

    async def _refresh_async(self) -> SimulationJobDetail:
        job_id = await self._submitted()
        client = await self.runtime.get_client()
        detail = await client.get_simulate_status(job_id)
        self._observe(detail)
        return detail

    def cancel(self) -> CancelOutcome:
        """Cancel the job and wait for the API's answer; a finished job is left alone.

        Returns what the request came to: a job that is already rendering, which the
        server no longer cancels (400), is an answer (``refused``), not an error.
        """
        return self.runtime.run(self._cancel_async())

    def cancel_async(self) -> concurrent.futures.Future[None]:
        """Cancel without blocking (button handlers); the future holds the outcome.

        The outcome's answer (a refusal, say) is in ``cancel_outcome`` when it is done.
        """
        return self.runtime.submit(self._cancel_quietly())

    async def _cancel_quietly(self) -> None:
        await self._cancel_async()

    async def _cancel_async(self) -> CancelOutcome:
        job_id = await self._submitted()
        if self.status is not None and self.status.is_terminal:
            return CancelOutcome(job_id, str(self.status))
        client = await self.runtime.get_client()
        try:
            outcome, detail = await cancel_job(client, job_id)
        except Exception as exc:
            self._set(error=exc)  # a cancel button has no caller to raise to: show it
            raise
        self._set(cancel_outcome=outcome)
        self._observe(detail)
        return outcome

    def recordings(self, kinds: Sequence[str] | None = None) -> list[LocalRecording]:
        """The job's recordings on disk, downloading whatever is missing first.

        Files are fetched with fresh URLs (by stream id), so this also repairs a
        cache whose files were deleted. ``kinds`` defaults to every artifact (or
        video + events when ``download_previews`` is off); the video is always included.
        """
        return self.runtime.run(self._recordings_async(kinds))

    async def _recordings_async(self, kinds: Sequence[str] | None) -> list[LocalRecording]:
        job_id = await self._submitted()
        client = await self.runtime.get_client()
        if self.detail is None or not self.detail.is_terminal:
            fresh = await client.get_simulate_status(job_id)
            self._observe(fresh)
        current = self.detail
        if current is None or not current.is_terminal:
            state = current.status if current is not None else "unknown"
            raise OdysseyError(
                f"job {job_id} is still {state}: its recordings exist once it has "
                "finished (job.wait() first)"
            )
        return await self._download_recordings(client, kinds)

    async def _download_recordings(
        self, client: Odyssey, kinds: Sequence[str] | None = None
    ) -> list[LocalRecording]:
        """Fetch missing files of every stream, then publish ``local_recordings`` (loop)."""
        detail = self.detail
        job_id = self.job_id
        if detail is None or job_id is None:
            return []
        if self._download_lock is None:
            self._download_lock = asyncio.Lock()
        async with self._download_lock:
            found = await download_streams(client, job_id, detail, kinds)
            if self.phase == "error" and detail.status == JobStatus.COMPLETED:
                self._set(local_recordings=found, phase="done", error=None)  # repaired
            else:
                self._set(local_recordings=found)
            return found

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        if self.job_id is None:
            state = f"({self.phase})"
            if self.error is not None:
                state += f": {type(self.error).__name__}"
            return f"<Job {state}>"
        parts = [str(self.status) if self.status is not None else self.phase]
        if self.detail is not None and self.detail.streams:
            count = len(self.detail.streams)
            parts.append(f"{count} stream{'s' if count != 1 else ''}")
        if self.detail is not None and self.detail.is_active and self.detail.progress is not None:
            parts.append(f"{self.detail.progress:.0%}")
        if self.reconnecting:
            parts.append("reconnecting")
        if self.phase in ("downloading", "error"):
            parts.append(self.phase)
        return f"<Job {self.job_id} {', '.join(parts)}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


# --------------------------------------------------------------------------- simulate


def simulate(
    script: Any = None,
    *,
    scripts: Any = None,
    script_url: str | None = None,
    portrait: bool = True,
    bypass_prompt_expansion: bool | None = None,
    download: bool = True,
) -> Job:
    """Submit a simulation and return its ``Job`` at once; the loop thread does the rest.

    Exactly one of ``script`` (one script), ``scripts`` (a batch) or
    ``script_url``. The script is validated here, so a mistake raises
    ``ScriptError`` before anything is sent. With ``download`` the recordings are
    fetched as soon as the job completes (``job.local_recordings``). Advice on the
    script (interactions closer than 3 s) is on ``job.warnings``.

    :param script: one script: a list of entries such as
        ``{"timestamp_ms": 0, "start": {"prompt": "..."}}``.
    :param scripts: a batch: a list of scripts, one stream each, all in one job.
    :param script_url: the URL of a script the API fetches itself.
    :param portrait: 704x1280 frames (the default); ``False`` for 1280x704.
    :param bypass_prompt_expansion: passed to the API as it is (``None`` leaves it out).
    :param download: download the recordings when the job completes.
    :returns: the :class:`~odyssey_jupyter.Job`, already submitted or on its way.
    :raises ScriptError: the script is malformed; nothing was sent.

    .. rubric:: Example

    .. code-block:: python

        import odyssey_jupyter as oj

        job = oj.simulate([
            {"timestamp_ms": 0, "start": {"prompt": "A lighthouse at dusk"}},
            {"timestamp_ms": 3000, "end": {}},
        ])
        job.wait()
        print(job.status, job.local_recordings[0].video_path)
    """
    clean = validated_source(script, scripts, script_url)
    batch = scripts is not None
    found = script_warnings(clean, batch=batch) if clean is not None and warnings_on() else ()
    return submit_validated(
        clean,
        batch=batch,
        script_url=script_url,
        portrait=portrait,
        bypass_prompt_expansion=bypass_prompt_expansion,
        download=download,
        warnings=found,
    )


def warnings_on() -> bool:
    """The ``script_warnings`` setting (``ODYSSEY_SCRIPT_WARNINGS``)."""
    return bool(config_module.get_config().script_warnings)


def submit_validated(
    clean: list[Script] | None,
    *,
    batch: bool,
    script_url: str | None = None,
    portrait: bool = True,
    bypass_prompt_expansion: bool | None = None,
    download: bool = True,
    warnings: Sequence[ScriptWarning] = (),
    warnings_shown: bool = False,
    locate: Locate | None = None,
) -> Job:
    """``simulate`` for scripts already validated (the magic's cell): the Job, at once.

    ``warnings`` become ``job.warnings`` (``warnings_shown``: the caller displayed
    them, so the job's own display leaves them out); ``locate`` names the cell line of a bad image
    found while the loop converts it, so the widget and the raised error say the same.
    """
    request: dict[str, Any] = {"portrait": bool(portrait)}
    if bypass_prompt_expansion is not None:
        request["bypass_prompt_expansion"] = bypass_prompt_expansion
    if clean is None:
        request["script_url"] = script_url
    elif batch:
        request["scripts"] = clean
    else:
        request["script"] = clean[0]
    runtime = get_runtime()
    job = Job(
        scripts=clean,
        portrait=bool(portrait),
        download=download,
        runtime=runtime,
        warnings=warnings,
        warnings_shown=warnings_shown,
        locate=locate,
    )
    job._submit_future = runtime.submit(job.send(request))
    at_exit.track(job, job._submit_future)  # a kernel exiting now finishes this POST first
    return job


def _api_url(client: Odyssey) -> str | None:
    try:
        return str(client.api_url)
    except Exception:
        return None


def wait_all(jobs: Sequence[Job], timeout: float | None = None) -> list[SimulationJobDetail]:
    """Wait for several jobs (interruptible); their final details, in order."""
    deadline = None if timeout is None else time.monotonic() + timeout
    results = []
    for job in jobs:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        results.append(job.wait(remaining))
    return results


__all__ = ["PHASES", "Job", "simulate", "submit_validated", "wait_all"]
