"""Sweeps writing their dataset to a real S3-compatible server (and memory://): objects whole
or absent, exact resume, the store checked first, a failing store pausing the sweep,
shards sharing one account, the manifest and the WebDataset shards read back."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas  # type: ignore[import-untyped]
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import webdataset
from support.engine_http import ActiveSampler, server_jobs
from support.engines import RunningEngine
from support.s3 import BUCKET, READ_ONLY, REGION, S3Server, s3_server
from support.waiting import wait_until

from odyssey_jupyter.display.sweep.summary import status_html, status_line
from odyssey_jupyter.session.mp4_info import read_mp4_info
from odyssey_jupyter.session.runtime import shutdown_runtime
from odyssey_jupyter.sweeps import Sweep, sweep
from odyssey_jupyter.sweeps.ledger import sweeps_dir
from odyssey_jupyter.sweeps.manifest import MANIFEST_COLUMNS
from odyssey_jupyter.sweeps.storage import CHUNK, Store, StoreError

TEMPLATE = "0s start a {animal} in the {place}\n1s interact it looks up\n2s end"
GRID = {"animal": ["cat", "owl", "fox"], "place": ["rain", "snow"]}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return s3


def cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    full = dict(os.environ, **env, ODYSSEY_HISTORY_PATH=str(cwd / "history.jsonl"))
    return subprocess.Popen(
        [sys.executable, "-m", "odyssey_jupyter", "sweep", *args],
        cwd=cwd,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def engine_env(engine: RunningEngine) -> dict[str, str]:
    return {"ODYSSEY_API_URL": engine.url, "ODYSSEY_API_KEY": engine.api_key}


def completed_in_ledger(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM items WHERE state='completed'").fetchone()[0])
    except sqlite3.OperationalError:  # caught while the ledger is being created
        return 0
    finally:
        db.close()


def manifest(s3: S3Server, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(s3.read(key))).to_pylist()
    return rows


def assert_whole_mp4s(s3: S3Server, rows: list[dict[str, Any]], tmp: Path) -> None:
    """Every row's video is an object in the bucket and a whole MP4 of the right length."""
    prefix = f"s3://{BUCKET}/"
    for row in rows:
        assert row["video"].startswith(prefix), row
        data = s3.read(row["video"][len(prefix) :])
        local = tmp / "check.mp4"
        local.write_bytes(data)
        info = read_mp4_info(local)
        assert info.duration_seconds == pytest.approx(row["duration_seconds"], abs=0.1)
        assert (info.width, info.height) == (row["width"], row["height"])


def test_a_cli_sweep_to_s3_killed_then_resumed_leaves_one_whole_object_per_recording(
    tmp_path: Path, s3: S3Server, start_engine: Any
) -> None:
    engine = start_engine("--workers", "2", "--pace", "realtime")
    spec = {"template": TEMPLATE, "params": GRID, "name": "kept"}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = {**engine_env(engine), **s3.env()}
    output = f"s3://{BUCKET}/runs"
    child = cli(tmp_path, env, "run", "spec.json", "--output", output)
    ledger = tmp_path / "odyssey_recordings" / "sweeps" / "kept.sqlite"
    try:
        wait_until(lambda: completed_in_ledger(ledger) >= 2, 120)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert completed_in_ledger(ledger) < 6, "killed too late to test a resume"

    resumed = cli(tmp_path, env, "resume", "kept")
    _, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err
    assert engine.api_key not in err and s3.secret not in err

    rows = manifest(s3, "runs/kept/manifest.parquet")
    assert sorted(row["item"] for row in rows) == list(range(6))
    frame = pandas.read_parquet(io.BytesIO(s3.read("runs/kept/manifest.parquet")))
    assert list(frame["animal"]) == [row["animal"] for row in rows]
    assert frame["video"].str.endswith(".mp4").all()
    assert all(row["status"] == "completed" for row in rows)
    assert_whole_mp4s(s3, rows, tmp_path)
    videos = [k for k in s3.objects("runs/kept/") if k.startswith("runs/kept/videos/")]
    assert len(videos) == len(rows) == 6  # as many objects as recordings
    assert len(server_jobs(engine)) == 6  # as many jobs as items: nothing regenerated
    assert {row["job_id"] for row in rows} == {job["job_id"] for job in server_jobs(engine)}

    exported = cli(
        tmp_path, env, "export", "kept", "--to", f"s3://{BUCKET}/wds", "--shard-size", "4"
    )
    out, err = exported.communicate(timeout=120)
    assert exported.returncode == 0, err
    assert out.split() == [
        f"s3://{BUCKET}/wds/kept-000000.tar",
        f"s3://{BUCKET}/wds/kept-000001.tar",
    ]
    shards = []
    for name in ("kept-000000.tar", "kept-000001.tar"):
        (tmp_path / name).write_bytes(s3.read(f"wds/{name}"))
        shards.append(str(tmp_path / name))
    samples = list(webdataset.WebDataset(shards, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"{i:06d}-0" for i in range(6)]
    for sample in samples:
        meta = json.loads(sample["json"])
        assert meta["params"]["animal"] in GRID["animal"]
        assert [c["prompt"] for c in meta["chapters"]] == meta["prompts"]
        assert meta["prompts"][1] == "it looks up"
        assert sample["mp4"][4:8] == b"ftyp"


def test_the_command_line_reads_a_store_s_options_from_a_file_and_keeps_them_nowhere(
    tmp_path: Path, s3: S3Server, start_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run, resume and export reach a store known only by an options file (no AWS_* at all)."""
    for name in s3.env():
        monkeypatch.delenv(name, raising=False)
    engine = start_engine("--workers", "2")
    spec = {"template": "0s start a {animal}\n1s end", "params": {"animal": ["cat", "owl"]}}
    (tmp_path / "spec.json").write_text(json.dumps({**spec, "name": "filed"}))
    options = {
        "key": s3.key_id,
        "secret": s3.secret,
        "endpoint_url": s3.url,
        "client_kwargs": {"region_name": REGION},
    }
    (tmp_path / "store.json").write_text(json.dumps(options))
    (tmp_path / "wrong.json").write_text(json.dumps({**options, "secret": "wrong-secret-42"}))
    env = engine_env(engine)
    output = f"s3://{BUCKET}/filed"
    said = []

    def run(*args: str) -> tuple[int, str]:
        child = cli(tmp_path, env, *args)
        out, err = child.communicate(timeout=180)
        said.append(out + err)
        return child.returncode, out

    code, _ = run("run", "spec.json", "--output", output, "--storage-options", "store.json")
    assert code == 0, said[-1]
    assert len(manifest(s3, "filed/filed/manifest.parquet")) == 2
    code, _ = run("resume", "filed", "--storage-options", "wrong.json")
    assert code == 2 and output in said[-1] and "permission" in said[-1]
    code, _ = run("resume", "filed", "--storage-options", "store.json")
    assert code == 0, said[-1]
    code, out = run(
        "export", "filed", "--to", f"s3://{BUCKET}/filed-wds",
        "--storage-options", "store.json", "--to-storage-options", "store.json",
    )  # fmt: skip
    assert code == 0, said[-1]
    assert out.split() == [f"s3://{BUCKET}/filed-wds/filed-000000.tar"]
    with tarfile.open(fileobj=io.BytesIO(s3.read("filed-wds/filed-000000.tar"))) as tar:
        assert sum(name.endswith(".mp4") for name in tar.getnames()) == 2
    ledger = (tmp_path / "odyssey_recordings" / "sweeps" / "filed.sqlite").read_bytes()
    for secret in (s3.secret, s3.key_id, "wrong-secret-42"):
        assert secret.encode() not in ledger
        assert not any(secret in text for text in said)
    assert len(server_jobs(engine)) == 2


@pytest.mark.parametrize(
    ("where", "options", "says"),
    [
        ("s3://no-such-bucket/p", None, "does not exist"),
        (f"s3://{BUCKET}/{READ_ONLY}", None, "permission denied"),
        (f"s3://{BUCKET}/p", {"key": "AKIAWRONGKEY123", "secret": "wrong-secret-42"}, "permission"),
    ],
    ids=["missing bucket", "read-only prefix", "wrong key"],
)
def test_a_store_that_cannot_be_written_is_one_clear_error_and_nothing_is_sent(
    sandbox: Path,
    s3_env: S3Server,
    start_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    options: dict[str, str] | None,
    says: str,
) -> None:
    engine = start_engine()
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    with pytest.raises(StoreError) as caught:
        sweep(TEMPLATE, GRID, name="refused", output=where, storage_options=options)
    text = str(caught.value)
    assert where in text and says in text
    for secret in (s3_env.secret, "wrong-secret-42", "AKIAWRONGKEY123"):
        assert secret not in text
    assert not sweeps_dir().exists() or not list(sweeps_dir().iterdir())
    assert server_jobs(engine) == []


def test_a_store_stopped_mid_sweep_pauses_it_and_resume_finishes_after_its_restart(
    sandbox: Path, start_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = start_engine("--workers", "1", "--pace", "realtime")
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    with s3_server(access_control=False) as store:
        for name, value in store.env().items():
            monkeypatch.setenv(name, value)
        s = sweep(TEMPLATE, GRID, name="flaky", output=f"s3://{BUCKET}/out", max_in_flight=2)
        wait_until(lambda: s.counts["completed"] >= 1, 120)
        store.stop()
        s.wait(240)
        assert s.state == "paused"
        assert s.message is not None and f"s3://{BUCKET}/out" in s.message
        assert "resume()" in s.message and store.secret not in s.message
        store.start()  # an empty store again: everything must be copied anew
        s.resume()
        counts = s.wait(240)
        assert s.state == "done" and counts["completed"] == 6
        rows = manifest(store, "out/flaky/manifest.parquet")
        assert [row["item"] for row in rows] == list(range(6))
        assert_whole_mp4s(store, rows, sandbox)
        assert len(server_jobs(engine)) == 6


def test_two_shards_share_one_engine_under_its_cap_and_cover_every_item_once(
    tmp_path: Path, s3: S3Server, start_engine: Any
) -> None:
    engine = start_engine("--workers", "2", "--max-queued", "4")
    params = {"animal": [f"a{i}" for i in range(10)]}
    (tmp_path / "spec.json").write_text(
        json.dumps({"template": "0s start a {animal}\n1s end", "params": params, "name": "split"})
    )
    env = {**engine_env(engine), **s3.env()}
    output = f"s3://{BUCKET}/shared"
    with ActiveSampler(engine) as sampler:
        shards = [
            cli(tmp_path, env, "run", "spec.json", "--output", output, "--shard", f"{i}/2")
            for i in range(2)
        ]
        for child in shards:
            _, err = child.communicate(timeout=240)
            assert child.returncode == 0, err
    assert sampler.samples > 0 and sampler.peak <= 4
    keys = [f"shared/split/manifest-0000{i}-of-00002.parquet" for i in range(2)]
    assert set(keys) <= set(s3.objects("shared/split/"))
    import s3fs

    fs = s3fs.S3FileSystem(
        key=s3.key_id,
        secret=s3.secret,
        endpoint_url=s3.url,
        client_kwargs={"region_name": "us-east-1"},
        skip_instance_cache=True,
    )
    table = pads.dataset([f"{BUCKET}/{k}" for k in keys], filesystem=fs, format="parquet")
    frame = table.to_table().to_pandas()
    assert sorted(frame["item"]) == list(range(10))  # every item once, across the shards
    assert set(frame["animal"]) == set(params["animal"])
    assert list(frame.columns[:2]) == ["item", "animal"]
    assert set(MANIFEST_COLUMNS) <= set(frame.columns)
    assert len(server_jobs(engine)) == 10


def test_a_budget_of_seven_items_submits_seven_and_says_why_it_stopped(
    sandbox: Path, start_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = start_engine("--workers", "2")
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    s = sweep(
        "0s start a {n}\n2s end", {"n": list(range(12))}, name="budgeted", max_video_seconds=15
    )
    counts = s.wait(120)
    assert counts["completed"] == 7 and counts["pending"] == 5
    assert s.state == "paused" and s.message is not None
    assert "budget" in s.message and "14 s" in s.message and "15" in s.message
    assert s.budget_text() == "14/15 s of video"
    assert "14/15 s of video" in status_line(s) and "14/15 s of video" in status_html(s)
    assert len(server_jobs(engine)) == 7
    s.set_budget(24)
    s.resume()
    counts = s.wait(120)
    assert counts["completed"] == 12 and s.state == "done"
    assert len(server_jobs(engine)) == 12


def test_a_resume_copies_only_what_the_store_lacks_and_regenerates_nothing(
    sandbox: Path, engine_env: RunningEngine
) -> None:
    s = sweep(
        TEMPLATE,
        GRID,
        name="exact",
        output="memory://exact-bucket/out",
        storage_options={"token": "tok-secret-123"},
    )
    assert s.wait(120)["completed"] == 6
    kept = b"".join(p.read_bytes() for p in sweeps_dir().glob("exact.sqlite*"))
    assert kept and b"tok-secret-123" not in kept
    assert s.output is not None and s.output.uploads == 18  # video, thumbnail, events each
    jobs = {r["job_id"] for r in s.results()}
    shutdown_runtime()

    again = Sweep.open("exact")
    again.wait(60)
    assert again.output is not None and again.output.uploads == 0

    import fsspec

    fs = fsspec.filesystem("memory")
    fs.rm("/exact-bucket/out/exact/videos/000002-0.mp4")  # lost from the store
    Path(str(again.items[2].video)).unlink()  # and from this machine
    shutdown_runtime()
    third = Sweep.open("exact")
    third.wait(60)
    assert third.output is not None and third.output.uploads == 1  # downloaded, not rendered
    assert {r["job_id"] for r in third.results()} == jobs
    with fs.open("/exact-bucket/out/exact/videos/000002-0.mp4", "rb") as handle:
        assert handle.read(8)[4:8] == b"ftyp"
    for entry in fs.find("/exact-bucket/out/exact"):
        assert ".part" not in entry


def test_keep_local_false_removes_each_copy_once_the_store_holds_it(
    sandbox: Path, engine_env: RunningEngine, tmp_path: Path
) -> None:
    s = sweep(TEMPLATE, GRID, name="remote", output="memory://remote-bucket/o", keep_local=False)
    assert s.wait(120)["completed"] == 6
    for item in s.items:
        assert all("video" not in entry for entry in item.files)
    for job_id in {item.job_id for item in s.items}:
        assert not list((sandbox / "recs" / str(job_id)).rglob("*.mp4"))
    shards = s.export(str(tmp_path / "wds"), shard_size=10)
    assert shards == [(tmp_path / "wds" / "remote-000000.tar").as_uri()]
    with tarfile.open(tmp_path / "wds" / "remote-000000.tar") as tar:
        names = tar.getnames()
    assert len(names) == 12 and names[0] == "000000-0.mp4" and names[1] == "000000-0.json"


class CutShort(io.RawIOBase):
    """Twelve megabytes (a multipart upload is under way), then the source fails."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.sent >= 12:
            raise OSError("the download broke")
        self.sent += 1
        return os.urandom(CHUNK)


def test_an_upload_that_breaks_midway_leaves_no_object_and_no_open_multipart_upload(
    s3_env: S3Server,
) -> None:
    store = Store.open(f"s3://{BUCKET}/cut", None)
    with pytest.raises(OSError, match="download broke"):
        store.put_stream(CutShort(), "ds/videos/000000-0.mp4")  # type: ignore[arg-type]
    assert s3_env.objects("cut/") == {}
    pending = s3_env.client().list_multipart_uploads(Bucket=BUCKET, Prefix="cut/")
    assert pending.get("Uploads", []) == []
    data = os.urandom(9 * CHUNK)  # two parts: a completed multipart upload
    assert store.put_stream(io.BytesIO(data), "ds/videos/000001-0.mp4") == len(data)
    assert s3_env.read("cut/ds/videos/000001-0.mp4") == data


def test_the_gallery_says_where_a_video_is_when_no_local_copy_was_kept(
    sandbox: Path, engine_env: RunningEngine
) -> None:
    from odyssey_jupyter.display.media.compare import compare
    from odyssey_jupyter.display.media.gallery import gallery_html

    s = sweep(
        TEMPLATE,
        {"animal": ["cat"], "place": ["rain"]},
        name="far",
        output="memory://far/o",
        keep_local=False,
    )
    assert s.wait(120)["completed"] == 1
    html = gallery_html(s.items)
    where = "memory://far/o/far/videos/000000-0.mp4"
    assert f"no local copy to play; the video is at {where}" in html
    assert "<video" not in html
    with pytest.raises(ValueError, match=f"item 0 has no local copy to play.*{where}"):
        compare(s.items[0], s.items[0])
    assert "dataset: memory://far/o/far/manifest.parquet; the players here play nothing" in (
        status_html(s)
    )
