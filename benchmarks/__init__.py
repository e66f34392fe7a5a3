"""Benchmarks run by ``make bench``: each ``bench_*.py`` module prints one table.

Figures are printed next to a baseline measured in the same run and their ratio;
nothing here passes or fails, because the machine (2 shared cores) is too noisy
for timed assertions.
"""
