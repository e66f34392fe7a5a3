"""A saved notebook never keeps a secret that the API echoed back.

Real parts: nbclient runs a real kernel against a scripted API that repeats the key
and the bearer token in every text it answers with; the notebook is saved and read
back as a file, as a user would reopen it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support.hostile import ECHOED_KEY, script_secret_echo, secret_leaks
from support.notebooks import code_notebook
from support.scripted_server import ScriptedServer

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_a_saved_notebook_keeps_no_secret_the_api_echoed(
    api: ScriptedServer, tmp_path: Path
) -> None:
    script_secret_echo(api)
    nb = code_notebook(
        "%load_ext odyssey_jupyter",
        "%%odyssey_simulate --wait -o lamp\n0s start a lamp in the rain\n1s end",
        "%odyssey_jobs --limit 5",
        "print(lamp.detail.error_message)",
    )
    env = dict(os.environ, ODYSSEY_API_URL=api.url, ODYSSEY_API_KEY=ECHOED_KEY, ODYSSEY_WAIT="")
    env["ODYSSEY_HISTORY_PATH"] = str(tmp_path / "history.jsonl")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("ODYSSEY_DISPLAY", None)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    saved = tmp_path / "echoed.ipynb"
    nbformat.write(nb, saved)

    reopened = nbformat.read(saved, as_version=4)
    outputs = nbformat.writes(reopened)
    failure = reopened.cells[1].outputs[-1]
    assert failure["output_type"] == "error" and failure["ename"] == "JobFailedError"
    assert "the job failed" in failure["evalue"]
    assert "echo-4" in outputs and "odyssey-final" in outputs
    assert secret_leaks(outputs) == [], outputs
    assert secret_leaks((tmp_path / "history.jsonl").read_text(encoding="utf-8")) == []
