"""The job browser inside a real kernel, against a realtime engine.

Buttons are clicked the way a frontend clicks them (a ``comm_msg`` to the
button's model, delivered while the kernel is idle); the next cell then waits for
the background work with ``b.wait()``. This also checks that widget updates
written from the ``odyssey-loop`` thread reach IOPub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.engines import RunningEngine, launch_engine
from support.kernel import KernelSession

from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.display.browser.rows import short_id

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def submit(engine: RunningEngine, seconds: list[float], *, wait: bool) -> list[str]:
    """Submit from a client outside the kernel, as another notebook would."""

    async def go() -> list[str]:
        async with Odyssey(api_key=engine.api_key, api_url=engine.url) as client:
            ids = []
            for index, length in enumerate(seconds):
                job = await client.simulate(
                    [
                        {"timestamp_ms": 0, "start": {"prompt": f"kernel scene {index}"}},
                        {"timestamp_ms": int(length * 1000), "end": {}},
                    ],
                    portrait=False,
                )
                ids.append(job.job_id)
            if wait:
                for job_id in ids:
                    await client.wait(job_id, timeout=60)
            return ids

    return asyncio.run(go())


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KernelSession, list[str], Path]]:
    engine = launch_engine(
        tmp_path_factory.mktemp("kernel-browser-engine"), "--pace", "realtime", "--workers", "2"
    )
    work = tmp_path_factory.mktemp("kernel-browser-cwd")
    kernel: KernelSession | None = None
    try:
        # three finished 1 s jobs, then one 60 s job that stays active until cancelled
        ids = submit(engine, [1.0, 1.0, 1.0], wait=True)
        ids += submit(engine, [60.0], wait=False)
        env = {
            "ODYSSEY_API_URL": engine.url,
            "ODYSSEY_API_KEY": engine.api_key,
            "ODYSSEY_HISTORY_PATH": str(work / "history.jsonl"),
        }
        kernel = KernelSession(env=env, cwd=work)
        yield kernel, ids, work
    finally:
        if kernel is not None:
            kernel.shutdown()
        engine.stop()


def click(kernel: KernelSession, button: str) -> str:
    """Click ``button`` (an expression) as a frontend does, then wait for its work."""
    model_id = kernel.check(f"print({button}.model_id)").stdout().strip()
    kernel.click(model_id)
    return kernel.check("b.wait(60)").msg_id


def out(kernel: KernelSession, code: str) -> str:
    return kernel.check(code).stdout().strip()


def test_browser_in_a_kernel(setup: tuple[KernelSession, list[str], Path]) -> None:
    kernel, ids, work = setup
    done, active = ids[:3], ids[3]
    shown = kernel.check("from odyssey_jupyter import JobBrowser\nb = JobBrowser(limit=2)\nb")
    assert shown.data("application/vnd.jupyter.widget-view+json")
    # shown like the magic's browser: the live view, then its folded saved copy
    text, _saved = shown.text_plain()
    assert text.splitlines()[0] == "Odyssey jobs: Showing 1-2 of 4"
    assert active in text
    assert "<table" in shown.data("text/html")[0]
    assert 'class="odyssey-browser-saved"' in shown.data("text/html")[1]
    assert out(kernel, "b.wait(60); print(b.auto_refreshing)") == "True"  # a job is active

    # paginate: the caption's update travels from the loop thread over the comm
    caption_id = out(kernel, "print(b.view.toolbar.caption.model_id)")
    start = kernel.mark()
    click(kernel, "b.view.toolbar.next_button")
    assert out(kernel, "print(b.caption)") == "Showing 3-4 of 4"
    assert kernel.widget_states(0)[caption_id]["value"] == "Showing 3-4 of 4"
    assert kernel.widget_updates({caption_id}, start)
    assert out(kernel, "print([r.job_id for r in b.rows])") == repr([done[1], done[0]])

    # filter (a frontend sets the dropdown's value; here the kernel side does)
    kernel.check("b.view.toolbar.status_select.value = 'completed'; b.wait(60)")
    assert out(kernel, "print(b.caption)") == "Showing 1-2 of 3 (status=completed)"

    # load into the notebook's namespace
    name = f"job_{short_id(done[2])}"
    click(kernel, f"b.row({done[2]!r}).load_button")
    assert out(kernel, f"print(type({name}).__name__, {name}.job_id)") == f"Job {done[2]}"
    assert f"Job.from_id(&quot;{done[2]}&quot;)" in out(kernel, "print(b.view.message.value)")

    # preview a completed job; delete the file and preview again: fetched afresh
    click(kernel, f"b.row({done[2]!r}).preview_button")
    html = out(kernel, "print(b.preview_outputs[0]['data']['text/html'])")
    (preview,) = (work / "odyssey_recordings" / done[2]).glob("*/preview.mp4")
    assert f'src="{preview.relative_to(work).as_posix()}"' in html
    preview.unlink()
    click(kernel, f"b.row({done[2]!r}).preview_button")
    assert preview.is_file()

    # cancel the active job, through the confirmation step
    kernel.check(
        "b.view.toolbar.status_select.value = ''; b.view.toolbar.active_toggle.value = True; "
        "b.wait(60)"
    )
    assert out(kernel, "print([r.job_id for r in b.rows])") == repr([active])
    click(kernel, f"b.row({active!r}).cancel_button")
    asking = f"r = b.row({active!r}); print(r.confirm_button in r.actions.children)"
    assert out(kernel, asking) == "True"
    click(kernel, f"b.row({active!r}).confirm_button")
    kernel.check("b.view.toolbar.active_toggle.value = False; b.wait(60)")
    assert out(kernel, "print(b.rows[0].job_id, b.rows[0].status)") == f"{active} cancelled"
    kernel.check("import time; time.sleep(0.5)")
    assert out(kernel, "print(b.auto_refreshing)") == "False"
    kernel.check("b.close()")

    # the magic shows the same browser
    magic = kernel.check("%load_ext odyssey_jupyter\n%odyssey_jobs --status completed --limit 2")
    assert magic.data("application/vnd.jupyter.widget-view+json")
    assert "Showing 1-2 of 3 (status=completed)" in magic.text_plain()[0]
