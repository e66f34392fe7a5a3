"""``python -m odyssey_jupyter sweep ...`` as a user runs it: real processes, the real engine."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from support.cli import cli_env as env_for
from support.cli import sweep_command as command
from support.engine_http import server_jobs
from support.engines import RunningEngine
from support.hostile import code_templates
from support.waiting import wait_until


def cli(cwd: Path, engine: RunningEngine, *args: str) -> subprocess.CompletedProcess[str]:
    return command(cwd, env_for(cwd, engine.url, engine.api_key), *args)


def spec(cwd: Path, name: str, template: object, params: object) -> str:
    (cwd / name).write_text(json.dumps({"template": template, "params": params}))
    return name


def test_run_status_resume_items_list_and_exit_codes(tmp_path: Path, engine: RunningEngine) -> None:
    good = spec(
        tmp_path, "good.json", "0s start a {animal} at dusk\n1s end", {"animal": ["cat", "owl"]}
    )
    done = cli(tmp_path, engine, "run", good, "--name", "dusk")
    assert done.returncode == 0, done.stderr
    assert "dusk: 2 completed, 0 failed" in done.stderr and "|" in done.stderr
    status = cli(tmp_path, engine, "status", "dusk", "--json")
    assert status.returncode == 0, status.stderr
    facts = json.loads(status.stdout)
    assert list(facts) == ["name", "ledger", "running", "counts", "problems"]
    assert facts["counts"]["completed"] == facts["counts"]["total"] == 2
    assert facts["running"] is False and facts["problems"] == []
    table = cli(tmp_path, engine, "status", "dusk").stdout.splitlines()
    assert table[1].split() == ["STATE", "ITEMS"] and table[2].split() == ["completed", "2"]
    ids = {j["job_id"] for j in server_jobs(engine)}
    again = cli(tmp_path, engine, "resume", "dusk")  # nothing left to do: nothing sent
    assert again.returncode == 0, again.stderr
    assert {j["job_id"] for j in server_jobs(engine)} == ids

    items = json.loads(cli(tmp_path, engine, "items", "dusk", "--json").stdout)
    assert [list(item) for item in items] == [
        ["index", "state", "params", "job_id", "error", "videos"]
    ] * 2
    assert [item["params"] for item in items] == [{"animal": "cat"}, {"animal": "owl"}]
    assert all(item["job_id"] in ids for item in items)
    for item in items:
        (video,) = item["videos"]
        assert video.endswith(".mp4") and (tmp_path / video).is_file()
    rows = cli(tmp_path, engine, "items", "dusk").stdout.splitlines()
    assert rows[0].split() == ["INDEX", "STATE", "PARAMS", "JOB", "VIDEO", "ERROR"]
    assert "animal='owl'" in rows[2] and items[1]["videos"][0] in rows[2]
    # the columns line up: every row's state starts where the heading's does
    assert {row.index("completed") for row in rows[1:]} == {rows[0].index("STATE")}

    broken = "data:image/png;base64,bm90IGFuIGltYWdl"
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}", "image": "{photo}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    bad = spec(tmp_path, "bad.json", template, [{"animal": "dog", "photo": broken}])
    failed = cli(tmp_path, engine, "run", bad, "--name", "broken")
    assert failed.returncode == 1
    assert "item 0 failed" in failed.stderr and "readable image" in failed.stderr
    status = cli(tmp_path, engine, "status", "broken")
    assert status.returncode == 1 and "readable image" in status.stdout
    only = json.loads(
        cli(tmp_path, engine, "items", "broken", "--state", "failed", "--json").stdout
    )
    assert [item["index"] for item in only] == [0]
    assert (
        json.loads(cli(tmp_path, engine, "items", "dusk", "--state", "failed", "--json").stdout)
        == []
    )

    listed = cli(tmp_path, engine, "list").stdout.splitlines()
    assert listed[0].split()[:4] == ["NAME", "ITEMS", "COMPLETED", "FAILED"]
    assert [row.split()[:4] for row in listed[1:]] == [
        ["broken", "1", "0", "1"],
        ["dusk", "2", "2", "0"],
    ]
    summaries = json.loads(cli(tmp_path, engine, "list", "--json").stdout)
    assert [s["name"] for s in summaries] == ["broken", "dusk"]
    assert list(summaries[0]) == ["name", "running", "counts", "error"]

    typo = spec(tmp_path, "typo.json", "0s start {x}\n1s end", [])
    refused = cli(tmp_path, engine, "run", typo)
    assert refused.returncode == 2 and "no items" in refused.stderr
    (tmp_path / "odd.json").write_text(json.dumps({"template": "x", "params": [], "colour": 1}))
    odd = cli(tmp_path, engine, "run", "odd.json")
    assert odd.returncode == 2 and "colour" in odd.stderr
    assert cli(tmp_path, engine, "status", "nope").returncode == 2
    wrong = cli(tmp_path, engine, "items", "dusk", "--state", "runing")
    assert wrong.returncode == 2 and "invalid choice: 'runing'" in wrong.stderr


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


def test_a_spec_flag_that_is_no_boolean_is_refused_not_read_as_true(
    tmp_path: Path, engine: RunningEngine
) -> None:
    for flag in ("portrait", "download", "keep_local"):
        (tmp_path / f"{flag}.json").write_text(json.dumps({**GOOD, flag: "false"}))
        refused = cli(tmp_path, engine, "run", f"{flag}.json")
        assert refused.returncode == 2, (flag, refused.stderr[-300:])
        assert f"{flag} must be true or false, not 'false'" in refused.stderr, refused.stderr
    assert not (tmp_path / "odyssey_recordings").exists()


def test_a_stopped_run_counts_its_unfinished_items_as_stopped_not_running(
    tmp_path: Path, start_engine: Callable[..., RunningEngine]
) -> None:
    """Ctrl-C leaves jobs rendering on the server: the ledger cannot know they finished, so
    status never calls them running; resume settles them."""
    engine = start_engine("--pace", "realtime")
    env = env_for(tmp_path, engine.url, engine.api_key)
    slow = spec(
        tmp_path,
        "slow.json",
        "0s start a {animal} at dusk\n5s end",
        {"animal": ["cat", "owl"]},
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", "run", slow, "--name", "halted"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def in_flight() -> bool:
            probe = command(tmp_path, env, "status", "halted", "--json")
            facts = json.loads(probe.stdout) if probe.returncode == 0 else None
            return bool(facts and facts["running"] and facts["counts"]["running"])

        wait_until(in_flight, 120, "a job of the sweep rendering", interval=0.2)
        busy = command(tmp_path, env, "resume", "halted")  # one runner at a time
        assert busy.returncode == 3 and "is being run by process" in busy.stderr, busy.stderr
        run.send_signal(signal.SIGINT)
        _, said = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 130, said
    assert "`python -m odyssey_jupyter sweep resume halted` continues it" in said
    stopped = command(tmp_path, env, "status", "halted", "--json")
    counts = json.loads(stopped.stdout)["counts"]
    assert counts["stopped"] > 0, counts
    assert counts["running"] == counts["queued"] == counts["submitting"] == 0, counts
    shown = command(tmp_path, env, "status", "halted").stdout
    assert "no process is running it" in shown and "sweep resume halted` follows them" in shown
    assert not re.search(r"^running\s", shown, re.M), shown
    resumed = command(tmp_path, env, "resume", "halted")
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads(command(tmp_path, env, "status", "halted", "--json").stdout)["counts"]
    assert final["completed"] == final["total"] == 2 and final["stopped"] == 0


def test_tables_fit_the_terminal_and_cut_long_cells_with_an_ellipsis(
    tmp_path: Path, engine: RunningEngine
) -> None:
    long = "a lighthouse keeper " * 8
    wide = spec(tmp_path, "wide.json", "0s start {what}\n1s end", {"what": [long.strip(), "a cat"]})
    assert cli(tmp_path, engine, "run", wide, "--name", "wide").returncode == 0
    narrow = env_for(tmp_path, engine.url, engine.api_key, COLUMNS="72")
    shown = command(tmp_path, narrow, "items", "wide").stdout.splitlines()
    assert len(shown) == 3 and all(len(line) <= 72 for line in shown), shown
    assert "…" in shown[1] and "a cat" in shown[2]
    assert {line.index("completed") for line in shown[1:]} == {shown[0].index("STATE")}
    piped = command(tmp_path, env_for(tmp_path, engine.url, engine.api_key), "items", "wide")
    assert long.strip() in piped.stdout  # no terminal: no width to fit, nothing cut


def test_advice_names_commands_spec_keys_and_the_real_sweep(
    tmp_path: Path, engine: RunningEngine
) -> None:
    missing = spec(tmp_path, "y.json", "0s start a {x} and a {y}\n1s end", {"x": ["cat"]})
    said = cli(tmp_path, engine, "run", missing).stderr
    assert "unknown variable 'y'" in said and "add y to the spec's params" in said, said
    assert "cell above" not in said
    first = spec(tmp_path, "one.json", "0s start a {x}\n1s end", {"x": ["cat"]})
    assert cli(tmp_path, engine, "run", first, "--name", "cli12").returncode == 0
    twice = cli(tmp_path, engine, "run", first, "--name", "cli12")
    assert twice.returncode == 2
    assert "`python -m odyssey_jupyter sweep resume cli12` continues it" in twice.stderr
    assert "Sweep.open" not in twice.stderr
    big = spec(
        tmp_path,
        "big.json",
        "0s start {a} {b}\n1s end",
        {"a": list(range(101)), "b": list(range(100))},
    )
    large = cli(tmp_path, engine, "run", big)
    assert large.returncode == 2 and "pass --allow-large" in large.stderr, large.stderr
    assert "allow_large=True" not in large.stderr


def test_every_subcommand_and_flag_is_described_with_the_exit_codes(tmp_path: Path) -> None:
    from odyssey_jupyter.cli import COMMANDS, build_parsers

    _, parsers = build_parsers()
    assert sorted(parsers) == sorted(c.name for c in COMMANDS)
    for name, parser in parsers.items():
        for action in parser._actions:
            assert action.help and action.help.strip(), (name, action.dest)
    for name, parser in parsers.items():
        text = parser.format_help()
        assert "exit codes:" in text and "2    bad input" in text, name
    env = dict(os.environ)
    for words in (["run", "--help"], ["--help"]):  # as a user asks for it
        shown = command(tmp_path, env, *words)
        assert shown.returncode == 0 and "130  interrupted" in shown.stdout
    listed = command(tmp_path, env, "--help").stdout
    for each in COMMANDS:
        assert re.search(rf"^\s+{each.name}\s+{re.escape(each.help[:30])}", listed, re.M)
