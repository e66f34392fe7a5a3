"""A mistyped flag or status gets the closest known one: the magics and the CLI alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from odyssey_jupyter.cli import read_spec
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.ipython.magic_args import (
    jobs_parser,
    parse_jobs_line,
    parse_simulate_line,
    simulate_parser,
)
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.text.flag_hints import known_flags, meant_flags, unknown_flags


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--potrait", "unknown option: --potrait (did you mean --portrait?)"),
        ("--lanscape", "unknown option: --lanscape (did you mean --landscape?)"),
        ("--dry_run", "unknown option: --dry_run (did you mean --dry-run?)"),
        ("-portrait", "unknown option: -portrait (did you mean --portrait?)"),
        ("--timout 5", "unknown option: --timout (did you mean --timeout?)"),
        # flags cannot be abbreviated: a word that begins one flag means that flag
        ("--cancel", "unknown option: --cancel (did you mean --cancel-on-interrupt?)"),
        (
            "--max 3 --sweep grid",
            "unknown option: --max (did you mean --max-in-flight or --max-video-seconds?)",
        ),
        ("--nmae x --sweep grid", "unknown option: --nmae (did you mean --name?)"),
        # the value after = is not repeated
        ("--ouptut=secret_name", "unknown option: --ouptut (did you mean --output?)"),
        (
            "--potrait --wiat",
            "unknown options: --potrait (did you mean --portrait?), --wiat (did you mean --wait?)",
        ),
        ("--verbose", "unknown option: --verbose\n"),  # nothing close: no guess
    ],
)
def test_unknown_simulate_flags_offer_the_closest(line: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_simulate_line(line, cell=True)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "usage: %%odyssey_simulate" in message
    assert "secret_name" not in message


def test_one_suggestion_and_only_known_flags() -> None:
    known = known_flags(simulate_parser())
    assert "--portrait" in known and "-o" in known and "--pack" in known
    for typo in ("--potrait", "--wiat", "--imgae", "--no-downlaod", "--pakc", "--sweeep"):
        assert meant_flags(typo, known)[0] in known
    assert meant_flags("--quiet", known) == []
    assert meant_flags("--help", known) == []  # the magics take no --help
    assert unknown_flags(["a_variable", "-"], simulate_parser()) == ""


def test_the_line_form_still_takes_its_variable() -> None:
    assert parse_simulate_line("--wait plan", cell=False).variable == "plan"
    with pytest.raises(UsageError, match="did you mean --wait"):
        parse_simulate_line("--wiat plan", cell=False)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("runing", "running"),
        ("RUNING", "running"),
        ("cancel", "cancelled"),
        ("complete", "completed"),
        ("pendng", "pending"),
        ("faild", "failed"),
    ],
)
def test_unknown_status_names_it_offers_one_and_lists_all(typo: str, meant: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_jobs_line(f"--status {typo}")
    message = str(caught.value)
    assert message.startswith(f"unknown status '{typo}' (did you mean {meant}?); use one of ")
    assert message.endswith(", ".join(status.value for status in JobStatus))


def test_a_status_far_from_any_lists_them_without_a_guess() -> None:
    with pytest.raises(UsageError) as caught:
        parse_jobs_line("--status done")
    assert str(caught.value) == (
        "unknown status 'done'; use one of "
        "pending, dispatched, processing, running, completed, failed, cancelled"
    )


def test_jobs_flags_and_a_bare_status() -> None:
    with pytest.raises(UsageError, match=r"unknown option: --stat \(did you mean --status\?\)"):
        parse_jobs_line("--stat running")
    with pytest.raises(UsageError, match=r"unknown option: --actve \(did you mean --active\?\)"):
        parse_jobs_line("--actve")
    with pytest.raises(UsageError, match=r"running \(did you mean --status running\?\)"):
        parse_jobs_line("running")
    assert known_flags(jobs_parser()) == ["--active", "--status", "--limit", "--offset"]
    assert parse_jobs_line("--status Running").status == "running"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_the_cli_answers_a_typo_the_same_way(tmp_path: Path) -> None:
    typo = _cli("run", "spec.json", "--max-inflight", "3", cwd=tmp_path)
    assert typo.returncode == 2
    assert "unknown option: --max-inflight (did you mean --max-in-flight?)" in typo.stderr
    assert "usage: python -m odyssey_jupyter sweep run" in typo.stderr
    stray = _cli("status", "dusk", "dawn", cwd=tmp_path)
    assert stray.returncode == 2 and "unexpected argument(s): dawn" in stray.stderr
    assert "Traceback" not in typo.stderr + stray.stderr


def test_a_spec_key_typo_gets_the_closest_key(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"template": "x", "params": [], "max_inflight": 2, "zzz": 1}))
    with pytest.raises(OdysseyError) as caught:
        read_spec(spec)
    assert "unknown key(s) max_inflight (did you mean max_in_flight?), zzz; known:" in str(
        caught.value
    )
