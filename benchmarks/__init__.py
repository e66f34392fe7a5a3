"""Benchmarks run by ``make bench``: each ``bench_*.py`` module prints one table.

Figures are printed next to a baseline measured in the same run and their ratio;
nothing here passes or fails, because the machine (2 shared cores) is too noisy
for timed assertions.
"""

import sys
from pathlib import Path

# The benchmarks start engines and proxies with the tests' own helpers (``support.*``,
# free of pytest): one launcher and one fault proxy for both.
_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
