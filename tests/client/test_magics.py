"""The magics (%%odyssey_simulate, _jobs, _login, _local) in IPython's in-process test shell.

The shell's ``run_cell`` result carries the exception (``error_in_exec``), so each
test checks what was raised and, against the real engine, whether anything was sent.
Without a kernel the magic uses its text display, which these tests also read.
"""

from __future__ import annotations

import _thread
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython
from support.engine_http import engine_total
from support.engines import RunningEngine, engines_under, stop_pids
from support.malformed_scripts import MALFORMED
from support.shells import run
from support.standin import StandIn

from odyssey_jupyter.errors import JobTimeoutError, OdysseyError, ScriptError

pytestmark = pytest.mark.usefixtures("in_tmp_dir")


@pytest.fixture(scope="module")
def shell(engine: RunningEngine) -> Iterator[InteractiveShell]:
    ip = start_ipython()
    assert ip is not None
    # nest_asyncio patches asyncio for the whole process: keep it out of the test run
    # (the kernel tests cover it); this also checks that the setting is honoured.
    ip.config.OdysseyJupyter.nest_asyncio = False
    ip.run_line_magic("load_ext", "odyssey_jupyter")
    from odyssey_jupyter.ipython import extension

    assert not extension._state.get("nest_applied")
    from odyssey_jupyter.session.runtime import get_runtime

    get_runtime().configure(api_key=engine.api_key, api_url=engine.url)
    yield ip
    ip.run_line_magic("unload_ext", "odyssey_jupyter")
    del ip.config.OdysseyJupyter["nest_asyncio"]


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- body forms


def test_timeline_with_wait_output_and_landscape(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    error = run(
        shell,
        "%%odyssey_simulate --wait -o tl --landscape\n"
        "0s start A lighthouse  # comment\n+500ms interact a wave \\#2\n1s end",
    )
    assert error is None
    job = shell.user_ns["tl"]
    assert str(job.status) == "completed" and job.portrait is False
    assert job.scripts[0][1]["interact"]["prompt"] == "a wave #2"
    recs = job.local_recordings
    assert recs and recs[0].video_path.is_file()
    out = capsys.readouterr().out
    assert f"Job {job.job_id} completed" in out
    assert "video.mp4" in out  # the final summary lists the players as text


def test_python_form_pasted_from_the_guide_with_image_bytes(shell: InteractiveShell) -> None:
    shell.user_ns["image_bytes"] = png_bytes()
    error = run(
        shell,
        "%%odyssey_simulate --wait --no-download -o py\n"
        "script = [\n"
        "    # image-to-video, as in the Simulate API guide\n"
        '    {"timestamp_ms": 0, "start": {"prompt": "A red card", "image": image_bytes}},\n'
        '    {"timestamp_ms": 1000, "end": {}},\n'
        "]\n",
    )
    assert error is None
    job = shell.user_ns["py"]
    assert str(job.status) == "completed"
    assert job.local_recordings is None  # --no-download


def test_json_batch(shell: InteractiveShell) -> None:
    one = [{"timestamp_ms": 0, "start": {"prompt": "a cat"}}, {"timestamp_ms": 500, "end": {}}]
    two = [{"timestamp_ms": 0, "start": {"prompt": "a dog"}}, {"timestamp_ms": 500, "end": {}}]
    body = json.dumps({"scripts": [one, two]}, indent=1)
    assert run(shell, f"%%odyssey_simulate --wait --no-download -o js\n{body}") is None
    job = shell.user_ns["js"]
    assert len(job.detail.streams) == 2
    assert sorted(s.script_index for s in job.detail.streams) == [0, 1]


def test_line_form_submits_a_variable(shell: InteractiveShell) -> None:
    shell.user_ns["my_script"] = [
        {"timestamp_ms": 0, "start": {"prompt": "a fox"}},
        {"timestamp_ms": 500, "end": {}},
    ]
    assert run(shell, "%odyssey_simulate --portrait --wait --no-download -o lf my_script") is None
    assert str(shell.user_ns["lf"].status) == "completed"
    assert shell.user_ns["lf"].portrait is True


def test_without_wait_the_cell_returns_the_job_unfinished(shell: InteractiveShell) -> None:
    assert run(shell, "%%odyssey_simulate -o quick --no-download\n0s start a bee\n1s end") is None
    job = shell.user_ns["quick"]
    assert job.phase in ("starting engine", "submitting", "watching")
    assert job.wait(60).status == "completed"


def test_dry_run_sends_nothing_and_image_flag(
    shell: InteractiveShell, engine: RunningEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.user_ns["img"] = png_bytes()
    before = engine_total(engine)
    error = run(
        shell,
        "%%odyssey_simulate --dry-run --image {img} -o plan\n"
        "0s start a kite\n2s end\n---\n0s start a boat image={img}\n1s end",
    )
    assert error is None
    plan = shell.user_ns["plan"]
    assert plan[0][0]["start"]["image"] == shell.user_ns["img"]
    out = capsys.readouterr().out
    assert "Dry run (nothing sent): 2 scripts" in out and "0s start a kite" in out
    assert engine_total(engine) == before


def test_dry_run_warnings_do_not_say_the_job_is_sent(
    shell: InteractiveShell, engine: RunningEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = engine_total(engine)
    cell = "%%odyssey_simulate --dry-run\n0s start a kite\n0.5s interact a gust\n3s end"
    assert run(shell, cell) is None
    out = capsys.readouterr().out
    assert "Dry run (nothing sent)" in out and "1 warning" in out
    assert "still sent" not in out and "a real run would still send the job" in out
    assert engine_total(engine) == before


def test_dry_run_picture_has_lanes_prompts_and_thumbnail(shell: InteractiveShell) -> None:
    from odyssey_jupyter.display.job.timeline import ScriptTimeline
    from odyssey_jupyter.script.cell_parser import parse_cell

    parsed = parse_cell(
        "0s start a kite image={img}\n+1s interact it dives\n2s end\n2s start a boat\n3s end",
        {"img": png_bytes()},
    )
    picture = ScriptTimeline(parsed.scripts)._repr_html_()
    assert picture.count('class="odyssey-cue"') == 3
    assert "it dives" in picture and "stream 2" in picture
    assert 'class="odyssey-timeline-image"' in picture and "data:image/jpeg;base64," in picture


# --------------------------------------------------------------------------- outcomes


def test_timeout_stops_waiting_and_says_the_job_goes_on(shell: InteractiveShell) -> None:
    error = run(
        shell, "%%odyssey_simulate --timeout 0.05 -o slow --no-download\n0s start a snail\n3s end"
    )
    assert isinstance(error, JobTimeoutError)
    assert "goes on" in str(error) and "slow.cancel()" in str(error)
    assert error._render_traceback_()  # type: ignore[attr-defined]  # attached when raised
    shell.user_ns["slow"].cancel()


def test_failed_submission_raises_after_the_display(shell: InteractiveShell) -> None:
    shell.user_ns["broken"] = "data:image/png;base64,AAAA"
    error = run(shell, "%%odyssey_simulate --wait -o bad\n0s start a ghost image={broken}\n1s end")
    assert isinstance(error, OdysseyError), error
    job = shell.user_ns["bad"]  # -o keeps the handle even though the job went wrong
    assert job.phase in ("error", "done")
    assert error._render_traceback_()  # type: ignore[attr-defined]


def test_wait_by_default_from_config(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "OdysseyJupyter.wait_by_default = True")
    try:
        assert (
            run(shell, "%%odyssey_simulate -o dflt --no-download\n0s start an owl\n1s end") is None
        )
        assert str(shell.user_ns["dflt"].status) == "completed"
    finally:
        shell.run_line_magic("config", "OdysseyJupyter.wait_by_default = False")


def test_config_is_listed_and_settable(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("config", "OdysseyJupyter")
    out = capsys.readouterr().out
    for name in ("poll_interval_min", "wait_by_default", "recordings_dir", "embed_videos"):
        assert f"OdysseyJupyter.{name}" in out
    from odyssey_jupyter.session.config import get_config

    shell.run_line_magic("config", "OdysseyJupyter.embed_max_mb = 5")
    assert get_config().embed_max_mb == 5


# --------------------------------------------------------------------------- mistakes send nothing

BAD_LINES = [
    ("--bogus", "--bogus"),
    ("--portrait --landscape", "conflict"),
    ("--timeout soon", "--timeout"),
    ("--timeout -3", "--timeout"),
    ("-o 1abc", "-o"),
    ("--dry-run --wait", "--dry-run"),
    ("--dry-run --no-download", "--dry-run"),
    ("extra_word", "unexpected argument"),
    ("--image", "--image"),
    ('--image "unclosed', "cannot read"),
]


@pytest.mark.parametrize(("line", "phrase"), BAD_LINES)
def test_bad_flags_are_usage_errors(shell: InteractiveShell, line: str, phrase: str) -> None:
    error = run(shell, f"%%odyssey_simulate {line}\n0s start a cat\n1s end")
    assert isinstance(error, UsageError), error
    assert phrase in str(error)


def test_line_form_mistakes(shell: InteractiveShell) -> None:
    assert "one variable" in str(run(shell, "%odyssey_simulate --wait"))
    assert "no variable named" in str(run(shell, "%odyssey_simulate nowhere_defined"))
    shell.user_ns["not_a_script"] = 42
    assert isinstance(run(shell, "%odyssey_simulate not_a_script"), ScriptError)


def test_malformed_scripts_raise_one_located_error_and_submit_nothing(
    shell: InteractiveShell, engine: RunningEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.user_ns["number"] = 42
    before = engine_total(engine)
    for text, line, phrase in MALFORMED:
        error = run(shell, "%%odyssey_simulate --wait\n" + text)
        assert isinstance(error, ScriptError), (text, error)
        # the editor's numbering: the magic line is line 1, the body starts on line 2
        assert error.line == (line + 1 if line is not None else None), (text, str(error))
        assert phrase.lower() in str(error).lower()
    out = capsys.readouterr().out
    assert "ScriptError: line 2:" in out
    assert "Traceback" not in out
    assert engine_total(engine) == before


# --------------------------------------------------------------------------- other magics


def test_odyssey_jobs_lists_and_rejects_bad_arguments(shell: InteractiveShell) -> None:
    assert run(shell, "%odyssey_jobs --limit 3") is None
    assert run(shell, "%odyssey_jobs --active --status pending") is None
    for line, phrase in (
        ("--limit 0", "between 1 and 100"),
        ("--status done", "unknown status"),
        ("--active --status completed", "conflicts"),
        ("--wat", "unknown"),
        ("--status runing", "unknown status 'runing' (did you mean running?); use one of"),
        ("--limt 5", "unknown option: --limt (did you mean --limit?)"),
    ):
        error = run(shell, f"%odyssey_jobs {line}")
        assert isinstance(error, UsageError) and phrase in str(error)


def test_login_asks_with_a_hidden_prompt_and_never_shows_the_key(
    shell: InteractiveShell,
    engine: RunningEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:  # stands in for a person typing
        prompts.append(prompt)
        return engine.api_key

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert run(shell, f"%odyssey_login --url {engine.url}") is None
    assert prompts and "key" in prompts[0].lower()
    error = run(shell, "%odyssey_login ody_typed_on_the_line_123")
    assert isinstance(error, UsageError)
    assert "ody_typed_on_the_line_123" not in str(error)
    assert (
        run(shell, "%%odyssey_simulate --wait --no-download -o li\n0s start a moth\n1s end") is None
    )
    out = capsys.readouterr()
    assert engine.api_key not in out.out + out.err


def test_odyssey_local_shows_and_stops_the_engine(
    shell: InteractiveShell,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from odyssey_jupyter.local.launch import processes
    from odyssey_jupyter.local.launch.launcher import ensure_engine

    data_dir = (tmp_path / "engine").resolve()
    monkeypatch.setenv("ODYSSEY_LOCAL_DATA_DIR", str(data_dir))
    capsys.readouterr()
    assert run(shell, "%odyssey_local status") is None
    assert "No local engine is running" in capsys.readouterr().out
    info = ensure_engine(data_dir)
    try:
        assert run(shell, "%odyssey_local status --json") is None
        shown = json.loads(capsys.readouterr().out)
        assert shown["state"] == "running" and shown["pid"] == info.pid
        assert run(shell, "%odyssey_local stop --timeout 20") is None
        assert f"Stopped the local engine (pid {info.pid})" in capsys.readouterr().out
        assert not processes.alive(info.pid)
    finally:
        stop_pids(engines_under(tmp_path))
    for line, problem in (
        ("restart", "unknown action 'restart'"),
        ("status --timeout 3", "--timeout goes with stop only"),
        ("stop --timeout soon", "positive number of seconds"),
        ("", "usage: %odyssey_local"),
    ):
        error = run(shell, f"%odyssey_local {line}")
        assert isinstance(error, UsageError) and problem in str(error), (line, error)


def test_unload_stops_the_poller_and_load_again(shell: InteractiveShell) -> None:
    assert run(shell, "%%odyssey_simulate --wait --no-download\n0s start a crab\n1s end") is None
    shell.run_line_magic("unload_ext", "odyssey_jupyter")
    assert not any(t.name == "odyssey-loop" for t in threading.enumerate())
    assert "odyssey_simulate" not in shell.magics_manager.magics["cell"]
    shell.run_line_magic("load_ext", "odyssey_jupyter")
    assert "odyssey_simulate" in shell.magics_manager.magics["cell"]


# --------------------------------------------------------------------------- the displays


def test_status_widget_of_a_finished_batch(
    shell: InteractiveShell, engine_env: RunningEngine
) -> None:
    from odyssey_jupyter.display.live.status_widget import StatusWidget
    from odyssey_jupyter.session import jobs

    one = [{"timestamp_ms": 0, "start": {"prompt": "a cat"}}, {"timestamp_ms": 500, "end": {}}]
    job = jobs.simulate(scripts=[one, one])
    job.wait(60)
    widget = StatusWidget(job)
    assert widget.wait_finished(10)
    panel = widget._panel.value
    assert 'class="odyssey-badge odyssey-status-completed"' in panel
    assert panel.count('class="odyssey-stream"') == 2
    assert job.job_id in panel and "odyssey-summary-line" in panel
    assert widget._cancel.disabled
    assert "odyssey-status-completed" in widget._dom_classes
    players = widget._players.outputs[0]["data"]["text/html"]
    assert players.count("<video") == 2
    assert repr(widget).startswith(f"Odyssey job {job.job_id}: completed")
    widget.close()


def test_snapshot_reconnecting_failures_and_submit_errors() -> None:
    from odyssey_jupyter.display.job.status_html import panel_html
    from odyssey_jupyter.display.job.status_view import snapshot
    from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail

    view = snapshot(StandIn(phase="starting engine", job_id=None), now=1.0)  # type: ignore[arg-type]
    assert (view.status, view.stage) == ("starting", "starting local engine")
    assert "odyssey-progress-stage" in panel_html(view)  # indeterminate bar + stage text

    pending = SimulationJobDetail.from_json(
        {"job_id": "job-1", "status": "pending", "estimated_wait_minutes": 3}
    )
    view = snapshot(StandIn(status=JobStatus.PENDING, detail=pending, reconnecting=True), now=5)  # type: ignore[arg-type]
    html = panel_html(view)
    assert "reconnecting..." in html and "est. wait ~3 min" in html

    failed = SimulationJobDetail.from_json(
        {
            "job_id": "job-1",
            "status": "failed",
            "error_message": "1 of 2 streams failed",
            "streams": [
                {"stream_id": "s1", "script_index": 0, "status": "completed"},
                {
                    "stream_id": "s2",
                    "script_index": 1,
                    "status": "failed",
                    "error_message": "bad image",
                },
            ],
        }
    )
    job = StandIn(status=JobStatus.FAILED, detail=failed, phase="done", scripts=[[], []])
    view = snapshot(job, now=2.0)  # type: ignore[arg-type]
    assert view.finished and view.terminal
    html = panel_html(view)
    assert "odyssey-status-failed" in html and "bad image" in html and "1 of 2 streams" in html
    assert view.summary is not None and "failed after 2.0 s" in view.summary

    refused = StandIn(phase="error", job_id=None, error=ValueError("no key"))
    view = snapshot(refused, now=1.0)  # type: ignore[arg-type]
    assert view.status == "error" and view.finished
    assert view.summary == "Not submitted: ValueError: no key"


@pytest.mark.parametrize(
    ("status", "progress", "bar"),
    [("completed", None, "1.000"), ("cancelled", 0.4, "0.400"), ("failed", None, "0.000")],
)
def test_the_bar_stops_where_an_unfinished_job_got_to(
    status: str, progress: float | None, bar: str
) -> None:
    """Only a completed job shows a full bar; a cancelled or failed one keeps its progress."""
    from odyssey_jupyter.display.job.status_html import panel_html
    from odyssey_jupyter.display.job.status_view import snapshot
    from odyssey_jupyter.protocol.types import JobStatus, SimulationJobDetail

    detail = SimulationJobDetail.from_json(
        {"job_id": "job-1", "status": status, "progress": progress}
    )
    job = StandIn(status=JobStatus(status), detail=detail, phase="done")
    html = panel_html(snapshot(job, now=2.0))  # type: ignore[arg-type]
    assert f'<progress class="odyssey-progress" max="1" value="{bar}">' in html


def test_a_cancelled_job_raises_after_showing_why(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    from odyssey_jupyter.errors import JobCancelledError

    def cancel_once_submitted() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = shell.user_ns.get("victim")
            if job is not None and job.job_id is not None:
                job.cancel()
                return
            time.sleep(0.02)

    shell.user_ns.pop("victim", None)
    helper = threading.Thread(target=cancel_once_submitted)
    helper.start()
    error = run(shell, "%%odyssey_simulate --wait -o victim\n0s start a long voyage\n120s end")
    helper.join(30)
    assert isinstance(error, JobCancelledError), error
    assert error._render_traceback_() == [f"JobCancelledError: {error}"]  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "cancelled after" in out  # the outcome was displayed before the error


def _interrupt_when_running(shell: InteractiveShell, name: str) -> threading.Thread:
    """Press Ctrl-C (in-process: interrupt_main) once job ``name`` is being rendered."""

    def press() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = shell.user_ns.get(name)
            if job is not None and job.status is not None and str(job.status) != "pending":
                _thread.interrupt_main()
                return
            time.sleep(0.02)

    shell.user_ns.pop(name, None)
    helper = threading.Thread(target=press)
    helper.start()
    return helper


def test_ctrl_c_stops_waiting_and_the_job_goes_on(shell: InteractiveShell) -> None:
    from odyssey_jupyter.ipython.magic_args import WaitInterrupted

    helper = _interrupt_when_running(shell, "on")
    error = run(shell, "%%odyssey_simulate --wait -o on --no-download\n0s start a tide\n60s end")
    helper.join(30)
    assert isinstance(error, WaitInterrupted), error
    assert "goes on" in str(error) and "on.cancel()" in str(error)
    assert "widget" not in str(error)  # no kernel: a text frontend, no Cancel button
    job = shell.user_ns["on"]
    assert not job.status.is_terminal
    job.cancel()


def test_ctrl_c_with_cancel_on_interrupt_cancels(shell: InteractiveShell) -> None:
    from odyssey_jupyter.ipython.magic_args import WaitInterrupted

    helper = _interrupt_when_running(shell, "off")
    error = run(
        shell,
        "%%odyssey_simulate --wait --cancel-on-interrupt -o off\n0s start a tide\n60s end",
    )
    helper.join(30)
    assert isinstance(error, WaitInterrupted), error
    assert "cancelled job" in str(error)
    assert str(shell.user_ns["off"].status) == "cancelled"


def test_ctrl_c_with_cancel_on_interrupt_says_a_refused_job_goes_on(
    shell: InteractiveShell, engine: RunningEngine
) -> None:
    """A server that no longer cancels a job (400) gets a line saying it goes on."""
    from support.faultproxy import FaultProxy

    from odyssey_jupyter.ipython.magic_args import WaitInterrupted
    from odyssey_jupyter.session.runtime import get_runtime

    with FaultProxy(engine.url) as proxy:
        proxy.add_rule(sequence=["400"], method="DELETE", path="/simulation-jobs/")
        get_runtime().configure(api_key=engine.api_key, api_url=proxy.url)
        try:
            helper = _interrupt_when_running(shell, "refused")
            error = run(
                shell,
                "%%odyssey_simulate --wait --cancel-on-interrupt -o refused --no-download\n"
                "0s start a tide\n60s end",
            )
            helper.join(30)
            job = shell.user_ns["refused"]
            assert isinstance(error, WaitInterrupted), error
            assert str(error) == f"stopped waiting; {job.cancel_outcome}"
            assert "can no longer be cancelled; it will finish on its own" in str(error)
            assert not job.status.is_terminal and job.error is None
            assert proxy.count(method="DELETE", action="400") == 1
        finally:
            get_runtime().configure(api_key=engine.api_key, api_url=engine.url)
    job.cancel()


def test_snapshot_of_a_job_no_longer_followed() -> None:
    from odyssey_jupyter.display.job.status_view import snapshot
    from odyssey_jupyter.protocol.types import JobStatus

    job = StandIn(status=JobStatus.PROCESSING, phase="error", error=PermissionError("403"))
    view = snapshot(job, now=3.0)  # type: ignore[arg-type]
    assert view.finished and view.terminal  # the ticker stops, Cancel is disabled
    assert view.summary is not None and "stopped being followed" in view.summary
