"""The engine's key and data directory belong to its user: attacked as another local user would.

The key never appears in ``/proc/<pid>/cmdline``; the data directory is ``0700``
and every file in it ``0600`` under umask 022, an older looser one is tightened,
and a directory that cannot be written (read-only, full, under a file) stops
``serve`` and the launcher with one line naming the directory and the cause.
Tests run as root, where modes do not stop writes: the unwritable directories are
real ones (``/sys``, a path under a regular file, a file-size limit of 0).
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from support.engine_http import client_for, run_job, short_script, stop_launched
from support.engines import RunningEngine, launch_engine

from odyssey_jupyter.errors import EngineStartError
from odyssey_jupyter.files.private import UnsafePathError, create_private_file
from odyssey_jupyter.local.launch.launcher import ensure_engine
from odyssey_jupyter.local.launch.options import ARGV_KEY_WARNING
from odyssey_jupyter.local.store.datadir import cause_of, probe_writable

UNWRITABLE = Path("/sys/kernel")
"""A directory even root cannot create files in (sysfs)."""


def cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def serve(
    *args: str, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--workers", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec_fn,
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def loose_entries(root: Path) -> list[str]:
    """Every entry under ``root`` that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root)}: {oct(mode)}")
    return found


# --------------------------------------------------------------------------- the key


def test_the_key_from_the_environment_is_not_in_the_process_list(
    start_engine: Callable[..., RunningEngine],
) -> None:
    running = start_engine("--workers", "1")  # conftest passes the key by the environment
    assert running.api_key.encode() not in cmdline(running.process.pid)
    with closing(client_for(running)) as client:
        assert client.get("/simulation-jobs").status_code == 200


def test_the_key_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("ody_from_a_file_0123456789\n")
    running = launch_engine(  # conftest also sets the environment key: the file wins
        tmp_path / "data", "--api-key-file", str(key_file), api_key="ody_from_the_environment"
    )
    try:
        assert b"ody_from_a_file" not in cmdline(running.process.pid)
        grant = httpx.post(
            f"{running.url}/auth/token", json={"api_key": "ody_from_a_file_0123456789"}, timeout=10
        )
        assert grant.status_code == 200
    finally:
        running.stop()


def test_bad_key_files_are_usage_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path, words in ((tmp_path / "missing", "cannot read"), (empty, "empty")):
        result = serve("--data-dir", str(tmp_path / "data"), "--api-key-file", str(path))
        assert result.returncode == 2 and words in result.stderr and str(path) in result.stderr
    both = serve("--api-key", "x", "--api-key-file", str(empty))
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_key_on_the_command_line_still_works_and_warns_once(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "odyssey_jupyter.local", "serve", "--workers", "1",
         "--data-dir", str(tmp_path), "--api-key", "ody_argv_key_12345"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        grant = httpx.post(f"{url}/auth/token", json={"api_key": "ody_argv_key_12345"}, timeout=10)
        assert grant.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert err.count(ARGV_KEY_WARNING.strip()) == 1
    assert "ody_argv_key_12345" not in err


def test_the_launcher_puts_no_key_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_LOCAL_API_KEY", "ody_a_key_the_launcher_must_not_pass")
    info = ensure_engine(tmp_path / "engine")
    try:
        assert info.started
        line = cmdline(info.pid)
        assert info.api_key.encode() not in line and b"--api-key" not in line
        assert b"ody_a_key_the_launcher_must_not_pass" not in line
        environ = Path(f"/proc/{info.pid}/environ").read_bytes()
        assert b"ody_a_key_the_launcher_must_not_pass" not in environ
    finally:
        stop_launched(info.pid)


# --------------------------------------------------------------------------- modes


def test_every_file_is_private_under_umask_022(
    tmp_path: Path, umask_022: None, start_engine: Callable[..., RunningEngine]
) -> None:
    data_dir = tmp_path / "fresh" / "engine"
    running = start_engine("--workers", "1", data_dir=data_dir)
    with closing(client_for(running)) as client:
        job = run_job(client, {"script": short_script()})
    assert job["status"] == "completed"
    names = {p.name for p in data_dir.rglob("*")}
    for expected in ("engine.db", "engine.db-wal", "engine.json", "video.mp4", "preview.mp4",
                     "thumbnail.jpg", "events.jsonl", "secret.key"):  # fmt: skip
        assert expected in names, expected
    assert loose_entries(data_dir) == []


def test_an_older_looser_directory_is_tightened(
    tmp_path: Path, umask_022: None, start_engine: Callable[..., RunningEngine]
) -> None:
    data_dir = tmp_path / "old"
    running = start_engine("--workers", "1", data_dir=data_dir)
    with closing(client_for(running)) as client:
        run_job(client, {"script": short_script()})
    running.stop()
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    (data_dir / "engine.log").write_text("a log an older launcher left readable\n")
    (data_dir / "engine.log").chmod(0o644)
    assert loose_entries(data_dir)
    start_engine("--workers", "1", data_dir=data_dir, api_key=running.api_key)
    assert loose_entries(data_dir) == []


def test_the_launcher_makes_a_private_directory_and_log(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "cache" / "engine"
    info = ensure_engine(data_dir)
    try:
        assert loose_entries(data_dir) == []
        assert (data_dir / "engine.log").exists() and (data_dir / "launcher.lock").exists()
    finally:
        stop_launched(info.pid)


# --------------------------------------------------------------------------- unusable


def _no_file_may_grow() -> None:
    """A real "disk full" for one process tree: writes fail with EFBIG instead of a signal."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    # `make test` measures subprocesses; here the data file cannot be written either, and
    # the failure would be one more line on stderr (the child inherits this environment)
    os.environ.pop("COVERAGE_PROCESS_CONFIG", None)


@pytest.mark.parametrize("kind", ["read-only", "under a file", "full"])
def test_serve_refuses_an_unusable_data_dir_in_one_line(tmp_path: Path, kind: str) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    directory, cause, preexec = {
        "read-only": (UNWRITABLE, "permission denied", None),
        "under a file": (a_file / "engine", "is a file, not a directory", None),
        "full": (tmp_path / "full", "file size limit", _no_file_may_grow),
    }[kind]
    result = serve("--data-dir", str(directory), preexec_fn=preexec)
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(directory) in lines[0] and cause in lines[0]
    assert "Traceback" not in result.stderr and "cannot bind" not in result.stderr


@pytest.mark.parametrize("kind", ["read-only", "under a file"])
def test_the_launcher_refuses_an_unusable_data_dir(tmp_path: Path, kind: str) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    directory = UNWRITABLE if kind == "read-only" else a_file / "engine"
    with pytest.raises(EngineStartError) as raised:
        ensure_engine(directory)
    message = str(raised.value)
    assert str(directory) in message and "\n" not in message
    assert ("permission denied" if kind == "read-only" else "not a directory") in message


def test_the_launcher_passes_on_the_engines_one_line_reason(tmp_path: Path) -> None:
    """The directory is writable, but the engine cannot make ``recordings/`` (a file is there)."""
    data_dir = tmp_path / "engine"
    data_dir.mkdir()
    (data_dir / "recordings").write_text("in the way")
    with pytest.raises(EngineStartError) as raised:
        ensure_engine(data_dir)
    message = str(raised.value)
    assert message.startswith(f"the engine's data directory {data_dir} is not usable")
    assert "recordings" in message and "\n" not in message


def test_the_launcher_refuses_a_full_data_dir(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from odyssey_jupyter.errors import EngineStartError\n"
        "from odyssey_jupyter.local.launch.launcher import ensure_engine\n"
        "try:\n"
        f"    ensure_engine(Path({str(tmp_path / 'full')!r}))\n"
        "except EngineStartError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('started')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_no_file_may_grow,
    )
    assert str(tmp_path / "full") in result.stdout and "file size limit" in result.stdout
    assert "started" not in result.stdout, result.stderr


def test_the_causes_are_named() -> None:
    for code, words in (
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EDQUOT, "quota"),
        (errno.EACCES, "permission denied"),
    ):
        assert words in cause_of(OSError(code, os.strerror(code)))


def test_the_engine_log_is_appended_to_and_an_older_looser_one_tightened(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    log.write_bytes(b"an earlier start\n")
    log.chmod(0o644)
    fd = create_private_file(log, append=True)
    try:
        os.write(fd, b"this start\n")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"an earlier start\nthis start\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_engine_log_is_never_written_through_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"someone else's file\n")
    elsewhere.chmod(0o644)
    (tmp_path / "engine.log").symlink_to(elsewhere)
    with pytest.raises(UnsafePathError):
        create_private_file(tmp_path / "engine.log", append=True)
    assert elsewhere.read_bytes() == b"someone else's file\n"
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644


def test_the_write_probe_never_writes_through_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"someone else's file\n")
    data_dir = tmp_path / "engine"
    data_dir.mkdir()
    planted = [data_dir / f".write-probe.{os.getpid()}", data_dir / ".write-probe.x"]
    for link in planted:
        link.symlink_to(elsewhere)
    probe_writable(data_dir)
    assert elsewhere.read_bytes() == b"someone else's file\n"
    assert sorted(data_dir.iterdir()) == sorted(planted)


def test_probes_at_once_in_one_process_never_meet(tmp_path: Path) -> None:
    failures: list[OSError] = []

    def probe_many() -> None:
        try:
            for _ in range(50):
                probe_writable(tmp_path)
        except OSError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=probe_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert list(tmp_path.iterdir()) == []
