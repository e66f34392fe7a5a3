"""The magics' one-line errors: a server's words in them are shown, never obeyed."""

from __future__ import annotations

from odyssey_jupyter.errors import AuthenticationError, JobFailedError, OdysseyConnectionError
from odyssey_jupyter.ipython.magic_args import WaitInterrupted
from odyssey_jupyter.ipython.magics import _quiet, _refusal

HOSTILE = "\x1b]0;pwned title\x07\x1b[2J\r\u202eevil"


def test_a_failed_job_line_shows_the_servers_escapes_as_text() -> None:
    error = _quiet(JobFailedError(f"job j1 failed: {HOSTILE}"))
    (line,) = error._render_traceback_()  # type: ignore[attr-defined]
    assert line.startswith("JobFailedError: job j1 failed: ")
    assert "\x1b" not in line and "\u202e" not in line and "\r" not in line
    assert "\\x1b]0;pwned title" in line


def test_an_interrupted_wait_shows_the_servers_escapes_as_text() -> None:
    (line,) = WaitInterrupted(f"stopped waiting; {HOSTILE}")._render_traceback_()
    assert "\x1b" not in line and "\u202e" not in line
    assert "\\x1b[2J" in line


def test_a_refused_key_shows_the_servers_escapes_as_text() -> None:
    refused = AuthenticationError("refused", status_code=401, detail=HOSTILE)
    for problem in (refused, OdysseyConnectionError(HOSTILE)):
        line = _refusal("http://127.0.0.1:9", problem)
        assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
        assert "pwned title" in line
