"""The engine's data directory: private to its user, and usable, checked before anything starts.

The directory holds every prompt and start image (``engine.db``), the key, the log
and the recordings, so it is ``0700`` and every file in it ``0600`` whatever the
umask; a directory left looser by an older engine is tightened. Whether it can be
written is found by writing (root ignores modes, a read-only mount ignores them
too), and the errno becomes a one-line cause. Standard library and ``files.private``
only: the launcher, imported inside kernels, uses it as well.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from odyssey_jupyter.files.private import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

PRIVATE_UMASK = 0o077
"""Set for the whole engine process: SQLite's WAL files and the workers' output are private."""
UNUSABLE_EXIT_STATUS = 4
"""``serve``'s exit status when its data directory cannot be used (its last log line says why)."""

_CAUSES = {
    errno.EROFS: "it is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "the disk is full (no space left on device)",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "files there may not grow (file size limit reached)",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EEXIST: "a file is in the way of a directory it needs",
    errno.ENOENT: "a part of the path does not exist and cannot be created",
    errno.ENAMETOOLONG: "the path is too long",
    errno.ELOOP: "the path has too many symbolic links",
}


class DataDirUnusable(RuntimeError):
    """The data directory cannot be created or written; the message names it and the cause."""


def cause_of(exc: OSError) -> str:
    """A short, human cause for an ``OSError`` met while using the data directory."""
    if exc.errno in _CAUSES:
        return _CAUSES[exc.errno]
    return exc.strerror or type(exc).__name__


def unusable(data_dir: Path, exc: OSError) -> DataDirUnusable:
    where = ""
    if exc.filename and Path(str(exc.filename)) != data_dir:
        where = f" ({exc.filename})"
    return DataDirUnusable(
        f"the engine's data directory {data_dir} is not usable: {cause_of(exc)}{where}; "
        "choose another one with --data-dir or ODYSSEY_LOCAL_DATA_DIR, or free it"
    )


def create_private_dir(data_dir: Path) -> None:
    """Create ``data_dir`` (``0700``) and make sure one byte can be written there."""
    try:
        data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if not data_dir.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(data_dir))
        probe_writable(data_dir)
        _tighten_one(data_dir, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise unusable(data_dir, exc) from None


def probe_writable(data_dir: Path) -> None:
    """Write, flush and remove a one-byte file: the only check that root and mounts respect.

    ``mkstemp`` picks a fresh name each time and creates it exclusively (``0600``), so
    two threads or processes probing at once never meet, and a link planted in the
    directory is never written through.
    """
    fd, name = tempfile.mkstemp(prefix=".write-probe.", dir=data_dir)
    try:
        os.write(fd, b"\0")
        os.fsync(fd)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _tighten_one(path: Path, mode: int) -> bool:
    """Drop group and other bits from one entry this user owns (never through a symlink)."""
    info = os.lstat(path)
    owner = getattr(os, "getuid", None)  # Windows has none, nor these mode bits to drop
    if owner is None or stat.S_ISLNK(info.st_mode) or info.st_uid != owner():
        return False
    if stat.S_IMODE(info.st_mode) & ~mode & 0o777 == 0:
        return False
    os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    return True


def tighten_tree(data_dir: Path) -> int:
    """Make every directory under ``data_dir`` 0700 and every file 0600; how many changed."""
    changed = int(_tighten_one(data_dir, PRIVATE_DIR_MODE))
    for root, dirs, files in os.walk(data_dir):
        base = Path(root)
        for name in dirs:
            changed += _tighten_one(base / name, PRIVATE_DIR_MODE)
        for name in files:
            try:
                changed += _tighten_one(base / name, PRIVATE_FILE_MODE)
            except FileNotFoundError:  # removed meanwhile (a worker's temporary file)
                continue
    return changed
