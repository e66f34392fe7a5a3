"""``python -m odyssey_jupyter sweep ...`` as a user runs it: real processes, the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.engine_http import server_jobs
from support.engines import RunningEngine
from support.hostile import code_templates


def cli(cwd: Path, engine: RunningEngine, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    env["ODYSSEY_HISTORY_PATH"] = str(cwd / "history.jsonl")
    return subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_run_status_resume_and_exit_codes(tmp_path: Path, engine: RunningEngine) -> None:
    good = {"template": "0s start a {animal} at dusk\n1s end", "params": {"animal": ["cat", "owl"]}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    done = cli(tmp_path, engine, "run", "good.json", "--name", "dusk")
    assert done.returncode == 0, done.stderr
    assert "dusk: 2 completed, 0 failed" in done.stderr and "|" in done.stderr
    status = cli(tmp_path, engine, "status", "dusk")
    assert status.returncode == 0 and json.loads(status.stdout)["completed"] == 2
    ids = {j["job_id"] for j in server_jobs(engine)}
    again = cli(tmp_path, engine, "resume", "dusk")  # nothing left to do: nothing sent
    assert again.returncode == 0, again.stderr
    assert {j["job_id"] for j in server_jobs(engine)} == ids
    listed = cli(tmp_path, engine, "list")
    assert listed.stdout.split() == ["dusk"]

    broken = "data:image/png;base64,bm90IGFuIGltYWdl"
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}", "image": "{photo}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    bad = {"template": template, "params": [{"animal": "dog", "photo": broken}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    failed = cli(tmp_path, engine, "run", "bad.json", "--name", "broken")
    assert failed.returncode == 1
    assert "item 0 failed" in failed.stderr and "readable image" in failed.stderr
    assert cli(tmp_path, engine, "status", "broken").returncode == 1

    (tmp_path / "typo.json").write_text(
        json.dumps({"template": "0s start {x}\n1s end", "params": []})
    )
    refused = cli(tmp_path, engine, "run", "typo.json")
    assert refused.returncode == 2 and "no items" in refused.stderr
    (tmp_path / "odd.json").write_text(json.dumps({"template": "x", "params": [], "colour": 1}))
    odd = cli(tmp_path, engine, "run", "odd.json")
    assert odd.returncode == 2 and "colour" in odd.stderr
    assert cli(tmp_path, engine, "status", "nope").returncode == 2


def test_a_spec_template_in_the_python_form_is_refused_never_run(
    tmp_path: Path, engine: RunningEngine
) -> None:
    marker = tmp_path / "PWNED"
    for number, template in enumerate(code_templates(str(marker))):
        spec = {"template": template, "params": {"seed": [1, 2]}}
        (tmp_path / f"code{number}.json").write_text(json.dumps(spec))
        refused = cli(tmp_path, engine, "run", f"code{number}.json")
        assert refused.returncode == 2, refused.stderr
        assert "Python" in refused.stderr and "Traceback" not in refused.stderr
        assert not marker.exists(), template
    assert not (tmp_path / "odyssey_recordings").exists()
