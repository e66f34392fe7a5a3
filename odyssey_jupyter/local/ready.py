"""Waiting for a freshly started engine's ready line, for every process that starts one.

The launcher, the tests and the benchmarks all start ``python -m odyssey_jupyter.local
serve`` and must wait for the same line, give up at the same signs (stdout closed,
the process gone) and never block past their deadline. Standard library only: the
launcher imports it inside kernels.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from typing import Any

from odyssey_jupyter.local import READY_PREFIX

POLL_SECONDS = 0.1
"""How long one wait for output lasts before the process is checked again."""
MAX_LINE_BYTES = 64 * 1024
"""A longer line is skipped unread: it cannot be the ready line."""


def wait_for_ready(process: subprocess.Popen[Any], timeout: float) -> str | None:
    """The URL from the engine's ready line, or ``None`` if it exits, closes stdout or times out.

    Lines before the ready line are skipped; the process is left running either way
    (the caller decides whether to kill it, and closes its stdout). The pipe is read
    a byte at a time from its descriptor: a buffered ``readline`` could take in more
    than a line and leave ``select`` waiting for what is already read, and nothing
    after the ready line is consumed, so the caller may still read the rest.
    """
    stdout = process.stdout
    if stdout is None:
        raise ValueError("the engine's stdout must be a pipe (stdout=subprocess.PIPE)")
    fd = stdout.fileno()
    line = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if ready:
            byte = os.read(fd, 1)
            if not byte:
                return None
            if byte != b"\n":
                if len(line) < MAX_LINE_BYTES:
                    line += byte
                continue
            text = line.decode("utf-8", "replace")
            line.clear()
            if text.startswith(READY_PREFIX):
                return text[len(READY_PREFIX) :].strip()
        elif process.poll() is not None:
            return None
    return None
