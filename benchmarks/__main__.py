"""``python -m benchmarks [name ...]``: run every ``benchmarks/bench_*.py`` module's ``run()``.

Each module prints its own table through :func:`benchmarks.table.print_table`. Names
on the command line (``magic``, ``bench_magic``) select modules; without names all
run, in alphabetical order. A benchmark that crashes is reported and the others
still run; the exit status is 1 if any crashed (a crash is not a measurement).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    model = "unknown CPU"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def discover() -> list[str]:
    """Names of the ``bench_*`` modules next to this file."""
    here = Path(__file__).parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(here)]) if info.name.startswith("bench_")
    )


def select(available: Sequence[str], wanted: Sequence[str]) -> list[str]:
    if not wanted:
        return list(available)
    chosen = []
    for name in wanted:
        full = name if name.startswith("bench_") else f"bench_{name}"
        if full not in available:
            raise SystemExit(f"no benchmark {name!r}; available: {', '.join(available)}")
        chosen.append(full)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    names = select(discover(), args)
    print(f"Benchmarks on {machine()}\n", flush=True)
    crashed: list[str] = []
    for name in names:
        started = time.monotonic()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            run = getattr(module, "run", None)
            if not callable(run):
                print(f"== {name}: no run() function, skipped\n", flush=True)
                continue
            run()
        except KeyboardInterrupt:
            raise
        except BaseException:
            crashed.append(name)
            print(f"== {name}: CRASHED\n{traceback.format_exc()}", flush=True)
        print(f"   ({name} took {time.monotonic() - started:.1f} s)\n", flush=True)
    if crashed:
        print(f"crashed: {', '.join(crashed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
