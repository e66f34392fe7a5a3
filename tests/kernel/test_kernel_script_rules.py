"""The script rules where the user sees them: a real kernel, the widget frontend.

Warnings as an HTML block (escaped) under the dry run and once on submission; a
late first start and a typo answered on the editor's line; a bad image shown once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.engines import RunningEngine
from support.kernel import KernelSession

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebook")


@pytest.fixture(scope="module")
def kernel(engine: RunningEngine, workdir: Path) -> Iterator[KernelSession]:
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_WAIT": "0",
        "ODYSSEY_DISPLAY": "",
        "ODYSSEY_SCRIPT_WARNINGS": "",
    }
    session = KernelSession(env=env, cwd=workdir)
    try:
        session.check("%load_ext odyssey_jupyter")
        yield session
    finally:
        session.shutdown()


NEAR = "0s start a kite\n3s interact it dives\n4.5s interact it climbs\n7s end"
"""One interaction 1.5 s after the previous prompt: a warning on line 4."""


def test_dry_run_shows_the_warning_block_with_the_editor_line(kernel: KernelSession) -> None:
    result = kernel.check(f"%%odyssey_simulate --dry-run\n{NEAR}")
    html = "".join(result.data("text/html"))
    assert 'class="odyssey-warnings"' in html
    assert "<b>line 4</b>: the interact comes 1.5 s after the prompt on line 3" in html
    plain = "\n".join(result.text_plain())
    assert "line 4: the interact comes 1.5 s" in plain


def test_submitting_shows_the_warnings_once_and_the_job_keeps_them(kernel: KernelSession) -> None:
    result = kernel.check(f"%%odyssey_simulate --wait --no-download -o warned\n{NEAR}", timeout=120)
    blocks = [h for h in result.data("text/html") if 'class="odyssey-warnings"' in h]
    assert len(blocks) == 1, blocks
    shown = kernel.check("print([str(w) for w in warned.warnings], warned.status)").stdout()
    assert "line 4: the interact comes 1.5 s" in shown and "completed" in shown


def test_the_environment_variable_turns_warnings_off(kernel: KernelSession) -> None:
    kernel.check("%config OdysseyJupyter.script_warnings = False")
    try:
        result = kernel.check(f"%%odyssey_simulate --dry-run\n{NEAR}")
        assert not any("odyssey-warnings" in h for h in result.data("text/html"))
    finally:
        kernel.check("%config OdysseyJupyter.script_warnings = True")


def test_a_late_first_start_names_line_2(kernel: KernelSession) -> None:
    result = kernel.execute("%%odyssey_simulate\n2s start a cat\n5s end")
    error = result.error
    assert error is not None and error["ename"] == "ScriptError"
    assert "line 2: the script's first start is at 2s, not 0s" in "\n".join(error["traceback"])


def test_a_typo_in_an_action_suggests_the_action(kernel: KernelSession) -> None:
    result = kernel.execute("%%odyssey_simulate\n0s start a\n3s interacct b\n5s end")
    error = result.error
    assert error is not None
    text = "\n".join(error["traceback"])
    assert "line 3: unknown action 'interacct'" in text and "did you mean interact?" in text


def test_a_file_that_is_not_an_image_is_one_red_message_and_no_job(
    kernel: KernelSession, workdir: Path
) -> None:
    (workdir / "notes.png").write_text("these are my notes\n" * 20)
    result = kernel.execute("%%odyssey_simulate --wait\n0s start a cat image=notes.png\n2s end")
    error = result.error
    assert error is not None and error["ename"] == "ImageError"
    text = "\n".join(error["traceback"])
    assert "line 2: image file notes.png is not a recognised image" in text
    assert text.startswith("ImageError: line 2:")  # named as its class, like the ename
    shown = [m["content"] for m in result.outputs() if m["msg_type"] != "error"]
    everything = json.dumps(shown)
    assert "not a recognised image" not in everything, everything  # no job output at all
    assert "Not submitted" not in everything and "not submitted" not in everything


def _truncated_png(path: Path) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (1, 2, 3)).save(out, format="PNG")
    path.write_bytes(out.getvalue()[: len(out.getvalue()) // 2])


def test_an_image_that_fails_to_decode_is_named_once_by_its_line(
    kernel: KernelSession, workdir: Path
) -> None:
    """Found on the loop: the job's output names line 2 in full; the red line points at it."""
    _truncated_png(workdir / "half.png")
    result = kernel.execute(
        "%%odyssey_simulate --wait -o half\n0s start a cat image=half.png\n2s end", timeout=120
    )
    error = result.error
    assert error is not None and error["ename"] == "ImageError"
    red = "\n".join(error["traceback"])
    assert "cannot be decoded" not in red and "not submitted" in red
    assert "line 2: image file" in error["evalue"] and "cannot be decoded" in error["evalue"]
    final = [h for h in result.data("text/html") if "cannot be decoded" in h]
    assert final and all("line 2: image file" in h for h in final)
    same = kernel.check("print(str(half.error) == " + repr(error["evalue"]) + ")").stdout()
    assert same.strip() == "True"
