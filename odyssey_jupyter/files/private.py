"""Files the project writes are its user's alone, and never reached through a planted link.

Ledgers, locks, history and recordings hold prompts, start images and idempotency
keys. A folder that came with a cloned repository may hold a symbolic link where one
of them belongs (``NAME.lock -> ~/.bashrc``): following it would let that repository
choose which of the user's files gets truncated or written. Everything here refuses
such a path with an error naming it, and creates what is new ``0600``/``0700``
whatever the umask. Locks go through ``filelock`` (the library pip, virtualenv and
huggingface_hub use), so they work on Windows and macOS as well as Linux; it opens
the lock file without following links and never truncates it. Standard library and
``filelock`` only: the engine's launcher, imported inside kernels, uses this too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
"""Added to ``os.open`` flags; 0 where the platform has no such flag (Windows, where
creating a symbolic link needs privileges a planted repository does not have)."""


class UnsafePathError(OSError):
    """A path the project would write is a link or not a regular file; nothing was touched."""


class LockBusyError(OSError):
    """Another process holds the lock; ``path`` names the lock file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is locked by another process")
        self.path = path


def refuse_link(path: Path, *, kind: str = "file") -> None:
    """Raise ``UnsafePathError`` if ``path`` exists as anything but a real ``kind``.

    ``kind`` is ``"file"`` or ``"folder"``. A missing path passes: the caller creates it
    with ``create_private_file`` or ``make_private_dir``, which refuse a link that
    appears meanwhile.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnsafePathError(f"{path} is a symbolic link; remove it (nothing was written)")
    wanted = stat.S_ISDIR if kind == "folder" else stat.S_ISREG
    if not wanted(mode):
        raise UnsafePathError(f"{path} is not a regular {kind}; remove it (nothing was written)")


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) ``0700``, refusing a link or a file in its place.

    Parents that already exist are left as they are (they may be the user's own
    folders); the folder itself, and each parent this call creates, is made ``0700``.
    """
    refuse_link(path, kind="folder")
    if not path.exists():
        if not os.path.lexists(path.parent):
            make_private_dir(path.parent)
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            refuse_link(path, kind="folder")
        else:
            os.chmod(path, PRIVATE_DIR_MODE)  # the umask may have taken bits away, never added
    return path


def create_private_file(path: Path, *, exclusive: bool = False, append: bool = False) -> int:
    """A write descriptor on ``path``, opened without following links, created ``0600``.

    ``exclusive`` refuses a file that already exists (a new ledger must be new);
    ``append`` makes every write go to the end (a log several processes share). An
    existing file is never truncated here: the caller decides what to write. One an
    older version left looser is tightened through the descriptor, where there are
    modes to drop and a call to drop them with (``os.fchmod``).
    """
    refuse_link(path)
    flags = os.O_WRONLY | os.O_CREAT | NO_FOLLOW | getattr(os, "O_BINARY", 0)
    if exclusive:
        flags |= os.O_EXCL
    if append:
        flags |= os.O_APPEND
    try:
        fd = os.open(path, flags, PRIVATE_FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise UnsafePathError(
            f"{path} is a symbolic link; remove it (nothing was written)"
        ) from None
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & ~PRIVATE_FILE_MODE and hasattr(os, "fchmod"):
            os.fchmod(fd, mode & PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)  # the caller never sees a descriptor it could close
        raise
    return fd


class ExclusiveLock:
    """An exclusive, portable lock on ``path``, released when closed or when the process dies.

    ``acquire(timeout=0)`` fails at once with ``LockBusyError`` if another process holds
    it; a positive timeout waits that many seconds first.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path), mode=PRIVATE_FILE_MODE, thread_local=False)

    def acquire(self, timeout: float = 0) -> ExclusiveLock:
        refuse_link(self.path)
        try:
            self._lock.acquire(timeout=timeout, poll_interval=0.05)
        except Timeout:
            raise LockBusyError(self.path) from None
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def __enter__(self) -> ExclusiveLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_held(path: Path) -> bool:
    """Whether another process holds the lock on ``path`` now (a planted link counts as no).

    Taken and released at once, never waited for; a missing lock file is no lock, and
    none is created for the probe.
    """
    try:
        refuse_link(path)
    except UnsafePathError:
        return False
    if not path.exists():
        return False
    probe = ExclusiveLock(path)
    try:
        probe.acquire(timeout=0)
    except LockBusyError:
        return True
    probe.release()
    return False
