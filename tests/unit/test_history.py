"""The local submission history: what is recorded, never the key, fast lookups."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from odyssey_jupyter.session import history

SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "a lighthouse at dusk"}},
    {"timestamp_ms": 1000, "interact": {"prompt": "waves"}},
    {"timestamp_ms": 2000, "end": {}},
    {"timestamp_ms": 2000, "start": {"prompt": "second stream"}},
    {"timestamp_ms": 3000, "end": {}},
]


@pytest.fixture
def history_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "h" / "history.jsonl"
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(path))
    return path


def test_default_path_respects_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ODYSSEY_HISTORY_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert history.history_path() == tmp_path / "odyssey_jupyter" / "history.jsonl"


def test_record_and_lookup(history_file: Path) -> None:
    history.record(
        "job-1",
        scripts=[SCRIPT],
        portrait=False,
        api_url="https://user:ody_secret@api.example.com:8443/v1",
        created=123.0,
    )
    text = history_file.read_text()
    assert "ody_secret" not in text and "user" not in text
    entry = json.loads(text)
    assert entry == {
        "job_id": "job-1",
        "created": 123.0,
        "portrait": False,
        "prompt": "a lighthouse at dusk",
        "streams": 2,
        "length": 3.0,  # both streams, end to end: what the job browser expects of it
        "host": "api.example.com:8443",
    }
    assert history.first_prompt("job-1") == "a lighthouse at dusk"
    assert history.first_prompt("nope") is None
    assert history.lookup(["job-1", "nope"]) == {"job-1": entry}
    history.record("job-2", scripts=None, portrait=True, api_url=None)
    assert history.first_prompt("job-2") is None  # script_url jobs have no prompt
    assert [e["job_id"] for e in history.entries()] == ["job-2", "job-1"]


def test_lookup_is_cached_and_sees_appends(history_file: Path) -> None:
    history_file.parent.mkdir(parents=True)
    with open(history_file, "w") as out:
        for i in range(10_000):
            out.write(json.dumps({"job_id": f"j{i}", "created": i, "prompt": f"p{i}"}) + "\n")
        out.write("garbage line\n")
    ids = [f"j{i}" for i in range(0, 10_000, 500)]
    assert len(history.lookup(ids)) == 20
    # cached: 100 page lookups cost far less than re-reading the file each time
    started = time.perf_counter()
    for _ in range(100):
        assert history.lookup(ids)["j500"]["prompt"] == "p500"
    per_page = (time.perf_counter() - started) / 100
    print(f"history lookup of 20 rows among 10,000: {per_page * 1e6:.0f} us")
    history.record("fresh", scripts=[SCRIPT], portrait=True, api_url=None)
    assert history.first_prompt("fresh") == "a lighthouse at dusk"


def test_unwritable_history_is_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(blocker / "sub" / "history.jsonl"))
    history.record("x", scripts=[SCRIPT], portrait=True, api_url=None)  # logs, does not raise
    assert history.lookup(["x"]) == {}


def test_a_damaged_created_field_is_repaired_never_raised(history_file: Path) -> None:
    history_file.parent.mkdir(parents=True)
    damaged = ['"abc"', "{}", "[1]", "true", "NaN", "Infinity", "1e999", "null"]
    lines = [
        f'{{"job_id": "bad{i}", "created": {v}, "prompt": "p"}}' for i, v in enumerate(damaged)
    ]
    lines += ['{"job_id": "old", "created": 1}', '{"job_id": "new", "created": 2.5}']
    history_file.write_text("\n".join(lines) + "\n")
    found = history.entries()
    assert [e["job_id"] for e in found[:2]] == ["new", "old"]
    assert len(found) == 10 and all(e["created"] is None for e in found[2:])


def test_a_byte_that_is_not_utf8_spoils_only_its_own_line(history_file: Path) -> None:
    history_file.parent.mkdir(parents=True)
    history_file.write_bytes(
        b'{"job_id": "before", "created": 1, "prompt": "a fox"}\n'
        b'{"job_id": "bad", "created": 2, "prompt": "caf\xe9"}\n'
        b"\xff\xfe not json\n"
        b'{"job_id": "after", "created": 3, "prompt": "a heron"}\n'
    )
    found = history.lookup(["before", "bad", "after"])
    assert found["before"]["prompt"] == "a fox" and found["after"]["prompt"] == "a heron"
    assert found["bad"]["prompt"] == "caf\ufffd"
    assert history.first_prompt("after") == "a heron"


def test_the_history_and_its_folder_are_private_under_umask_022(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "made" / "by us" / "history.jsonl"
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(path))
    tmp_path.chmod(0o755)
    old = os.umask(0o022)
    try:
        history.record("j1", scripts=[SCRIPT], portrait=True, api_url=None)
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert {oct(p.stat().st_mode & 0o777) for p in (path.parent, path.parent.parent)} == {"0o700"}
    assert tmp_path.stat().st_mode & 0o777 == 0o755  # a folder we did not make is left alone
    (path.parent / "elsewhere").write_text("keep\n")
    path.unlink()
    path.symlink_to(path.parent / "elsewhere")
    history.record("j2", scripts=[SCRIPT], portrait=True, api_url=None)  # logs, does not raise
    assert (path.parent / "elsewhere").read_text() == "keep\n"


def test_a_history_an_older_version_left_readable_is_made_private(history_file: Path) -> None:
    history_file.parent.mkdir(parents=True)
    history_file.write_text("")
    history_file.chmod(0o644)
    history.record("j1", scripts=[SCRIPT], portrait=False, api_url=None)
    assert oct(history_file.stat().st_mode & 0o777) == oct(0o600)
    assert json.loads(history_file.read_text())["job_id"] == "j1"


def test_a_prompt_with_a_lone_surrogate_is_recorded_and_read_back(history_file: Path) -> None:
    # the Python API takes any str; the line it makes must still reach the file
    script = [{"timestamp_ms": 0, "start": {"prompt": "caf\u00e9 \ud800 dusk"}}]
    history.record("job-s", scripts=[script], portrait=False, api_url=None)
    assert history.first_prompt("job-s") == "caf\u00e9 \ud800 dusk"
    assert "caf\u00e9" in history_file.read_text(encoding="utf-8")  # still readable as text
