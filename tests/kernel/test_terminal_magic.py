"""%%odyssey_simulate in terminal IPython, typed into a real pseudo-terminal.

Ctrl-C is the byte a keyboard sends (0x03), which the terminal turns into SIGINT.
The terminal has no widgets, so what the magic says after it must not send the user
to a Cancel button; the call it offers instead must work when typed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.engines import RunningEngine

pytestmark = pytest.mark.slow

LONG_SCRIPT = (
    "[{'timestamp_ms': 0, 'start': {'prompt': 'a long road at noon'}},"
    " {'timestamp_ms': 30000, 'end': {}}]"
)


class Terminal:
    """An IPython terminal on a pseudo-terminal: type lines, read the screen."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        master, slave = pty.openpty()
        self._master = master
        self.screen = ""
        self._next_prompt = 1
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "IPython",
                "--simple-prompt",
                "--no-banner",
                "--colors=NoColor",
                "--HistoryManager.enabled=False",
            ],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_take_terminal,  # the pty becomes its terminal: ^C reaches it
        )
        os.close(slave)
        self.prompt()

    def read_until(self, found: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not found(self.screen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the terminal never showed it; screen:\n{self.screen}")
            ready, _, _ = select.select([self._master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.screen += os.read(self._master, 65536).decode(errors="replace")
                except OSError:  # the other end closed
                    raise AssertionError(f"IPython exited; screen:\n{self.screen}") from None
        return self.screen

    def prompt(self, timeout: float = 60) -> str:
        """Wait for the next ``In [n]:`` prompt; the text printed before it."""
        mark = f"In [{self._next_prompt}]:"
        start = len(self.screen)
        self.read_until(lambda screen: mark in screen[start:], timeout)
        self._next_prompt += 1
        return self.screen[start:]

    def type(self, text: str) -> None:
        os.write(self._master, text.encode())

    def run(self, line: str, timeout: float = 60) -> str:
        self.type(line + "\n")
        return self.prompt(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.type("exit\n")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._master)


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.fixture
def terminal(start_engine: Callable[..., RunningEngine], tmp_path: Path) -> Iterator[Terminal]:
    engine = start_engine("--pace", "realtime")
    env = dict(
        os.environ,
        ODYSSEY_API_URL=engine.url,
        ODYSSEY_API_KEY=engine.api_key,
        IPYTHONDIR=str(tmp_path / "ipython"),
        TERM="dumb",
    )
    env.pop("ODYSSEY_DISPLAY", None)
    session = Terminal(env, tmp_path)
    try:
        session.run("%load_ext odyssey_jupyter")
        session.run(f"long = {LONG_SCRIPT}")
        yield session
    finally:
        session.close()


def _interrupt_while_rendering(terminal: Terminal, line: str) -> str:
    """Type the magic, press Ctrl-C once the job renders; what the terminal shows."""
    start = len(terminal.screen)
    terminal.type(line + "\n")
    terminal.read_until(lambda screen: "processing" in screen[start:], timeout=120)
    terminal.type("\x03")
    return terminal.prompt(timeout=60)


def test_ctrl_c_in_the_terminal_names_the_variable_not_a_button(terminal: Terminal) -> None:
    shown = _interrupt_while_rendering(terminal, "%odyssey_simulate --wait -o road long")
    assert "KeyboardInterrupt: stopped waiting; job " in shown
    assert "goes on. Cancel it with road.cancel()." in shown
    assert "widget" not in shown and "button" not in shown.lower()
    assert "Traceback" not in shown
    terminal.run("road.cancel()")
    assert re.search(r"^cancelled\r?$", terminal.run("print(road.wait(60).status)"), re.M)
    # no longer waited on, the text display still prints the outcome when it comes
    terminal.read_until(lambda screen: "cancelled after" in screen, timeout=60)


def test_ctrl_c_in_the_terminal_offers_a_call_that_works(terminal: Terminal) -> None:
    shown = _interrupt_while_rendering(terminal, "%odyssey_simulate --wait long")
    assert "widget" not in shown and "button" not in shown.lower()
    offered = re.search(
        r"Cancel it with (odyssey_jupyter\.Job\.from_id\('[^']+'\)\.cancel\(\))\.", shown
    )
    assert offered, shown
    terminal.run("import odyssey_jupyter")
    job = offered.group(1).removesuffix(".cancel()")
    terminal.run(offered.group(1))
    assert re.search(r"^cancelled\r?$", terminal.run(f"print({job}.wait(60).status)"), re.M)


def test_a_job_without_an_id_yet_gets_a_way_that_works_in_text() -> None:
    """Ctrl-C before the POST answered: no id to give, and no button to point at."""
    from types import SimpleNamespace

    from odyssey_jupyter.display.job.status_text import TextStatus
    from odyssey_jupyter.ipython.magic_args import SimulateArgs
    from odyssey_jupyter.ipython.magics import _how_to_cancel

    job = SimpleNamespace(job_id=None)
    view = TextStatus.__new__(TextStatus)  # the text display: what a terminal shows
    hint = _how_to_cancel(job, view, SimulateArgs())  # type: ignore[arg-type]
    assert "widget" not in hint and "button" not in hint.lower()
    assert "%odyssey_jobs --active" in hint and "Job.from_id(ID).cancel()" in hint
    named = _how_to_cancel(job, view, SimulateArgs(output="trip"))  # type: ignore[arg-type]
    assert named == "Cancel it with trip.cancel()."
