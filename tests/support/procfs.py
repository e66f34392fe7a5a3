"""Processes as Linux's /proc shows them: a process tree, and a memory field of one process.

For engines with worker processes (the fault tests and the benchmarks sample their memory).
"""

from __future__ import annotations

from pathlib import Path


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc), for engines with worker processes."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def status_kb(pid: int, field_name: str) -> int:
    """A ``/proc/<pid>/status`` memory field (VmRSS, VmHWM) in kB; 0 if the process is gone."""
    try:
        for text in Path(f"/proc/{pid}/status").read_text().splitlines():
            if text.startswith(field_name + ":"):
                return int(text.split()[1])
    except (OSError, ValueError):
        pass
    return 0


__all__ = ["status_kb", "tree_pids"]
