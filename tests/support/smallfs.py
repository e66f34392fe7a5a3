"""A really small filesystem (tmpfs) for full-disk tests, where this machine allows mounting.

As root on Linux ``mount -t tmpfs -o size=...`` gives a filesystem that fills up
for real (ENOSPC, SQLite's "database or disk is full"). Where mounting is refused
the context manager yields None and the test falls back to the engine's
test-only fault hook (``odyssey_jupyter.local.store.faults``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def small_filesystem(
    path: Path, size_kb: int, *, inodes: int | None = None
) -> Iterator[Path | None]:
    """``path`` as a fresh tmpfs of ``size_kb`` KiB (and at most ``inodes`` files), unmounted
    afterwards; None where mounting is refused."""
    path.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        yield None
        return
    limit = f",nr_inodes={inodes}" if inodes is not None else ""
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700{limit}", "tmpfs", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


def fill(directory: Path, leave_kb: int = 0) -> Path:
    """Write a filler file until the filesystem is full (less ``leave_kb``); returns it."""
    filler = directory / "filler.bin"
    stats = os.statvfs(directory)
    room = stats.f_bavail * stats.f_frsize - leave_kb * 1024
    chunk = b"\0" * (64 * 1024)
    with open(filler, "wb", buffering=0) as handle:
        try:
            while room > 0:
                handle.write(chunk[: min(len(chunk), room)])
                room -= len(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def fill_inodes(directory: Path, leave: int) -> list[Path]:
    """Create empty files until only ``leave`` more can be made; returns them."""
    made: list[Path] = []
    while os.statvfs(directory).f_favail > leave:
        made.append(directory / f"inode-{len(made)}")
        made[-1].touch()
    return made


def open_files(pid: int) -> list[str]:
    """What each open file descriptor of ``pid`` points at (``/proc/<pid>/fd``)."""
    targets = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            targets.append(os.readlink(entry))
    return sorted(targets)
