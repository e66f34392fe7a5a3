"""Sweeps against the real engine over HTTP: caps, faults, lost answers, restarts, bad input."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.engine_http import ActiveSampler, client_for, server_jobs, use_api
from support.engines import RunningEngine
from support.faultproxy import FaultProxy
from support.hostile import code_templates
from support.waiting import wait_until

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.protocol import idempotency
from odyssey_jupyter.session.runtime import shutdown_runtime
from odyssey_jupyter.sweeps import Sweep, prepare, sweep
from odyssey_jupyter.sweeps.errors import SweepBusyError, SweepFailedError
from odyssey_jupyter.sweeps.ledger import Ledger, ledger_path, sweeps_dir

TEMPLATE = "0s start a {animal} in the {place}\n1s end"
GRID = {"animal": ["cat", "dog", "owl"], "place": ["rain", "snow"]}


def assert_one_job_per_item(s: Sweep, engine: RunningEngine, pack: int = 1) -> None:
    results = s.results()
    assert all(r["status"] == "completed" for r in results), results
    job_ids = {r["job_id"] for r in results}
    on_server = {j["job_id"] for j in server_jobs(engine)}
    assert job_ids == on_server, "a duplicate or a lost job"
    assert len(job_ids) == -(-len(results) // pack)
    for r in results:
        assert r["video"] and Path(r["video"]).is_file()


# --------------------------------------------------------------------------- bad input


def no_ledger_written() -> bool:
    directory = sweeps_dir()
    return not directory.exists() or not any(directory.iterdir())


def test_a_template_string_is_data_and_is_never_run(sandbox: Path) -> None:
    marker = sandbox / "PWNED"
    for template in code_templates(str(marker)):
        for plan in (prepare, sweep):
            with pytest.raises(ScriptError) as caught:
                plan(template, {"seed": [1, 2]})
            assert "Python" in str(caught.value) and "never run" in str(caught.value)
        assert not marker.exists(), template
    assert no_ledger_written()
    # the notebook cell its user wrote is the one place the Python form runs
    _, items = prepare(
        "[{'timestamp_ms': 0, 'start': {'prompt': f'take {seed}'}},\n"
        " {'timestamp_ms': 1000, 'end': {}}]",
        {"seed": [1, 2]},
        from_cell=True,
    )
    assert [i.script[0]["start"]["prompt"] for i in items] == ["take 1", "take 2"]


def test_a_flag_that_is_no_boolean_is_refused_before_the_ledger_is_written(
    sandbox: Path,
) -> None:
    for flag in ("portrait", "download", "keep_local"):
        odd: dict[str, Any] = {flag: 0}
        with pytest.raises(ScriptError) as caught:
            sweep(TEMPLATE, GRID, name=f"odd_{flag}", **odd)
        assert f"{flag} must be true or false, not 0" in str(caught.value)
    assert no_ledger_written()


def test_a_placeholder_with_no_value_names_it_and_the_item(sandbox: Path) -> None:
    with pytest.raises(ScriptError) as caught:
        sweep("0s start a {animal} in {weather}\n1s end", [{"animal": "cat"}, {"animal": "dog"}])
    text = str(caught.value)
    assert "weather" in text and "item 0" in text and "animal='cat'" in text
    assert no_ledger_written()


def test_a_placeholder_in_an_entry_list_names_it_and_the_item(sandbox: Path) -> None:
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    with pytest.raises(ScriptError) as caught:
        sweep(template, [{"animal": "cat"}, {"colour": "red"}])
    text = str(caught.value)
    assert "animal" in text and "item 1" in text and "colour='red'" in text
    assert no_ledger_written()


@pytest.mark.parametrize("params", [[], {}, {"animal": []}, {"animal": ["cat"], "seed": []}])
def test_an_empty_grid_is_refused(sandbox: Path, params: Any) -> None:
    with pytest.raises(ScriptError, match="no items"):
        sweep(TEMPLATE, params)
    assert no_ledger_written()


def test_more_than_ten_thousand_items_need_allow_large(sandbox: Path) -> None:
    grid = {"animal": ["cat"], "place": [f"p{i}" for i in range(101)], "seed": range(100)}
    with pytest.raises(ScriptError, match="10,100 items"):
        sweep(TEMPLATE, grid)
    assert no_ledger_written()
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal} at {place} #{seed}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    _name, items = prepare(template, grid, allow_large=True)
    assert len(items) == 10_100 and items[-1].params == {
        "animal": "cat",
        "place": "p100",
        "seed": 99,
    }
    assert no_ledger_written()


def test_a_huge_range_axis_is_counted_and_refused_before_anything_is_built(
    sandbox: Path,
) -> None:
    tracemalloc.start()
    try:
        for size in (10**7, 10**12):
            tracemalloc.reset_peak()
            with pytest.raises(ScriptError, match=f"{size:,} items"):
                prepare(TEMPLATE, {"animal": ["cat"], "seed": range(size)})
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 8 * 1024 * 1024, f"range({size}) cost {peak:,} bytes before the refusal"
    finally:
        tracemalloc.stop()
    assert no_ledger_written()


@pytest.mark.parametrize("name", ["has space", "1st", "a-b", "../up", "", "x" * 65, "dusk\n"])
def test_a_name_that_is_not_a_plain_identifier_is_refused(sandbox: Path, name: str) -> None:
    with pytest.raises(ScriptError, match="not a plain identifier"):
        sweep(TEMPLATE, GRID, name=name)
    assert no_ledger_written()


def test_a_filled_template_that_is_no_valid_script_names_the_item(sandbox: Path) -> None:
    for bad in ("", "x" * 5000):
        with pytest.raises(ScriptError) as caught:
            sweep("0s start {prompt}\n1s end", [{"prompt": "a cat"}, {"prompt": bad}])
        text = str(caught.value)
        assert "item 1" in text and "prompt=" in text and "line 1" in text
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "{what}"}},
        {"timestamp_ms": 1000, "interact": {"prompt": "{then}"}},
        {"timestamp_ms": 2000, "end": {}},
    ]
    with pytest.raises(ScriptError) as caught:
        sweep(template, {"what": ["a cat"], "then": ["it jumps", ""]})
    text = str(caught.value)
    assert "item 1" in text and "then=''" in text and "entry 1" in text
    assert no_ledger_written()


def test_bad_pack_and_limits_and_an_existing_name_are_refused(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ScriptError, match="pack"):
        sweep(TEMPLATE, GRID, pack=0)
    with pytest.raises(ScriptError, match="max_in_flight"):
        sweep(TEMPLATE, GRID, max_in_flight=0)
    with pytest.raises(ScriptError, match="params must be"):
        sweep(TEMPLATE, "cat")
    assert no_ledger_written()
    use_api(monkeypatch, engine.url, engine.api_key)
    first = sweep(TEMPLATE, {"animal": ["cat"], "place": ["rain"]}, name="twice")
    first.wait(60)
    with pytest.raises(ScriptError, match="already exists"):
        sweep(TEMPLATE, GRID, name="twice")
    assert len(first.ledger.items()) == 1


# --------------------------------------------------------------------------- scheduling


def test_a_sweep_keeps_within_the_declared_cap(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2", "--max-queued", "5")
    use_api(monkeypatch, running.url, running.api_key)
    params = {"seed": range(14)}
    with ActiveSampler(running) as sampler:
        s = sweep("0s start a lantern, take {seed}\n1s end", params, name="capped")
        assert s.wait(180)["completed"] == 14
    assert s.limit == 5 and s.limit_hits == 0  # the engine's declared cap, never exceeded
    rate = s.videos_per_minute()
    assert rate is not None and rate > 0 and s.eta_seconds() is None  # nothing left
    from odyssey_jupyter.display.sweep.summary import status_line

    assert "14/14" in status_line(s) and "videos/min" in status_line(s)
    assert sampler.samples > 5 and 1 <= sampler.peak <= 5
    assert_one_job_per_item(s, running)


def test_a_limit_above_the_cap_is_lowered_by_429s_and_still_completes(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2", "--max-queued", "5")
    use_api(monkeypatch, running.url, running.api_key)
    with ActiveSampler(running) as sampler:
        s = sweep("0s start a kite, take {seed}\n1s end", {"seed": range(12)}, max_in_flight=9)
        assert s.wait(180)["completed"] == 12
    assert s.limit == 9 and s.limit_hits >= 1
    assert s.last_limit_reason is not None and "at most 5" in s.last_limit_reason
    assert sampler.peak <= 5
    assert_one_job_per_item(s, running)


def test_twenty_percent_faults_make_no_duplicates_and_lose_nothing(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {j["job_id"] for j in server_jobs(engine)}
    with FaultProxy(engine.url, seed=13, stall_seconds=3.0, retry_after="0.2") as proxy:
        faults = {"reset_after": 0.06, "500_after": 0.05, "503": 0.03, "reset": 0.03, "429": 0.03}
        proxy.add_rule(rates=faults, method="POST", path="/simulation-jobs")
        proxy.add_rule(rates={"503": 0.08, "reset": 0.06, "truncate": 0.06}, method="GET")
        use_api(monkeypatch, proxy.url, engine.api_key)
        s = sweep("0s start a paper boat, take {seed}\n1s end", {"seed": range(12)}, name="faulty")
        counts = s.wait(240)
        faulted = sum(v for k, v in proxy.counts.items() if k != "ok")
    assert counts["completed"] == 12, s.results()
    assert faulted >= 3
    job_ids = {r["job_id"] for r in s.results()}
    made = {j["job_id"] for j in server_jobs(engine)} - before
    assert job_ids == made and len(made) == 12


def test_packed_items_share_jobs(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_api(monkeypatch, engine.url, engine.api_key)
    before = {j["job_id"] for j in server_jobs(engine)}
    s = sweep(TEMPLATE, {"animal": ["cat", "dog", "owl"], "place": ["rain"]}, pack=2)
    assert s.wait(120)["completed"] == 3
    assert s.limit == 10  # no cap declared: the setting, the hosted queue cap
    results = s.results()
    assert results[0]["job_id"] == results[1]["job_id"] != results[2]["job_id"]
    assert len({r["stream_id"] for r in results}) == 3
    made = {j["job_id"] for j in server_jobs(engine)} - before
    assert made == {r["job_id"] for r in results}


def test_a_refused_item_fails_alone_and_retry_failed_sends_only_it(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    use_api(monkeypatch, engine.url, engine.api_key)
    photo = sandbox / "photo.png"
    Image.new("RGB", (64, 64), (200, 40, 40)).save(photo)
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}", "image": "{photo}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    broken = "data:image/png;base64,bm90IGFuIGltYWdl"  # "not an image": refused when sent
    params = [
        {"animal": "cat", "photo": str(photo)},
        {"animal": "dog", "photo": broken},
        {"animal": "owl", "photo": str(photo)},
    ]
    s = sweep(template, params, name="one_bad")
    counts = s.wait(120)
    assert counts["completed"] == 2 and counts["failed"] == 1
    bad = s.items[1]
    assert bad.status == "failed" and bad.error and "readable image" in bad.error
    with pytest.raises(SweepFailedError, match="item 1"):
        s.wait(10, raise_on_failure=True)
    attempts_before = {row.index: row.attempts for row in s.ledger.items()}
    assert s.retry_failed() == 1
    s.wait(60)
    attempts_after = {row.index: row.attempts for row in s.ledger.items()}
    assert attempts_after == {
        0: attempts_before[0],
        1: attempts_before[1] + 1,
        2: attempts_before[2],
    }
    assert s.counts["completed"] == 2
    if _has_pandas():
        frame = s.to_pandas()
        assert list(frame["animal"]) == ["cat", "dog", "owl"]


def _has_pandas() -> bool:
    try:
        import pandas  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def test_pause_holds_submissions_and_resume_and_cancel_work(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2", "--pace", "realtime")
    use_api(monkeypatch, running.url, running.api_key)
    s = sweep("0s start a tide pool, take {seed}\n1s end", {"seed": range(8)}, max_in_flight=2)
    s.pause()
    s.wait(60)  # paused: returns once nothing is in flight
    settled = s.counts
    assert s.state == "paused" and settled["pending"] >= 4
    time.sleep(1.0)
    assert s.counts["pending"] == settled["pending"]  # nothing sent while paused
    s.resume()
    deadline = time.monotonic() + 60
    while s.counts["completed"] < settled["completed"] + 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    s.cancel()
    counts = s.wait(60)
    assert s.state == "cancelled" and counts["cancelled"] >= 1 and counts["pending"] == 0
    on_server = {j["job_id"] for j in server_jobs(running)}
    assert on_server == {r["job_id"] for r in s.results() if r["job_id"]}


def test_cancel_active_cancels_the_jobs_in_flight(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2", "--pace", "realtime")
    use_api(monkeypatch, running.url, running.api_key)
    s = sweep("0s start a long wave, take {seed}\n20s end", {"seed": range(5)}, max_in_flight=2)
    wait_until(lambda: len([i for i in s.items if i.job_id]) == 2, 90)
    s.cancel(active=True)
    counts = s.wait(60)
    assert s.state == "cancelled" and counts["cancelled"] == 5, s.results()
    jobs = server_jobs(running)
    assert len(jobs) == 2 and {j["status"] for j in jobs} == {"cancelled"}


# --------------------------------------------------------------------------- lost answers, restarts


CHILD = """
import sys, time
from odyssey_jupyter.session.config import OdysseyJupyter, set_config
set_config(OdysseyJupyter(recordings_dir=sys.argv[1]))
from odyssey_jupyter import sweep
s = sweep("0s start a comet, take {seed}\\n1s end", {"seed": range(int(sys.argv[3]))},
          name=sys.argv[2], max_in_flight=int(sys.argv[4]))
print("started", flush=True)
s.wait()
print("finished", flush=True)
time.sleep(60)
"""


def run_child(
    sandbox: Path, url: str, key: str, name: str, items: int, in_flight: int
) -> subprocess.Popen[str]:
    env = dict(os.environ, ODYSSEY_API_URL=url, ODYSSEY_API_KEY=key)
    env["ODYSSEY_HISTORY_PATH"] = str(sandbox / "child-history.jsonl")
    args = [sys.executable, "-c", CHILD, str(sandbox / "recs"), name, str(items), str(in_flight)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)


def ledger_states(name: str) -> dict[str, int]:
    path = ledger_path(name)
    if not path.exists():
        return {}
    db = sqlite3.connect(str(path), timeout=5)
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def test_resume_after_sigkill_halfway_makes_no_duplicates_and_loses_nothing(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2")
    child = run_child(sandbox, running.url, running.api_key, "killed", 10, 2)
    try:
        wait_until(lambda: ledger_states("killed").get("completed", 0) >= 3, 90)
        use_api(monkeypatch, running.url, running.api_key)
        with pytest.raises(SweepBusyError, match="being run by process"):
            Sweep.open("killed")  # two runners would send the pending items twice
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    states = ledger_states("killed")
    assert states.get("completed", 0) < 10, states  # really killed halfway
    use_api(monkeypatch, running.url, running.api_key)
    s = Sweep.open("killed")
    assert s.wait(120)["completed"] == 10
    assert_one_job_per_item(s, running)
    assert "killed" in Sweep.list()


def test_answers_lost_in_a_crash_are_resent_with_their_own_keys(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2")
    with FaultProxy(running.url, stall_seconds=60.0) as proxy:
        proxy.add_rule(rates={"stall_after": 1.0}, method="POST", path="/simulation-jobs")
        child = run_child(sandbox, proxy.url, running.api_key, "lost", 5, 3)
        try:
            wait_until(lambda: ledger_states("lost").get("submitting", 0) == 3, 90)
            wait_until(
                lambda: len(server_jobs(running)) == 3, 90
            )  # made, but the answers never came
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    keys = {row.key for row in ledger_rows("lost") if row.state == "submitting"}
    assert len(keys) == 3 and None not in keys
    use_api(monkeypatch, running.url, running.api_key)
    s = Sweep.open("lost")
    assert s.wait(120)["completed"] == 5
    assert s.keyed is True
    assert_one_job_per_item(s, running)


def ledger_rows(name: str) -> list[Any]:
    from odyssey_jupyter.sweeps.ledger import Ledger

    ledger = Ledger(ledger_path(name))
    try:
        return ledger.items()
    finally:
        ledger.close()


def test_without_idempotency_keys_a_lost_answer_is_unknown_and_never_resent(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_engine("--workers", "2")
    hidden = [idempotency.SUPPORT_HEADER]
    with FaultProxy(running.url, hide_headers=hidden) as proxy:
        proxy.add_rule(sequence=["reset_after"], method="POST", path="/simulation-jobs")
        use_api(monkeypatch, proxy.url, running.api_key)
        s = sweep(TEMPLATE, {"animal": ["cat", "dog", "owl"], "place": ["rain"]}, max_in_flight=1)
        counts = s.wait(120)
        assert s.keyed is False
        assert counts["unknown"] == 1 and counts["completed"] == 2, s.results()
        unknown = next(item for item in s.items if item.status == "unknown")
        assert unknown.error is not None and "resolve(" in unknown.error
        posts = proxy.count(method="POST", path="/simulation-jobs")
        assert posts == 3  # never resent silently
        made = [j["job_id"] for j in server_jobs(running)]
        assert len(made) == 3
        lost = (set(made) - {r["job_id"] for r in s.results() if r["job_id"]}).pop()
        s.resolve(unknown.index, job_id=lost)
        assert s.wait(120)["completed"] == 3
    assert_one_job_per_item(s, running)


def test_the_engine_declares_its_limits_and_renders_jobs_side_by_side(
    start_engine: Callable[..., RunningEngine],
) -> None:
    running = start_engine("--workers", "2", "--max-queued", "4", "--pace", "realtime")
    answer = httpx.post(f"{running.url}/auth/token", json={"api_key": running.api_key})
    assert answer.headers["Odyssey-Max-Active"] == "4"
    assert answer.headers["Odyssey-Render-Slots"] == "2"
    api = client_for(running)
    try:
        body = {
            "script": [
                {"timestamp_ms": 0, "start": {"prompt": "a"}},
                {"timestamp_ms": 3000, "end": {}},
            ]
        }
        codes = [api.post("/simulation-jobs", json=body).status_code for _ in range(5)]
        refused = api.post("/simulation-jobs", json=body)
        deadline = time.monotonic() + 60
        while True:  # two of the four jobs render at once, one per worker
            page = api.get("/simulation-jobs", params={"status": "processing"}).json()
            if page["total"] >= 2:
                break
            assert time.monotonic() < deadline, "never two jobs rendering at once"
            time.sleep(0.05)
    finally:
        api.close()
    assert codes[:4] == [200] * 4 and codes[4] == 429
    assert refused.json()["error"] == "CONCURRENT_LIMIT_REACHED"
    assert json.loads(refused.text)["details"]["limit"] == 4


def test_a_monthly_limit_pauses_with_what_to_do_and_resume_loses_nothing(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {j["job_id"] for j in server_jobs(engine)}
    with FaultProxy(engine.url) as proxy:
        proxy.add_rule(sequence=["ok", "429_monthly"], method="POST", path="/simulation-jobs")
        use_api(monkeypatch, proxy.url, engine.api_key)
        s = sweep(TEMPLATE, {"animal": ["cat", "dog", "owl"], "place": ["rain"]}, max_in_flight=1)
        counts = s.wait(120)
        assert s.state == "paused" and counts["completed"] == 1 and counts["pending"] == 2
        assert s.message is not None and "MONTHLY_LIMIT_REACHED" in s.message
        assert "Upgrade your plan" in s.message and "resume()" in s.message
        s.resume()
        assert s.wait(120)["completed"] == 3 and s.state == "done"
    made = {j["job_id"] for j in server_jobs(engine)} - before
    assert made == {r["job_id"] for r in s.results()}


def test_displays_escape_what_users_and_servers_wrote(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odyssey_jupyter.display.media.gallery import gallery_html
    from odyssey_jupyter.display.sweep.live import SweepText
    from odyssey_jupyter.display.sweep.plan import SweepPlan
    from odyssey_jupyter.display.sweep.summary import SweepFinal, status_html, status_line

    use_api(monkeypatch, engine.url, engine.api_key)
    evil = "<script>alert(1)</script>"
    broken = "data:image/png;base64,bm90IGFuIGltYWdl"
    template = [
        {"timestamp_ms": 0, "start": {"prompt": "a {animal}", "image": "{photo}"}},
        {"timestamp_ms": 1000, "end": {}},
    ]
    s = sweep(template, [{"animal": evil, "photo": broken}], name="evil")
    s.wait(60)
    assert "<script>alert" not in status_html(s)
    for text in (gallery_html(s.items), SweepFinal(s)._repr_html_()):
        assert "<script>alert" not in text and "&lt;script&gt;" in text
    assert "0/1 completed" in status_line(s) and "1 failed" in status_line(s)
    printed: list[str] = []
    SweepText(s, write=printed.append)  # a finished sweep: the final summary, once
    assert len(printed) == 1 and "item 0: failed" in printed[0]
    _name, items = prepare("0s start a {animal}\n2s end", {"animal": [evil, "owl"]}, pack=2)
    plan = SweepPlan("p", items, pack=2)
    assert "2 items, 1 jobs, 4 s of video" in repr(plan)
    assert "<script>alert" not in plan._repr_html_()


def test_a_ledger_names_no_file_outside_the_recordings_and_no_nan(sandbox: Path) -> None:
    from odyssey_jupyter.display.media.gallery import gallery

    folder = sandbox / "recs" / "j1" / "s1"
    folder.mkdir(parents=True)
    (folder / "video.mp4").write_bytes(b"\0" * 64)
    private = sandbox / "private.mp4"
    private.write_bytes(b"the user's private file")
    (folder / "out.mp4").symlink_to(private)
    script = json.dumps(
        [{"timestamp_ms": 0, "start": {"prompt": "p"}}, {"timestamp_ms": 1000, "end": {}}]
    )
    rows = [(i, i, '{"seed": NaN}', script) for i in range(4)]
    ledger = Ledger.create(ledger_path("planted"), {"name": "planted"}, rows)
    named = [str(private), str(folder / "out.mp4"), str(sandbox / "recs" / ".." / "private.mp4")]
    for unit, video in enumerate(named):
        ledger.finish_unit(unit, "completed", None, {unit: [{"stream_id": "s", "video": video}]})
    kept = {"stream_id": "s1", "video": str(folder / "video.mp4"), "thumbnail": str(private)}
    ledger.finish_unit(3, "completed", None, {3: [{**kept, "duration_seconds": float("inf")}]})
    items = Sweep("planted", ledger).items
    assert [item.video for item in items] == [None, None, None, folder / "video.mp4"]
    shown = items[3].recordings[0]
    assert shown.thumbnail_path is None and shown.duration_seconds is None
    assert all(item.params == {"seed": None} for item in items)
    html = gallery(items)._repr_html_()
    assert "private" not in html and "NaN" not in html and "Infinity" not in html
    ledger.close()


def test_a_ledger_its_side_files_and_its_lock_are_private_under_umask_022(
    sandbox: Path,
) -> None:
    old = os.umask(0o022)
    try:
        ledger = Ledger.create(ledger_path("private"), {"name": "private"}, [(0, 0, "{}", "[]")])
        ledger.claim()
    finally:
        os.umask(old)
    path = ledger_path("private")
    side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    made = [path, *side, path.with_suffix(".lock"), path.parent, path.parent.parent]
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in made if p.exists()}
    ledger.close()
    assert {"private.sqlite-wal", "private.sqlite-shm"} <= set(modes)
    assert modes == {p: ("0o700" if p in ("sweeps", "recs") else "0o600") for p in modes}


def test_params_from_a_dataframe_like_table(sandbox: Path) -> None:
    class Frame:  # what expand_params reads of a DataFrame: columns, iterrows, to_dict
        columns = ("animal", "seed")

        def iterrows(self) -> Iterator[Any]:
            raise AssertionError("not used")

        def to_dict(self, orient: str) -> list[dict[str, Any]]:
            assert orient == "records"
            return [{"animal": "cat", "seed": 1}, {"animal": "owl", "seed": 2}]

        def __len__(self) -> int:
            return 2

    _name, items = prepare("0s start a {animal}, take {seed}\n1s end", Frame())
    assert [item.params for item in items] == [
        {"animal": "cat", "seed": 1},
        {"animal": "owl", "seed": 2},
    ]
    assert items[1].script[0]["start"]["prompt"] == "a owl, take 2"


def test_rate_limits_beyond_the_clients_retries_hold_the_sweep_and_it_goes_on(
    sandbox: Path, engine: RunningEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {j["job_id"] for j in server_jobs(engine)}
    with FaultProxy(engine.url, retry_after="0.3") as proxy:
        proxy.add_rule(sequence=["429"] * 7, method="POST", path="/simulation-jobs")
        use_api(monkeypatch, proxy.url, engine.api_key)
        s = sweep(TEMPLATE, {"animal": ["cat", "owl"], "place": ["rain"]}, max_in_flight=1)
        assert s.wait(120)["completed"] == 2
        assert proxy.count(method="POST", path="/simulation-jobs", action="429") == 7
    made = {j["job_id"] for j in server_jobs(engine)} - before
    assert made == {r["job_id"] for r in s.results()} and len(made) == 2


def test_wait_says_so_when_the_runtime_stops_and_open_continues(
    sandbox: Path, start_engine: Callable[..., RunningEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    from odyssey_jupyter.errors import OdysseyError

    running = start_engine("--workers", "2", "--pace", "realtime")
    use_api(monkeypatch, running.url, running.api_key)
    s = sweep(
        "0s start a kite, take {seed}\n1s end", {"seed": range(4)}, name="stopped", max_in_flight=1
    )
    wait_until(lambda: s.items[0].job_id is not None, 90)
    shutdown_runtime()  # as %unload_ext or the interpreter's exit would
    with pytest.raises(OdysseyError, match=r"Sweep\.open"):
        s.wait(30)
    again = Sweep.open("stopped")
    assert again is not s and again.wait(120)["completed"] == 4
    assert_one_job_per_item(again, running)
