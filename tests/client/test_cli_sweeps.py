"""``python -m odyssey_jupyter sweep ...`` as a user runs it: real processes, the real engine."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from support.engine_http import server_jobs
from support.engines import RunningEngine
from support.hostile import code_templates


def cli(cwd: Path, engine: RunningEngine, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    env["ODYSSEY_HISTORY_PATH"] = str(cwd / "history.jsonl")
    return subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_run_status_resume_and_exit_codes(tmp_path: Path, engine: RunningEngine) -> None:
    good = {"template": "0s start a {animal} at dusk\n1s end", "params": {"animal": ["cat", "owl"]}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    done = cli(tmp_path, engine, "run", "good.json", "--name", "dusk")
    assert done.returncode == 0, done.stderr
    assert "dusk: 2 completed, 0 failed" in done.stderr and "|" in done.stderr
    status = cli(tmp_path, engine, "status", "dusk")
    assert status.returncode == 0 and json.loads(status.stdout)["completed"] == 2
    ids = {j["job_id"] for j in server_jobs(engine)}
    again = cli(tmp_path, engine, "resume", "dusk")  # nothing left to do: nothing sent
    assert again.returncode == 0, again.stderr
    assert {j["job_id"] for j in server_jobs(engine)} == ids
    listed = cli(tmp_path, engine, "list")
    assert listed.stdout.split() == ["dusk"]

    broken = "data:image/png;base64,bm90IGFuIGltYWdl"
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}", "image": "{photo}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    bad = {"template": template, "params": [{"animal": "dog", "photo": broken}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    failed = cli(tmp_path, engine, "run", "bad.json", "--name", "broken")
    assert failed.returncode == 1
    assert "item 0 failed" in failed.stderr and "readable image" in failed.stderr
    assert cli(tmp_path, engine, "status", "broken").returncode == 1

    (tmp_path / "typo.json").write_text(
        json.dumps({"template": "0s start {x}\n1s end", "params": []})
    )
    refused = cli(tmp_path, engine, "run", "typo.json")
    assert refused.returncode == 2 and "no items" in refused.stderr
    (tmp_path / "odd.json").write_text(json.dumps({"template": "x", "params": [], "colour": 1}))
    odd = cli(tmp_path, engine, "run", "odd.json")
    assert odd.returncode == 2 and "colour" in odd.stderr
    assert cli(tmp_path, engine, "status", "nope").returncode == 2


def test_a_spec_template_in_the_python_form_is_refused_never_run(
    tmp_path: Path, engine: RunningEngine
) -> None:
    marker = tmp_path / "PWNED"
    for number, template in enumerate(code_templates(str(marker))):
        spec = {"template": template, "params": {"seed": [1, 2]}}
        (tmp_path / f"code{number}.json").write_text(json.dumps(spec))
        refused = cli(tmp_path, engine, "run", f"code{number}.json")
        assert refused.returncode == 2, refused.stderr
        assert "Python" in refused.stderr and "Traceback" not in refused.stderr
        assert not marker.exists(), template
    assert not (tmp_path / "odyssey_recordings").exists()


GOOD = {"template": "0s start a {animal} at dusk\n1s end", "params": {"animal": ["cat"]}}


def test_planted_links_in_the_sweeps_folder_are_refused_and_nothing_is_touched(
    tmp_path: Path, engine: RunningEngine
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    sweeps = tmp_path / "odyssey_recordings" / "sweeps"
    sweeps.mkdir(parents=True)
    sent = len(server_jobs(engine))
    for suffix in (".lock", ".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal"):
        for target in (victim, tmp_path / f"made{suffix}"):
            link = sweeps / f"dusk{suffix}"
            link.symlink_to(target)
            refused = cli(tmp_path, engine, "run", "good.json", "--name", "dusk")
            assert refused.returncode == 2, (suffix, refused.stderr)
            assert f"{link} is a symbolic link" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr
            link.unlink()
            assert sorted(p.name for p in sweeps.iterdir()) == [], suffix  # no ledger left
    assert victim.read_text() == "the user's own file\n"
    assert not list(tmp_path.glob("made*"))
    assert len(server_jobs(engine)) == sent  # nothing was sent either

    done = cli(tmp_path, engine, "run", "good.json", "--name", "dusk")
    assert done.returncode == 0, done.stderr
    for suffix in ("-wal", "-shm", "-journal"):
        link = sweeps / f"dusk.sqlite{suffix}"
        link.symlink_to(victim)
        for action in ("status", "resume"):
            refused = cli(tmp_path, engine, action, "dusk")
            assert refused.returncode == 2 and f"{link} is a symbolic link" in refused.stderr
        link.unlink()
    assert victim.read_text() == "the user's own file\n"


def test_what_a_sweep_writes_is_private_under_umask_022(
    tmp_path: Path, engine: RunningEngine
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    tmp_path.chmod(0o755)
    env = dict(os.environ, ODYSSEY_API_URL=engine.url, ODYSSEY_API_KEY=engine.api_key)
    env["ODYSSEY_HISTORY_PATH"] = str(tmp_path / "cache" / "odyssey" / "history.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", "run", "good.json", "--name", "dusk"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        umask=0o022,
    )
    assert done.returncode == 0, done.stderr
    made = [tmp_path / "cache", *(tmp_path / "cache").rglob("*")]
    made += [tmp_path / "odyssey_recordings", *(tmp_path / "odyssey_recordings").rglob("*")]
    kinds = {p.suffix for p in made if p.is_file()}
    assert {".sqlite", ".lock", ".jsonl", ".mp4"} <= kinds, kinds
    loose = {
        str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777)
        for p in made
        if p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600)
    }
    assert loose == {}, "readable by other users"
    assert tmp_path.stat().st_mode & 0o777 == 0o755  # the user's own folder is left alone


def foreign_database(path: Path) -> bytes:
    """Another program's SQLite file (rollback journal, no ledger tables); its bytes."""
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep')")
    db.commit()
    db.close()
    return path.read_bytes()


def test_status_checks_the_name_and_only_reads_a_ledger(
    tmp_path: Path, engine: RunningEngine
) -> None:
    sweeps = tmp_path / "odyssey_recordings" / "sweeps"
    sweeps.mkdir(parents=True)
    outside = foreign_database(tmp_path / "other.sqlite")
    for name in ("../../other", "dusk\n", "a b"):
        refused = cli(tmp_path, engine, "status", name)
        assert refused.returncode == 2 and "not a plain identifier" in refused.stderr
    assert (tmp_path / "other.sqlite").read_bytes() == outside

    inside = foreign_database(sweeps / "foreign.sqlite")
    (sweeps / "junk.sqlite").write_text("not a database, only text\n" * 40)
    for action in ("status", "resume"):
        for name in ("foreign", "junk"):
            refused = cli(tmp_path, engine, action, name)
            assert refused.returncode == 2, refused.stderr
            assert refused.stderr.count("\n") == 1 and "is not a sweep ledger" in refused.stderr
    assert (sweeps / "foreign.sqlite").read_bytes() == inside  # no WAL switch, no tables
    assert sorted(p.name for p in sweeps.iterdir()) == ["foreign.sqlite", "junk.sqlite"]


def test_a_spec_is_read_with_a_cap_and_refused_clearly(
    tmp_path: Path, engine: RunningEngine
) -> None:
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    deep = '{"template": "0s start a {x}\\n1s end", "params": ' + "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text(deep + "}")
    cases = {
        "deep.json": "nests lists or objects more than",
        str(fifo): "is not a regular file",
        "/dev/zero": "is not a regular file",
        str(tmp_path): "is not a regular file",
    }
    for number, value in enumerate(("NaN", "Infinity", "-Infinity", "1e999")):
        spec = '{"template": "0s start a {x}\\n1s end", "params": {"x": [VALUE]}}'
        spec = spec.replace("VALUE", value)
        (tmp_path / f"odd{number}.json").write_text(spec)
        cases[f"odd{number}.json"] = f"{value} is not a finite number"
    for spec_path, problem in cases.items():
        refused = cli(tmp_path, engine, "run", spec_path)
        assert refused.returncode == 2, (spec_path, refused.stderr[-300:])
        assert problem in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    assert not (tmp_path / "odyssey_recordings").exists()
