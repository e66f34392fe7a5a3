"""The one wait for an engine's ready line, shared by the launcher, the tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from odyssey_jupyter.local import READY_PREFIX
from odyssey_jupyter.local.launch.ready import wait_for_ready


@contextmanager
def child(code: str, *, text: bool) -> Iterator[subprocess.Popen[str] | subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, text=text
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait(30)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.parametrize("text", [True, False])
def test_the_url_after_other_lines(text: bool) -> None:
    ready = f"print({READY_PREFIX!r} + 'http://127.0.0.1:9 ')"
    code = f"import time; print('warming up'); {ready}; time.sleep(60)"
    with child(code, text=text) as process:
        assert wait_for_ready(process, 60) == "http://127.0.0.1:9"
        assert process.poll() is None  # left running for the caller


def test_none_when_the_process_exits_without_the_line() -> None:
    with child("print('no such luck'); raise SystemExit(3)", text=True) as process:
        assert wait_for_ready(process, 60) is None


def test_none_when_the_deadline_passes_in_silence() -> None:
    with child("import time; time.sleep(60)", text=False) as process:
        assert wait_for_ready(process, 0.5) is None
        assert process.poll() is None


def test_a_line_that_only_resembles_the_ready_line_is_not_it() -> None:
    code = f"print('> ' + {READY_PREFIX!r} + 'http://evil/')"
    with child(code, text=True) as process:
        assert wait_for_ready(process, 60) is None


def test_stdout_must_be_a_pipe() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        with pytest.raises(ValueError, match="stdout"):
            wait_for_ready(process, 1)
    finally:
        process.wait(30)


def test_what_follows_the_ready_line_is_left_for_the_caller() -> None:
    ready = f"print({READY_PREFIX!r} + 'http://127.0.0.1:9'); print('after')"
    with child(ready, text=True) as process:
        assert wait_for_ready(process, 60) == "http://127.0.0.1:9"
        assert process.stdout is not None
        assert process.stdout.read() == "after\n"


def test_an_endless_line_is_skipped_without_holding_it() -> None:
    code = (
        "import sys, time; sys.stdout.write('x' * 200_000 + '\\n'); "
        f"print({READY_PREFIX!r} + 'http://127.0.0.1:9'); time.sleep(60)"
    )
    with child(code, text=False) as process:
        assert wait_for_ready(process, 120) == "http://127.0.0.1:9"


def test_the_ready_line_is_read_where_select_cannot_watch_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Windows ``select`` takes sockets only: the wait must not depend on it."""
    import select

    def sockets_only(*args: object) -> None:
        raise OSError("select() works on sockets only here")

    monkeypatch.setattr(select, "select", sockets_only)
    ready = f"print('starting'); print({READY_PREFIX!r} + 'http://127.0.0.1:9')"
    with child(ready, text=True) as process:
        assert wait_for_ready(process, 60) == "http://127.0.0.1:9"
    with child("import time; time.sleep(60)", text=False) as process:
        assert wait_for_ready(process, 0.5) is None
