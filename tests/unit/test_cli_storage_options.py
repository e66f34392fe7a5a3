"""``--storage-options FILE.json``: a JSON object read from a file, its content never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from odyssey_jupyter.cli.storage_options import read_storage_options
from odyssey_jupyter.errors import OdysseyError

SECRET = "s3cr3t-never-shown"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (json.dumps([SECRET]), "it holds a list"),
        (json.dumps(SECRET), "it holds a string"),
        ("null", "it holds null"),
        ("true", "it holds a boolean"),
        ("4.5", "it holds a number"),
        ('{"secret": "' + SECRET + '"', "is not valid JSON"),
        ('{"secret": NaN}', "is not a finite number"),
    ],
)
def test_a_file_that_holds_no_options_object_is_refused_without_showing_it(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "store.json"
    path.write_text(text)
    with pytest.raises(OdysseyError) as caught:
        read_storage_options(path)
    message = str(caught.value)
    assert str(path) in message and says in message and SECRET not in message


def test_no_file_is_no_options_and_an_object_is_read_as_it_is(tmp_path: Path) -> None:
    assert read_storage_options(None) is None
    path = tmp_path / "store.json"
    options = {"key": "k", "secret": SECRET, "client_kwargs": {"region_name": "eu-west-1"}}
    path.write_text(json.dumps(options))
    assert read_storage_options(path) == options
    fifo = tmp_path / "store.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OdysseyError, match="is not a regular file"):
        read_storage_options(fifo)


@pytest.mark.parametrize(
    "args",
    [
        ["resume", "dusk", "--storage-options", "store.json"],
        ["export", "dusk", "--to", "out", "--to-storage-options", "store.json"],
    ],
)
def test_the_command_refuses_a_bad_options_file_in_one_line_before_anything(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "store.json").write_text(json.dumps([SECRET]))
    env = dict(os.environ, ODYSSEY_HISTORY_PATH=str(tmp_path / "history.jsonl"))
    done = subprocess.run(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "store.json must hold a JSON object" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]


def test_a_file_given_to_run_takes_the_place_of_the_spec_s_options_even_when_empty(
    tmp_path: Path,
) -> None:
    from odyssey_jupyter.cli import build_parsers
    from odyssey_jupyter.cli.run import dataset_options

    spec = {"template": "0s start a\n1s end", "params": [{}], "storage_options": {"anon": True}}
    (tmp_path / "empty.json").write_text("{}")
    parser, _ = build_parsers()
    given = ["sweep", "run", "spec.json", "--storage-options", str(tmp_path / "empty.json")]
    assert dataset_options(parser.parse_args(given), spec)["storage_options"] == {}
    bare = parser.parse_args(["sweep", "run", "spec.json"])
    assert dataset_options(bare, spec)["storage_options"] == {"anon": True}
