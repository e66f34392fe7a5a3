"""What installing the package costs: disk, import time and ``%load_ext`` time, core vs ``[local]``.

The wheel is built from a clean copy of the checkout (as tests/package does) and
installed into two fresh venvs, one with the core dependencies and one with the
``local`` extra (the embedded engine). Disk is the growth of site-packages. Times are
whole processes, the median of RUNS: ``python -c 'import odyssey_jupyter'`` against a
bare ``python -c pass``, and ``ipython -c '%load_ext odyssey_jupyter'`` against a
bare ``ipython -c pass``, each pair in the same venv and the same run.

Goal: the core install stays light (no engine, no JupyterLab), and ``[local]`` costs
nothing at import or load (the engine is imported only when used).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from support.packaging import build, clean_copy, fresh_venv

from benchmarks._support import median
from benchmarks.table import print_table, ratio

RUNS = 10
MIB = 1024 * 1024


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _median_wall(args: list[str], env: dict[str, str]) -> float:
    times = []
    for run in range(RUNS + 1):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=120)
        if run:  # the first run warms the file cache
            times.append(time.perf_counter() - started)
    return median(times)


def _measure(root: Path, wheel: Path, extra: str) -> list[object]:
    venv = fresh_venv(root)
    (site,) = root.glob("lib/python*/site-packages")
    before = _size(site)
    venv.pip_install(f"{wheel}{extra}")
    grown = (_size(site) - before) / MIB
    env = venv.env()
    python, ipython = str(venv.python), str(venv.bin / "ipython")
    quiet = [ipython, "--no-banner", "--quick", "-c"]
    imported = _median_wall([python, "-c", "import odyssey_jupyter"], env)
    bare = _median_wall([python, "-c", "pass"], env)
    loaded = _median_wall([*quiet, "%load_ext odyssey_jupyter"], env)
    bare_ipython = _median_wall([*quiet, "pass"], env)
    return [
        extra or "core",
        grown,
        imported * 1000,
        bare * 1000,
        ratio(imported, bare),
        loaded * 1000,
        bare_ipython * 1000,
        ratio(loaded, bare_ipython),
    ]


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="odyssey-bench-install-") as tmp:
        base = Path(tmp)
        artifacts = build(clean_copy(base / "source"), base / "dist")
        rows = [
            _measure(base / "core", artifacts.wheel, ""),
            _measure(base / "local", artifacts.wheel, "[local]"),
        ]
    print_table(
        "install: site-packages growth and whole-process start-up, fresh venvs",
        [
            "install",
            "MiB",
            "import ms",
            "python ms",
            "ratio",
            "%load_ext ms",
            "ipython ms",
            "ratio",
        ],
        rows,
        note=f"median of {RUNS} runs each; baselines are bare interpreters in the same venv",
    )
