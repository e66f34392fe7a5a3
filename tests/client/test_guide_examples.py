"""Each example of the Simulate API guide, in the guide's own shape, runs as a script.

The scripts live in ``tests/guide_examples/`` (their only client import is
``from odyssey_jupyter import Odyssey``) and run in a fresh interpreter against
the test engine through ODYSSEY_API_URL / ODYSSEY_API_KEY, exactly as a user
would run them from a terminal with ``asyncio.run(main())``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.engines import RunningEngine

EXAMPLES = Path(__file__).parents[1] / "guide_examples"


def start_example(name: str, engine: RunningEngine, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(name: str, process: subprocess.Popen[str], engine: RunningEngine) -> str:
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    assert process.returncode == 0, f"{name} failed:\n{out}\n{err}"
    assert engine.api_key not in out + err
    return out


@pytest.fixture(scope="module")
def outputs(engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run every example at once (they are independent), then the listing after them."""
    cwd = tmp_path_factory.mktemp("guide")
    names = sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem != "listing")
    running = {name: start_example(name, engine, cwd) for name in names}
    results = {name: finish(name, proc, engine) for name, proc in running.items()}
    results["listing"] = finish("listing", start_example("listing", engine, cwd), engine)
    return results


def test_every_example_imports_only_our_client() -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text()
        assert "from odyssey_jupyter import Odyssey\n" in text, path.name
        assert "odyssey_jupyter." not in text, path.name
        assert re.search(r"^asyncio\.run\(\w+\(\)\)$", text, re.MULTILINE), path.name


def test_basic_workflow(outputs: dict[str, str]) -> None:
    out = outputs["basic_workflow"]
    assert re.search(r"^Simulation ID: \S+$", out, re.MULTILINE)
    assert "Status: pending" in out


def test_polling_for_completion(outputs: dict[str, str]) -> None:
    out = outputs["polling"]
    assert re.search(r"Simulation completed: \S+ with 1 stream\(s\)", out)


def test_retrieving_recordings(outputs: dict[str, str]) -> None:
    out = outputs["recordings"]
    assert re.search(r"^Video URL: http://127\.0\.0\.1:\d+/\S+video\.mp4\S*$", out, re.MULTILINE)
    assert "Duration: 2.0 seconds" in out


@pytest.mark.parametrize("name", ["image_from_path", "image_from_bytes", "image_from_data_url"])
def test_image_to_video(outputs: dict[str, str], name: str) -> None:
    out = outputs[name]
    assert re.search(r"^Image job \S+: completed$", out, re.MULTILINE), out


def test_listing_simulations(outputs: dict[str, str]) -> None:
    out = outputs["listing"]
    rows = re.findall(r"^\S+: \w+ \(created: \S+\)$", out, re.MULTILINE)
    shown = re.search(r"^Showing (\d+) of (\d+) total simulations$", out, re.MULTILINE)
    assert shown and int(shown.group(1)) == len(rows) >= 1
    assert int(shown.group(2)) >= int(shown.group(1))


def test_cancelling(outputs: dict[str, str]) -> None:
    out = outputs["cancelling"]
    assert "Simulation cancelled" in out and "Status now: cancelled" in out


def test_complete_example(outputs: dict[str, str]) -> None:
    out = outputs["complete"]
    assert out.startswith("Started simulation: ")
    assert re.search(r"^Recording ready: http://\S+video\.mp4", out, re.MULTILINE), out
    assert "Simulation failed" not in out


def test_error_handling(outputs: dict[str, str]) -> None:
    out = outputs["error_handling"]
    assert re.search(r"^Job \S+ is (pending|dispatched|processing|completed)$", out, re.MULTILINE)
    error = re.search(r"^API error: (.*)$", out, re.MULTILINE)
    assert error and "404" in error.group(1) and "no-such-job" in error.group(1)


NOTEBOOK_CELL = """
import asyncio, runpy, sys
import nest_asyncio2

async def kernel():
    # what a notebook cell does: run the guide's code while the kernel's loop is running
    nest_asyncio2.apply()
    runpy.run_path(sys.argv[1], run_name="__main__")

asyncio.run(kernel())
"""


def test_an_example_runs_inside_a_running_loop(engine: RunningEngine, tmp_path: Path) -> None:
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    done = subprocess.run(
        [sys.executable, "-c", NOTEBOOK_CELL, str(EXAMPLES / "complete.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Recording ready: http://\S+video\.mp4", done.stdout, re.MULTILINE)
