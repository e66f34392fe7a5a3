"""The sdist, installed with the engine's extra and no Node.js, runs a job end to end.

pip builds a wheel from the sdist in a fresh venv whose PATH holds nothing else (the
sdist carries the built extension, so no JavaScript is built). A real kernel from
that venv, started in a folder away from the checkout with no API key, submits a job
to the embedded engine it starts itself and plays back a real MP4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.engines import engines_under, stop_pids
from support.kernel import KernelSession
from support.packaging import REPO, Venv, source_version

pytestmark = [pytest.mark.package, pytest.mark.kernel, pytest.mark.slow]

WHERE = """
import importlib.resources, json, odyssey_jupyter
data = importlib.resources.files("odyssey_jupyter")
print(json.dumps({
    "file": odyssey_jupyter.__file__,
    "version": odyssey_jupyter.__version__,
    "grammar": data.joinpath("script", "grammar.json").is_file(),
    "typed": data.joinpath("py.typed").is_file(),
}))
"""
JOB = "%%odyssey_simulate --wait -o job\n0s start A paper boat on a pond\n1s interact wind\n2s end"
OUTCOME = """
import json
videos = [str(r.video_path) for r in job.recordings()]
print(json.dumps({"status": str(job.status), "videos": videos}))
"""


def test_the_sdist_runs_a_job_on_the_embedded_engine_away_from_the_checkout(
    sdist_venv: Venv, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = sdist_venv.env(
        ODYSSEY_API_KEY="",
        ODYSSEY_API_URL="",
        ODYSSEY_WAIT="",
        ODYSSEY_LOCAL_DATA_DIR=str(tmp_path / "engine"),
        ODYSSEY_HISTORY_PATH=str(tmp_path / "history.jsonl"),
    )
    try:
        with KernelSession(env=env, cwd=work, python=sdist_venv.python) as kernel:
            where = json.loads(kernel.check(WHERE).stdout())
            kernel.check("%load_ext odyssey_jupyter")
            kernel.check(JOB, timeout=240)
            outcome = json.loads(kernel.check(OUTCOME, timeout=60).stdout())
    finally:
        stop_pids(engines_under(tmp_path))
    installed = Path(where["file"]).resolve()
    assert installed.is_relative_to(sdist_venv.root.resolve()), where
    assert not installed.is_relative_to(REPO), where
    assert where["version"] == source_version()
    assert where["grammar"] and where["typed"], where
    assert outcome["status"] == "completed", outcome
    (video,) = [work / path for path in outcome["videos"]]
    assert video.resolve().is_relative_to(work.resolve()), outcome
    assert video.read_bytes()[4:8] == b"ftyp", f"{video} is not an MP4"
