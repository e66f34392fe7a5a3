"""The script rules as the magic shows them, in IPython's in-process shell against the engine.

Warnings under the dry run and once on submission (and on ``Job.warnings``), the
setting that turns them off, a late first start refused before anything is sent,
and a bad image found while converting it named by its editor line.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from support.engine_http import engine_total
from support.engines import RunningEngine
from support.shells import global_shell, run

from odyssey_jupyter.errors import ImageError, ScriptError

pytestmark = pytest.mark.usefixtures("in_tmp_dir")

NEAR = "0s start a kite\n1s interact it dives\n2s interact it climbs\n5s end"
"""Two interactions closer than 3 s: warnings on lines 3 and 4 (the magic line is 1)."""


@pytest.fixture(scope="module")
def shell(engine: RunningEngine) -> Iterator[InteractiveShell]:
    """The global test shell (another module may have started it), with the extension."""
    ip = global_shell()
    ip.config.OdysseyJupyter.nest_asyncio = False
    ip.run_line_magic("load_ext", "odyssey_jupyter")
    from odyssey_jupyter.session.runtime import get_runtime

    get_runtime().configure(api_key=engine.api_key, api_url=engine.url)
    yield ip
    ip.run_line_magic("unload_ext", "odyssey_jupyter")
    del ip.config.OdysseyJupyter["nest_asyncio"]


@pytest.fixture
def warnings_on(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "OdysseyJupyter.script_warnings = True")


def test_dry_run_shows_the_warnings_with_editor_lines(
    shell: InteractiveShell,
    warnings_on: None,
    engine: RunningEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = engine_total(engine)
    assert run(shell, f"%%odyssey_simulate --dry-run\n{NEAR}") is None
    out = capsys.readouterr().out
    assert "2 warnings (a real run would still send the job)" in out
    assert "the job is still sent" not in out  # a dry run sends nothing
    assert "line 3: the interact comes 1 s after the prompt on line 2" in out
    assert "line 4: the interact comes 1 s after the prompt on line 3" in out
    assert engine_total(engine) == before


def test_submitting_shows_the_warnings_once_and_keeps_them_on_the_job(
    shell: InteractiveShell,
    warnings_on: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(shell, f"%%odyssey_simulate --wait --no-download -o warned\n{NEAR}") is None
    out = capsys.readouterr().out
    assert out.count("2 warnings") == 1
    assert out.count("line 3: the interact") == 1
    job = shell.user_ns["warned"]
    assert str(job.status) == "completed"  # a warning never stops the job
    assert isinstance(job.warnings, tuple)
    assert [(w.line, w.previous_line) for w in job.warnings] == [(3, 2), (4, 3)]
    # the cell showed them above the job's output: its status display does not repeat them
    from odyssey_jupyter.display.job.status_view import snapshot

    assert job.warnings_shown and snapshot(job).warnings == ()


def test_the_setting_turns_the_warnings_off(
    shell: InteractiveShell,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell.run_line_magic("config", "OdysseyJupyter.script_warnings = False")
    try:
        assert run(shell, f"%%odyssey_simulate --dry-run\n{NEAR}") is None
        assert run(shell, f"%%odyssey_simulate --wait --no-download -o quiet\n{NEAR}") is None
        out = capsys.readouterr().out
        assert "warning" not in out.lower()
        assert shell.user_ns["quiet"].warnings == ()
    finally:
        shell.run_line_magic("config", "OdysseyJupyter.script_warnings = True")


def test_simulate_puts_the_warnings_on_the_job(
    shell: InteractiveShell,
    warnings_on: None,
) -> None:
    from odyssey_jupyter import simulate

    job = simulate(
        [
            {"timestamp_ms": 0, "start": {"prompt": "a"}},
            {"timestamp_ms": 2500, "interact": {"prompt": "b"}},
            {"timestamp_ms": 4000, "end": {}},
        ],
        download=False,
    )
    (warning,) = job.warnings
    assert str(warning).startswith("entry 1: the interact comes 2.5 s after the prompt on entry 0")
    # nothing displayed them: the job's own status display (widget, text line) does
    from odyssey_jupyter.display.job.status_html import panel_html
    from odyssey_jupyter.display.job.status_view import snapshot

    view = snapshot(job)
    assert not job.warnings_shown and view.warnings == (str(warning),)
    assert "the interact comes 2.5 s" in panel_html(view)
    job.wait(60)


def test_a_late_first_start_is_refused_before_anything_is_sent(
    shell: InteractiveShell,
    engine: RunningEngine,
) -> None:
    before = engine_total(engine)
    error = run(shell, "%%odyssey_simulate --wait\n1s start a cat\n3s end")
    assert isinstance(error, ScriptError)
    assert str(error).startswith("line 2: the script's first start is at 1s, not 0s")
    assert engine_total(engine) == before


def test_a_typo_in_an_action_suggests_it_on_the_editor_line(
    shell: InteractiveShell,
) -> None:
    error = run(shell, "%%odyssey_simulate\n0s start a\n1s interacct b\n4s end")
    assert isinstance(error, ScriptError)
    assert error.line == 3 and "did you mean interact?" in str(error)


def test_an_empty_image_is_not_sent_as_prompt_text(
    shell: InteractiveShell,
    engine: RunningEngine,
) -> None:
    before = engine_total(engine)
    error = run(shell, "%%odyssey_simulate --wait\n0s start a cat image=\n1s end")
    assert isinstance(error, ScriptError)
    assert error.line == 2 and "image= has no path" in str(error)
    assert engine_total(engine) == before


def _truncated_png(path: Path) -> Path:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (1, 2, 3)).save(out, format="PNG")
    path.write_bytes(out.getvalue()[: len(out.getvalue()) // 2])
    return path


def test_an_image_that_fails_to_decode_is_named_by_its_line_on_the_job(
    shell: InteractiveShell,
    engine: RunningEngine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Its header looks right, so it passes the cell's check and fails on the loop; the
    error on the job (the widget's text) and the raised one name line 3 alike."""
    broken = _truncated_png(tmp_path / "half.png")
    before = engine_total(engine)
    error = run(
        shell,
        f"%%odyssey_simulate --wait -o half\n# a comment\n0s start a cat image={broken}\n2s end",
    )
    assert isinstance(error, ImageError), error
    job = shell.user_ns["half"]
    assert job.job_id is None and job.error is not None
    assert str(job.error) == str(error)
    assert str(error).startswith(f"line 3: image file {str(broken)!r}: cannot be decoded")
    assert "entry 0" not in str(error) and "start.image" not in str(error)
    assert engine_total(engine) == before
    out = capsys.readouterr().out
    assert out.count("cannot be decoded") == 1  # the text display shows it once
