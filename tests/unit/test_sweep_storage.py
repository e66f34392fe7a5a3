"""The output store, the manifest, the budget and the shard grammar, without an engine."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from odyssey_jupyter.display.sweep.plan import SweepPlan
from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.session.config import OdysseyJupyter, get_config, set_config
from odyssey_jupyter.sweeps import prepare, sweep
from odyssey_jupyter.sweeps.budget import check_budget, spent
from odyssey_jupyter.sweeps.ledger import sweeps_dir
from odyssey_jupyter.sweeps.manifest import MANIFEST_COLUMNS, table_bytes
from odyssey_jupyter.sweeps.shard import parse_shard
from odyssey_jupyter.sweeps.storage import CHUNK, Store, StoreError, public_url


class Breaks(io.RawIOBase):
    """A source that gives two chunks, then fails (a download cut short)."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            raise OSError("the source went away")
        return b"x" * CHUNK


@pytest.mark.parametrize("where", ["memory://unit-bucket/out", "local"])
def test_a_copy_that_fails_midway_leaves_nothing_under_any_name(tmp_path: Path, where: str) -> None:
    store = Store.open(str(tmp_path / "out") if where == "local" else where, None)
    with pytest.raises(OSError, match="went away"):
        store.put_stream(Breaks(), "ds/videos/000000-0.mp4")  # type: ignore[arg-type]
    assert store.size("ds/videos/000000-0.mp4") is None
    if where == "local":
        assert not list((tmp_path / "out").rglob("*.mp4*"))
        assert not list((tmp_path / "out").rglob(".*part"))
    else:
        assert fsspec.filesystem("memory").find("/unit-bucket/out") == []


def test_a_whole_copy_is_private_on_disk_and_measured_by_size(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "out", None)
    data = os.urandom(3 * CHUNK + 17)
    assert store.put_stream(io.BytesIO(data), "ds/videos/000001-0.mp4") == len(data)
    final = tmp_path / "out" / "ds" / "videos" / "000001-0.mp4"
    assert final.read_bytes() == data and store.size("ds/videos/000001-0.mp4") == len(data)
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    assert store.uri("ds/videos/000001-0.mp4") == final.as_uri()


def test_credentials_never_reach_the_url_or_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    assert public_url("s3://AKIAID:s3cr3tvalue@bucket/prefix/?token=abcdef") == "s3://bucket/prefix"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value")
    store = Store.open("memory://b/p", {"secret": "option-secret-value"})
    text = str(store.error("write there", PermissionError("denied for option-secret-value")))
    assert "option-secret-value" not in text and "memory://b/p" in text
    text = str(store.error("write there", OSError("env-secret-value leaked")))
    assert "env-secret-value" not in text


def test_a_store_whose_filesystem_is_missing_names_the_extra_to_install() -> None:
    with pytest.raises(StoreError, match=r"odyssey_jupyter\[gcs\]") as caught:
        Store.open("gs://bucket/prefix", None)
    assert "gs://bucket/prefix" in str(caught.value)


def test_output_without_pyarrow_is_refused_naming_the_extra(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(StoreError, match=r"odyssey_jupyter\[parquet\]"):
        sweep("0s start a {a}\n1s end", {"a": ["cat"]}, name="nopa", output="memory://x/y")
    assert not sweeps_dir().exists() or not list(sweeps_dir().iterdir())


def test_a_param_named_like_a_manifest_column_is_refused_only_with_an_output(
    sandbox: Path,
) -> None:
    params = [{"status": "ok", "width": 3}]
    with pytest.raises(ScriptError, match="status, width") as caught:
        prepare("0s start a {status}\n1s end", params, name="clash", output="memory://x/y")
    assert "manifest column" in str(caught.value)
    name, items = prepare("0s start a {status}\n1s end", params, name="clash")
    assert name == "clash" and len(items) == 1


def test_the_manifest_has_its_columns_and_one_per_param_typed_or_as_json() -> None:
    rows = [
        {"item": 0, "params": {"seed": 1, "mix": [1, "a"]}, "prompts": ["a cat"], "width": 704},
        {"item": 1, "params": {"seed": 2, "mix": "b"}, "prompts": [], "status": "failed"},
    ]
    table = pq.read_table(io.BytesIO(table_bytes(rows, ["seed", "mix"])))
    assert table.column_names == ["item", "seed", "mix", *MANIFEST_COLUMNS[1:]]
    assert table.column("seed").to_pylist() == [1, 2]
    assert table.column("mix").to_pylist() == ['[1, "a"]', '"b"']
    assert table.column("prompts").to_pylist() == [["a cat"], []]


@pytest.mark.parametrize("text", ["2/2", "-1/3", "1", "a/b", "0/0"])
def test_a_bad_shard_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ScriptError, match="shard"):
        parse_shard(text)


def test_shards_split_the_items_by_index_and_need_a_name(sandbox: Path) -> None:
    assert parse_shard(" 1 / 3 ") == (1, 3)
    params = {"n": list(range(7))}
    name, items = prepare("0s start {n}\n1s end", params, name="grid", shard=(1, 3))
    assert name == "grid_shard1of3" and [i.index for i in items] == [1, 4]
    with pytest.raises(ScriptError, match="needs a name"):
        prepare("0s start {n}\n1s end", params, shard=(0, 2))


@pytest.mark.parametrize("value", [0, -5, True, "10", float("nan")])
def test_a_bad_budget_is_refused(value: object) -> None:
    with pytest.raises(ScriptError, match="max_video_seconds"):
        check_budget(value)


def test_the_budget_counts_what_was_sent() -> None:
    units = [
        ("completed", "j1", 2.0),
        ("running", "j2", 3.0),
        ("failed", "j3", 4.0),  # the server made it
        ("failed", None, 8.0),  # refused before a job was made
        ("pending", None, 16.0),
        ("cancelled", None, 32.0),
    ]
    assert spent(units) == 9.0


def test_a_dry_run_shows_the_estimated_cost_when_a_price_is_set(sandbox: Path) -> None:
    _, items = prepare("0s start a {a}\n4s end", {"a": ["cat", "owl", "fox"]}, name="priced")
    assert "cost" not in repr(SweepPlan("priced", items))
    previous = get_config()
    set_config(OdysseyJupyter(recordings_dir=previous.recordings_dir, price_per_video_second=0.05))
    try:
        text = repr(SweepPlan("priced", items))
    finally:
        set_config(previous)
    assert "12 s of video" in text and "about 0.60 at 0.05 per second" in text


def test_the_magic_takes_a_store_and_a_budget_only_with_a_sweep() -> None:
    from IPython.core.error import UsageError

    from odyssey_jupyter.ipython.magic_args import parse_simulate_line

    args = parse_simulate_line("--sweep grid --store s3://b/p --max-video-seconds 90", cell=True)
    assert (args.store, args.max_video_seconds) == ("s3://b/p", 90.0)
    with pytest.raises(UsageError, match="--store only work with --sweep"):
        parse_simulate_line("--store s3://b/p", cell=True)


@pytest.mark.parametrize(
    ("output", "options", "says"),
    [(5, None, "not int"), ("  ", None, "output is empty"), ("memory://a/b", "key=x", "not str")],
)
def test_a_bad_output_or_storage_options_is_refused_before_anything_is_written(
    sandbox: Path, output: object, options: object, says: str
) -> None:
    with pytest.raises(StoreError, match=says):
        sweep(
            "0s start a {a}\n1s end",
            {"a": ["cat"]},
            name="bad",
            output=output,  # type: ignore[arg-type]
            storage_options=options,  # type: ignore[arg-type]
        )
    assert not sweeps_dir().exists() or not list(sweeps_dir().iterdir())


def test_a_link_planted_below_a_local_output_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    from odyssey_jupyter.files.private import UnsafePathError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ds").symlink_to(elsewhere)
    store = Store.open(tmp_path / "out", None)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        store.put_bytes(b"data", "ds/videos/000000-0.mp4")
    with pytest.raises(StoreError, match="symbolic link"):
        store.check_writable("ds")
    assert list(elsewhere.iterdir()) == []


def test_a_ledger_names_no_file_or_stored_key_outside_for_an_export(tmp_path: Path) -> None:
    """What a copied or edited ledger names is read only inside the recordings and the output."""
    from odyssey_jupyter.sweeps.item_files import trusted_files

    base = tmp_path / "odyssey_recordings"
    inside = base / "job" / "stream" / "video.mp4"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"mp4")
    secret = tmp_path / "id_rsa"
    secret.write_text("private")
    good_key = "dusk/videos/000000-0.mp4"
    planted = {
        "video": str(secret),
        "events": str(inside),
        "stored": {
            "video": {"key": good_key, "size": 3},
            "events": {"key": "../../id_rsa", "size": 7},
            "thumbnail": {"key": "/etc/passwd", "size": 1},
            "preview": {"key": "dusk//x", "size": 1},
        },
    }
    (kept,) = trusted_files([planted], str(base))
    assert "video" not in kept and kept["events"] == str(inside)
    assert kept["stored"] == {"video": {"key": good_key, "size": 3}}


@pytest.mark.parametrize("dataset", ["../escaped", "a/b"])
def test_an_edited_ledger_names_no_dataset_folder_outside_the_output(
    sandbox: Path, dataset: str
) -> None:
    """The dataset name a ledger keeps becomes part of every key: it is checked as a name."""
    from odyssey_jupyter.cli.export import export_from_ledger
    from odyssey_jupyter.sweeps.handle import Sweep
    from odyssey_jupyter.sweeps.ledger import Ledger, LedgerError, ledger_path

    meta = {"name": "dusk", "output": str(sandbox / "store"), "dataset": dataset}
    Ledger.create(ledger_path("dusk"), meta, []).close()
    dest = sandbox / "out" / "dest"
    with pytest.raises(LedgerError, match="not a plain identifier"):
        export_from_ledger("dusk", str(dest), "parquet", 10)
    with pytest.raises(LedgerError, match="not a plain identifier"):
        Sweep.open("dusk")
    assert not (sandbox / "out" / "escaped.parquet").exists()
    assert not (sandbox / "store").exists() or not any((sandbox / "store").rglob("*"))


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("pack", "x", "pack must be a whole number"),
        ("pack", 0, "pack must be a whole number"),
        ("max_in_flight", "3", "max_in_flight must be a whole number"),
        ("max_in_flight", True, "max_in_flight must be a whole number"),
        ("max_video_seconds", "x", "max_video_seconds must be a number"),
        ("max_video_seconds", -1, "max_video_seconds must be more than 0"),
        ("portrait", "no", "portrait must be true or false"),
        ("keep_local", 1, "keep_local must be true or false"),
        ("output", 5, "output must be a URL or a folder, not a int"),
        ("shard", "ab", "shard must be a pair"),
        ("shard", [5], "shard must be a pair"),
        ("shard", [3, 2], "I must be 0 to N-1"),
        ("shard", [0.5, 2], "shard must be a pair"),
        ("shard", [True, 2], "shard must be a pair"),
        ("shard", 5, "shard must be a pair"),
        ("shard", {"a": 1, "b": 2}, "shard must be a pair"),
        ("output", " ", "output must be a URL or a folder, not an empty text"),
        ("dataset", ["a"], "dataset must be a name, not a list"),
        ("pack", "x" * 5000, "pack must be a whole number"),
    ],
)
def test_a_ledger_with_a_damaged_setting_is_refused_naming_it(
    sandbox: Path, setting: str, value: object, named: str
) -> None:
    """An edited ledger is one error naming the file and the setting, before anything runs."""
    import json
    import sqlite3

    from odyssey_jupyter.cli.export import export_from_ledger
    from odyssey_jupyter.sweeps.handle import Sweep
    from odyssey_jupyter.sweeps.ledger import Ledger, LedgerError, ledger_path

    meta = {"name": "dusk", "output": str(sandbox / "store"), "pack": 1}
    Ledger.create(ledger_path("dusk"), meta, []).close()
    db = sqlite3.connect(ledger_path("dusk"))
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (setting, json.dumps(value))
    )
    db.commit()
    db.close()
    for attempt in (
        lambda: Sweep.open("dusk"),
        lambda: export_from_ledger("dusk", str(sandbox / "d"), "parquet", 10),
    ):
        with pytest.raises(LedgerError) as caught:
            attempt()
        message = str(caught.value)
        assert str(ledger_path("dusk")) in message and named in message
        assert "nothing was sent" in message and len(message) < 600
    assert not (sandbox / "store").exists() and not (sandbox / "d").exists()


def test_the_settings_a_ledger_keeps_read_back_as_they_were_written() -> None:
    from odyssey_jupyter.sweeps.settings import SweepSettings, settings_meta, settings_of

    written = SweepSettings(
        portrait=False,
        pack=3,
        download=False,
        max_in_flight=2,
        max_video_seconds=90.5,
        output="s3://bucket/runs",
        dataset="dusk",
        shard=(1, 4),
        keep_local=False,
    )
    kept = json.loads(json.dumps(settings_meta(written)))
    assert settings_of(kept, Path("x.sqlite")) == written
    assert settings_of({}, Path("x.sqlite")) == SweepSettings()
    assert settings_meta(SweepSettings()) == {
        "portrait": True,
        "pack": 1,
        "download": True,
        "keep_local": True,
    }


def test_an_export_of_a_ledger_with_damaged_settings_is_one_clear_error(sandbox: Path) -> None:
    import sqlite3

    from odyssey_jupyter.cli.export import export_from_ledger
    from odyssey_jupyter.errors import OdysseyError
    from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path

    Ledger.create(ledger_path("dusk"), {"name": "dusk"}, []).close()
    db = sqlite3.connect(ledger_path("dusk"))
    db.execute("UPDATE meta SET value = '{not json' WHERE key = 'name'")
    db.commit()
    db.close()
    with pytest.raises(OdysseyError, match="is not a readable sweep ledger"):
        export_from_ledger("dusk", str(sandbox / "dest"), "parquet", 10)


def test_the_command_line_shows_only_the_files_a_ledger_may_name(sandbox: Path) -> None:
    """``status`` and ``items`` read a ledger's files as ``Sweep.open`` does: damaged entries
    and paths outside the recordings are dropped, not printed or tripped over."""
    import json
    import sqlite3

    from odyssey_jupyter.cli.records import item_cells, item_json, read_record
    from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path

    script = json.dumps([{"timestamp_ms": 0, "start": {"prompt": "a fox"}}])
    rows = [(0, 0, "{}", script)]
    Ledger.create(ledger_path("dusk"), {"name": "dusk"}, rows).close()
    planted = [1, "x", {"video": str(sandbox / "elsewhere.mp4")}]
    db = sqlite3.connect(ledger_path("dusk"))
    db.execute("UPDATE items SET state = 'completed', files = ?", (json.dumps(planted),))
    db.commit()
    db.close()
    record = read_record("dusk")
    (row,) = record.rows
    assert row.files == [{}]
    assert item_cells(record, row)[4] == "" and item_json(record, row)["videos"] == []


def test_a_sample_reads_its_chapters_from_the_events_log(tmp_path: Path) -> None:
    import json

    from odyssey_jupyter.sweeps.export import Sources, sample_meta
    from odyssey_jupyter.sweeps.item import SweepItem
    from odyssey_jupyter.sweeps.states import ItemState

    events = tmp_path / "events.jsonl"
    lines = [
        {"type": "start", "timestamp_ms": 1000, "prompt": "a fox"},
        {"type": "interact", "timestamp_ms": 3500, "prompt": "it runs"},
    ]
    events.write_bytes(("\n".join(map(json.dumps, lines)) + "\n\xff not json\n").encode("latin-1"))
    item = SweepItem(0, 0, {"seed": 1}, [], ItemState.COMPLETED)
    meta = sample_meta(item, {"events": str(events)}, Sources(None))
    assert [(c["time_s"], c["prompt"]) for c in meta["chapters"]] == [
        (0.0, "a fox"),
        (2.5, "it runs"),
    ]
    assert sample_meta(item, {}, Sources(None))["chapters"] == []
