"""Waiting for a freshly started engine's ready line, for every process that starts one.

The launcher, the tests and the benchmarks all start ``python -m odyssey_jupyter.local
serve`` and must wait for the same line, give up at the same signs (stdout closed,
the process gone) and never block past their deadline. Standard library only: the
launcher imports it inside kernels. No ``select`` on the pipe (Windows has none for
pipes): a reader thread reads it and hands lines over a queue the caller waits on.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from typing import Any

from odyssey_jupyter.local import READY_PREFIX

POLL_SECONDS = 0.1
"""How long one wait for output lasts before the process is checked again."""
MAX_LINE_BYTES = 64 * 1024
"""A longer line is skipped unread: it cannot be the ready line."""


def _read_lines(fd: int, lines: queue.SimpleQueue[str | None]) -> None:
    """Hand each line read from ``fd`` to ``lines``; stop after the ready line or at the end.

    A byte at a time, so nothing after the ready line is consumed. ``fd`` is this
    thread's own duplicate, closed here: the caller may close its pipe at any time.
    """
    line = bytearray()
    try:
        while True:
            try:
                byte = os.read(fd, 1)
            except OSError:
                byte = b""
            if not byte:
                return
            if byte != b"\n":
                if len(line) < MAX_LINE_BYTES:
                    line += byte
                continue
            text = line.decode("utf-8", "replace")
            line.clear()
            lines.put(text)
            if text.startswith(READY_PREFIX):
                return
    finally:
        lines.put(None)
        os.close(fd)


def wait_for_ready(process: subprocess.Popen[Any], timeout: float) -> str | None:
    """The URL from the engine's ready line, or ``None`` if it exits, closes stdout or times out.

    Lines before the ready line are skipped; the process is left running either way
    (the caller decides whether to kill it, and closes its stdout). Nothing after
    the ready line is consumed, so the caller may still read the rest.
    """
    stdout = process.stdout
    if stdout is None:
        raise ValueError("the engine's stdout must be a pipe (stdout=subprocess.PIPE)")
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    reader = threading.Thread(
        target=_read_lines,
        args=(os.dup(stdout.fileno()), lines),
        name="odyssey-engine-ready",
        daemon=True,
    )
    reader.start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            text = lines.get(timeout=min(POLL_SECONDS, left))
        except queue.Empty:
            if process.poll() is not None and not reader.is_alive() and lines.empty():
                return None
            continue
        if text is None:
            return None
        if text.startswith(READY_PREFIX):
            return text[len(READY_PREFIX) :].strip()
    return None
