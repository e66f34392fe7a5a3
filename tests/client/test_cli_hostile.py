"""Text from outside reaches a terminal as visible escapes: every CLI command, the at-exit report.

A scripted API refuses each job with a ``422`` whose ``detail`` is the terminal corpus
(clear screen and a fake "ALL ITEMS COMPLETED OK", window titles, links, DCS, C1
controls, bidi, BEL, backspace, CR), the params carry the same text, and a planted
ledger's file name too. Each command runs as a real process; what it prints is read
as a terminal would get it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.cli import cli_env as env_for
from support.cli import run_process
from support.cli import sweep_command as command
from support.hostile import TERMINAL_PAYLOADS, terminal_controls
from support.scripted_server import Answer, ScriptedServer

DETAIL = " | ".join(TERMINAL_PAYLOADS)
EMPTY_LIST = {"jobs": [], "total": 0, "limit": 1, "offset": 0}


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    """Everything the process wrote, checked free of raw terminal controls."""
    said = result.stdout + result.stderr
    assert not terminal_controls(said), terminal_controls(said)
    return said


def test_every_command_prints_server_and_file_text_escaped(
    tmp_path: Path, api: ScriptedServer
) -> None:
    api.route("POST", "/simulation-jobs", Answer.json({"detail": DETAIL}, status=422))
    api.route("GET", "/simulation-jobs", Answer.json(EMPTY_LIST))
    env = env_for(tmp_path, api.url, "ody_cli_hostile_key", COLUMNS="400")
    params = [{"what": text} for text in TERMINAL_PAYLOADS]
    (tmp_path / "spec.json").write_text(
        json.dumps({"template": "0s start {what}\n1s end", "params": params})
    )

    ran = command(tmp_path, env, "run", "spec.json", "--name", "hostile")
    assert ran.returncode == 1
    said = _clean(ran)
    assert said.count("failed with 422") == 10  # the first ten, then the command for all
    assert "... and 2 more: `python -m odyssey_jupyter sweep items hostile --state failed`" in said
    assert "\\x1b[2J\\x1b[3J\\x1b[HALL ITEMS COMPLETED OK" in said  # shown, and shown as a lie
    assert "\\u202ecod.exe" in said and "failed\\rcompleted" in said

    sweeps = tmp_path / "odyssey_recordings" / "sweeps"
    (sweeps / "\x1b]0;planted\x07\x1b[2J.sqlite").write_bytes(b"not a ledger")
    for args, code in (
        (["status", "hostile"], 1),
        (["status", "hostile", "--json"], 1),
        (["items", "hostile"], 0),
        (["items", "hostile", "--state", "failed", "--json"], 0),
        (["list"], 0),
        (["list", "--json"], 0),
        (["resume", "hostile"], 1),
        (["status", "\x1b[2Jgone"], 2),
        (["run", "\x1b]0;title\x07.json"], 2),
        (["items", "hostile", "--state", "\x9b2J"], 2),
    ):
        result = command(tmp_path, env, *args)
        assert result.returncode == code, (args, result.stderr)
        shown = _clean(result)
        if args[0] in ("status", "items") and code != 2 and "--json" not in args:
            assert "\\x1b[2J" in shown and "\\x9b2J" in shown, args
    listed = _clean(command(tmp_path, env, "list"))
    # a planted file whose name is no sweep name is not listed at all, raw or escaped
    assert "planted" not in listed and "hostile" in listed
    items = json.loads(command(tmp_path, env, "items", "hostile", "--json").stdout)
    assert [item["params"]["what"] for item in items] == list(TERMINAL_PAYLOADS)  # data kept


AT_EXIT_SCRIPT = """
import odyssey_jupyter as oj
from odyssey_jupyter.session.config import get_config
get_config().finish_submissions_timeout = 30
oj.simulate([{"timestamp_ms": 0, "start": {"prompt": PROMPT}}, {"timestamp_ms": 1000, "end": {}}])
"""


def test_the_at_exit_report_prints_server_text_escaped(tmp_path: Path, api: ScriptedServer) -> None:
    """The process exits with its submission in flight; the refusal that arrives then (a
    slow 422 full of terminal controls) is reported on stderr, escaped."""
    refusal = Answer.json({"detail": DETAIL}, status=422, trickle=0.002)
    api.route("POST", "/simulation-jobs", refusal)
    api.route("GET", "/simulation-jobs", Answer.json(EMPTY_LIST))
    env = env_for(tmp_path, api.url, "ody_cli_hostile_key")
    prompt = "a lighthouse " + TERMINAL_PAYLOADS[0]
    script = AT_EXIT_SCRIPT.replace("PROMPT", repr(prompt))
    result = run_process([sys.executable, "-c", script], tmp_path, env)
    said = _clean(result)
    assert "odyssey_jupyter: job NOT submitted: 'a lighthouse \\x1b[2J" in said, said
    assert "failed with 422" in said and "\\u202ecod.exe" in said, said
