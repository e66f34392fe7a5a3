"""Stopping a process: every check and signal goes to the one process that was found."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from odyssey_jupyter.local.launch import processes
from odyssey_jupyter.local.launch.launcher import stop_process

STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


@pytest.fixture
def stubborn() -> Iterator[subprocess.Popen[str]]:
    """A child that ignores SIGTERM, as an engine stuck in a render would."""
    with subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        yield child
        child.kill()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM ends a process at once on Windows")
def test_a_stubborn_process_is_asked_then_ended_by_the_one_handle(
    stubborn: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signalled: list[tuple[int, str]] = []

    class Recording(psutil.Process):  # type: ignore[misc]  # psutil has no annotations
        def terminate(self) -> None:
            signalled.append((id(self), "terminate"))
            super().terminate()

        def kill(self) -> None:
            signalled.append((id(self), "kill"))
            super().kill()

    monkeypatch.setattr(psutil, "Process", Recording)
    assert stop_process(stubborn.pid, 0.3) is True
    assert stubborn.wait(10) == -signal.SIGKILL
    assert [what for _, what in signalled] == ["terminate", "kill"]
    assert len({handle for handle, _ in signalled}) == 1


def test_a_handle_outlives_its_process_without_signalling_anything(
    stubborn: subprocess.Popen[str],
) -> None:
    handle = processes.find(stubborn.pid)
    assert handle is not None and handle.running()
    stubborn.kill()
    stubborn.wait(10)
    assert not handle.running()
    assert handle.wait_gone(0)
    assert handle.terminate() is False
    handle.kill()  # gone: nothing to end, and no error
    assert processes.find(stubborn.pid) is None


def test_nothing_is_found_for_a_pid_that_runs_nothing(stubborn: subprocess.Popen[str]) -> None:
    stubborn.kill()
    stubborn.wait(10)
    assert processes.find(stubborn.pid) is None
    assert not processes.alive(stubborn.pid)
    assert stop_process(stubborn.pid, 0.1) is False


@pytest.mark.parametrize("pid", [0, -1])
def test_a_pid_below_one_is_no_process(pid: int) -> None:
    assert processes.find(pid) is None
    assert not processes.alive(pid)
    assert processes.started_at(pid) is None
    assert stop_process(pid, 0.1) is False
