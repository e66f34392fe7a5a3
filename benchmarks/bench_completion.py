"""How long Tab takes in a ``%%odyssey_simulate`` cell with 10,000 names in the namespace.

An in-process ``InteractiveShell`` (the same completer a kernel runs) holds 10,000
variables (numbers, strings, some scripts) and works in a folder of 1,000 files.
Each case is timed through ``shell.Completer.completions`` (IPython's whole
pipeline, with this extension's matcher in it). Baseline: IPython's own completion
of the same text with the extension unloaded (the plain-Python prefix for the
substitution, ``{`` dropped), what a Tab cost before.

Goal: every case's median under 50 ms.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._support import median, percentile
from benchmarks.table import print_table, ratio

RUNS = 30
NAMES = 10_000
FILES = 1_000
SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "a lantern floats over a lake"}},
    {"timestamp_ms": 1000, "end": {}},
]
BODY = "%%odyssey_simulate\n0s start a lantern floats\n1s interact it drifts\n"
CASES: list[tuple[str, str, str]] = [
    # (what, code with the extension, code for the baseline)
    ("magic flag: --la", "%%odyssey_simulate --la", "%%odyssey_simulate --la"),
    ("action after a time: 2s e", BODY + "2s e", BODY + "2s e"),
    ("substitution: {name_12", BODY + "2s interact {name_12", "name_12"),
    ("attribute: {holder.va", BODY + "2s interact {holder.va", "holder.va"),
    ("line form variable: %odyssey_simulate scr", "%odyssey_simulate scr", "scr"),
    ("image path: image=file_1", "%%odyssey_simulate\n0s start a image=file_1", "'file_1"),
    (
        "32k-character line of '{a', then {name_12",
        BODY + "2s interact " + "{a" * 16_000 + " {name_12",
        "name_12",
    ),
]


def _namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for i in range(NAMES):
        kind = i % 10
        if kind == 0:
            namespace[f"script_{i}"] = SCRIPT
        elif kind < 5:
            namespace[f"name_{i}"] = i
        else:
            namespace[f"text_{i}"] = f"value {i}"
    namespace["holder"] = type("Holder", (), {"value": 1, "variant": 2})()
    return namespace


def _time(shell: Any, code: str, *, must_offer: bool) -> list[float]:
    from IPython.core.completer import provisionalcompleter

    times = []
    with provisionalcompleter():
        list(shell.Completer.completions(code, len(code)))  # warm caches, outside the clock
        for _ in range(RUNS):
            started = time.perf_counter()
            found = list(shell.Completer.completions(code, len(code)))
            times.append(time.perf_counter() - started)
    if must_offer and not found:
        raise RuntimeError(f"nothing offered for {code!r}")
    return times


def run() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    with tempfile.TemporaryDirectory(prefix="odyssey-bench-completion-") as tmp:
        for i in range(FILES):
            Path(tmp, f"file_{i}.png").write_bytes(b"\x89PNG")
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            shell = InteractiveShell.instance()
            shell.config.OdysseyJupyter.nest_asyncio = False
            shell.user_ns.update(_namespace())
            shell.run_line_magic("load_ext", "odyssey_jupyter")
            with_ext = [_time(shell, code, must_offer=True) for _, code, _ in CASES]
            shell.run_line_magic("unload_ext", "odyssey_jupyter")
            baseline = [_time(shell, base, must_offer=False) for _, _, base in CASES]
        finally:
            os.chdir(cwd)
    ms = 1000.0
    rows: list[list[object]] = []
    for (what, _, _), mine, base in zip(CASES, with_ext, baseline, strict=True):
        rows.append(
            [
                what,
                median(mine) * ms,
                percentile(mine, 95) * ms,
                median(base) * ms,
                ratio(median(mine), median(base)),
            ]
        )
    print_table(
        f"8. Completion latency with {NAMES:,} names in the namespace (goal: median < 50 ms)",
        ["case", "median ms", "p95 ms", "baseline median ms", "ratio to baseline"],
        rows,
        note=f"{RUNS} runs each, in-process InteractiveShell, {FILES:,} files in the working "
        "directory; baseline: IPython's own completion of the same text (the plain prefix "
        "for substitutions, a quoted path for image=) with the extension unloaded.",
    )


if __name__ == "__main__":
    run()
