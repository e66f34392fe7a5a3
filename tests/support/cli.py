"""``python -m odyssey_jupyter sweep ...`` run as a user runs it: a real process, its own env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

Env = dict[str, str]


def cli_env(cwd: Path, url: str, key: str, **extra: str) -> Env:
    """The process's environment: the API, a history file in ``cwd``, no terminal width
    unless ``COLUMNS`` is given."""
    env = dict(os.environ, ODYSSEY_API_URL=url, ODYSSEY_API_KEY=key)
    env["ODYSSEY_HISTORY_PATH"] = str(cwd / "history.jsonl")
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def run_process(
    argv: list[str], cwd: Path, env: Env, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; its output decoded as written (a ``\r`` stays a ``\r``, as a
    terminal would get it: text mode would turn it into a newline)."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def sweep_command(cwd: Path, env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return run_process([sys.executable, "-m", "odyssey_jupyter", "sweep", *args], cwd, env)
