"""No job is silently lost when the kernel exits: submissions in flight are finished first.

A cell without ``--wait`` returns while its POST is still on the loop thread. A
headless run (nbclient, papermill, ``jupyter execute``) shuts the kernel down right
after the last cell, and the daemon loop thread dies with the process: the job was
never created, and nothing said so. So every submission is tracked until its POST
has answered, and an ``atexit`` hook (registered after the runtime's own, so it
runs before the runtime stops) waits for the ones still in flight, bounded by the
``finish_submissions_timeout`` setting. Each job that could not be submitted is
reported on stderr with its script's first prompt; the terminal that started the
kernel sees that line even after the frontend has gone.

The wait is short next to a kernel manager's patience: jupyter_client sends SIGTERM
half way through its ``shutdown_wait_time`` (5 s by default) and SIGKILL at the end,
so SIGTERM is held back while waiting, and the pending prompts are written before
the wait starts, so even a SIGKILL leaves a trace.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

MAX_REPORTED_FAILURES = 100


class Submission(Protocol):
    """What this module reads of a ``Job``."""

    job_id: str | None
    error: BaseException | None
    scripts: list[Any] | None


_pending: dict[concurrent.futures.Future[Any], Submission] = {}
_failed: list[tuple[str, str]] = []
_lock = threading.Lock()
_finished = threading.Event()
_extra_hooks: list[Callable[[], None]] = []


def first_prompt(job: Submission) -> str:
    """The first start prompt of the job's scripts, for a one-line report."""
    for script in job.scripts or []:
        for entry in script if isinstance(script, list) else []:
            start = entry.get("start") if isinstance(entry, dict) else None
            if isinstance(start, dict) and isinstance(start.get("prompt"), str):
                prompt = " ".join(str(start["prompt"]).split())
                return prompt if len(prompt) <= 80 else prompt[:79] + "…"
    return "(script from a URL)" if job.scripts is None else "(no prompt)"


def _register() -> None:
    """(Re-)register the exit hook as the newest one: atexit runs last in, first out, so
    it runs before the runtime's stop hook, while the loop thread is still there."""
    atexit.unregister(finish_at_exit)
    atexit.register(finish_at_exit)


def track(job: Submission, future: concurrent.futures.Future[Any]) -> None:
    """Follow ``job``'s submission until it has answered; failures are kept for the report."""
    with _lock:
        _pending[future] = job
    _register()
    future.add_done_callback(_done)


def _done(future: concurrent.futures.Future[Any]) -> None:
    with _lock:
        job = _pending.pop(future, None)
    if job is not None and job.job_id is None and len(_failed) < MAX_REPORTED_FAILURES:
        with _lock:
            _failed.append((first_prompt(job), _reason(job)))


def _reason(job: Submission) -> str:
    if job.error is None:
        return "the kernel exited before the submission answered"
    text = str(job.error).strip()
    return f"{type(job.error).__name__}: {text}" if text else type(job.error).__name__


def in_flight() -> list[Submission]:
    """Jobs whose submission has not answered yet."""
    with _lock:
        return [job for future, job in _pending.items() if not future.done()]


def finish(timeout: float) -> list[tuple[str, str]]:
    """Wait up to ``timeout`` s for submissions in flight; (prompt, reason) of each lost job.

    Only jobs in flight now count: one whose submission failed earlier has shown its
    error in its own cell already.
    """
    with _lock:
        _failed.clear()
        futures = [future for future in _pending if not future.done()]
    if futures:
        concurrent.futures.wait(futures, timeout=max(0.0, timeout))
    with _lock:
        lost = list(_failed)
        _failed.clear()
        lost += [(first_prompt(job), _reason(job)) for f, job in _pending.items() if not f.done()]
    return lost


def report(text: str) -> None:
    """Write ``text`` where a person will see it: the kernel's own stderr, and the frontend's.

    Inside ipykernel, ``sys.stderr`` goes to the frontend (gone in a headless run's
    last moments) and fd 2 is usually captured too; the terminal is then reached
    through the copy of the original fd that ipykernel keeps, else through fd 2. The
    text is made printable first: a prompt or a server's error cannot drive that terminal.
    """
    from odyssey_jupyter.text.markup import printable

    text = printable(text)
    line = text if text.endswith("\n") else text + "\n"
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    if isinstance(original, int):
        with contextlib.suppress(OSError):
            os.write(original, line.encode("utf-8", "replace"))
    elif sys.__stderr__ is not None and sys.__stderr__ is not sys.stderr:
        with contextlib.suppress(Exception):  # fd 2 not captured: it is the terminal
            sys.__stderr__.write(line)
            sys.__stderr__.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write(line)
        sys.stderr.flush()


@contextlib.contextmanager
def _sigterm_held() -> Iterator[None]:
    """Hold SIGTERM back while waiting (a kernel manager sends it before it kills)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, previous)


def on_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at exit once submissions are finished (the display freezes its outputs)."""
    with _lock:
        if hook not in _extra_hooks:
            _extra_hooks.append(hook)
    _register()


def finish_at_exit() -> None:
    """The atexit hook: finish in-flight submissions, report what was lost, run the hooks."""
    from odyssey_jupyter.session.config import get_config

    if _finished.is_set():
        return
    _finished.set()
    timeout = float(get_config().finish_submissions_timeout)
    waiting = in_flight()
    started = time.monotonic()
    if waiting:
        prompts = "; ".join(repr(first_prompt(job)) for job in waiting)
        report(
            f"odyssey_jupyter: finishing {len(waiting)} submission(s) before exiting "
            f"(up to {timeout:g} s): {prompts}"
        )
    with _sigterm_held():
        lost = finish(timeout)
    if waiting and not lost:
        report(
            f"odyssey_jupyter: submitted {len(waiting)} job(s) in "
            f"{time.monotonic() - started:.1f} s before exiting"
        )
    for prompt, reason in lost:
        report(f"odyssey_jupyter: job NOT submitted: {prompt!r} ({reason})")
    with _lock:
        hooks = list(_extra_hooks)
    for hook in hooks:
        with contextlib.suppress(Exception):
            hook()


__all__ = ["finish", "finish_at_exit", "first_prompt", "in_flight", "on_exit", "report", "track"]
