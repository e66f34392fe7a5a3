"""%%odyssey_simulate in a real kernel: returns at once, the widget stays live, cancel works.

One kernel and one realtime engine for the whole module; the scripts are short
so the module stays well under a minute of rendering.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.engines import RunningEngine, launch_engine
from support.kernel import KernelSession
from support.leaks import BEARER_TOKEN

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def realtime_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    running = launch_engine(tmp_path_factory.mktemp("engine"), "--pace", "realtime")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def kernel(
    realtime_engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelSession]:
    cwd = tmp_path_factory.mktemp("notebook")
    env = {
        "ODYSSEY_API_URL": realtime_engine.url,
        "ODYSSEY_API_KEY": realtime_engine.api_key,
        "ODYSSEY_WAIT": "0",
        "ODYSSEY_DISPLAY": "",
    }
    session = KernelSession(env=env, cwd=cwd)
    try:
        session.check("%load_ext odyssey_jupyter")
        yield session
        # Neither the key nor a bearer token may leave the kernel in any message it sent.
        leaks = [
            raw
            for raw in session.iter_raw()
            if realtime_engine.api_key in raw or BEARER_TOKEN.search(raw)
        ]
        assert not leaks, f"a secret appeared in {len(leaks)} kernel message(s)"
    finally:
        session.shutdown()


def _status_widget(kernel: KernelSession, start: int) -> tuple[dict[str, dict[str, Any]], str, str]:
    """(states, badge comm id, cancel button comm id) of the status widget opened after start."""
    kernel.wait_for(
        lambda m: (
            m["msg_type"] in ("comm_open", "comm_msg")
            and "odyssey-cancel" in json.dumps(m["content"].get("data", {}))
        ),
        start=start,
        timeout=10,
    )
    states = kernel.widget_states(start)
    badge = next(
        cid for cid, s in states.items() if "odyssey-status-panel" in str(s.get("value", ""))
    )
    button = next(cid for cid, s in states.items() if "odyssey-cancel" in s.get("_dom_classes", ()))
    return states, badge, button


def _wait_badge(kernel: KernelSession, badge: str, status: str, start: int, timeout: float) -> None:
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == badge
            and f"odyssey-status-{status}" in json.dumps(m["content"].get("data", {}))
        ),
        start=start,
        timeout=timeout,
    )


def test_magic_returns_at_once_and_the_widget_reaches_completed(kernel: KernelSession) -> None:
    start = kernel.mark()
    result = kernel.check(
        "import time as _t\n"
        "_t0 = _t.perf_counter()\n"
        "get_ipython().run_cell_magic('odyssey_simulate', '-o first', "
        "'0s start A lighthouse at dusk\\n+1s interact waves rise\\n2s end')\n"
        "_elapsed = _t.perf_counter() - _t0\n"
        "print(f'magic returned in {_elapsed * 1000:.1f} ms;', first.phase, first.status)"
    )
    line = result.stdout().strip()
    print(line)
    # Structural, not timed: a 2 s realtime stream cannot have finished when it returns.
    assert "completed" not in line
    assert type_name(kernel, "first") == "Job"
    _, badge, button = _status_widget(kernel, start)
    _wait_badge(kernel, badge, "completed", start, timeout=60)
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == button
            and m["content"]["data"].get("state", {}).get("disabled") is True
        ),
        start=start,
        timeout=10,
    )
    # The players arrive as an ordinary HTML output inside the widget's Output.
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg" and "<video" in json.dumps(m["content"].get("data", {}))
        ),
        start=start,
        timeout=30,
    )
    # The widget's text/plain is a useful line, not a widget repr.
    plain = [t for t in result.text_plain() if "Odyssey job" in t]
    assert plain, result.text_plain()


def type_name(kernel: KernelSession, name: str) -> str:
    return kernel.check(f"print(type({name}).__name__)").stdout().strip()


def test_widget_keeps_updating_while_another_cell_sleeps(kernel: KernelSession) -> None:
    start = kernel.mark()
    kernel.check(
        "%%odyssey_simulate -o sleeper\n"
        "0s start A train crossing a bridge\n+3s interact fog\n8s end"
    )
    _, badge, _ = _status_widget(kernel, start)
    widget_ids = set(kernel.widget_states(start))
    sleep_id = kernel.submit("import time; time.sleep(10)")
    kernel.wait_for(
        lambda m: (
            m["parent_header"].get("msg_id") == sleep_id
            and m["msg_type"] == "status"
            and m["content"]["execution_state"] == "busy"
        ),
        timeout=10,
    )
    during = kernel.mark()
    kernel.wait_reply(sleep_id, timeout=30)
    after = kernel.mark()
    window = kernel.since(during)[: after - during]
    count = sum(
        1
        for m in window
        if m["msg_type"] == "comm_msg"
        and m["content"].get("comm_id") in widget_ids
        and m["content"].get("data", {}).get("method") == "update"
    )
    print(f"{count} widget updates arrived while the other cell slept 10 s")
    assert count >= 5
    _wait_badge(kernel, badge, "completed", start, timeout=60)


def test_wait_blocks_until_done_and_outputs_the_players(kernel: KernelSession) -> None:
    result = kernel.check(
        "%%odyssey_simulate --wait -o waited --landscape\n0s start A red kite\n1s end",
        timeout=90,
    )
    html = "".join(result.data("text/html"))
    assert "<video" in html and "odyssey-status-completed" in html
    assert any("completed" in t for t in result.text_plain())
    check = kernel.check("print(waited.status, waited.portrait)").stdout().strip()
    assert check == "completed False"


def test_cancel_button_cancels_the_job(kernel: KernelSession) -> None:
    start = kernel.mark()
    kernel.check("%%odyssey_simulate -o doomed\n0s start A slow glacier\n20s end")
    _, badge, button = _status_widget(kernel, start)
    kernel.check("doomed.runtime.run(doomed._submitted(), timeout=30)")  # has an id now
    kernel.click(button)
    _wait_badge(kernel, badge, "cancelled", start, timeout=30)
    out = kernel.check("doomed.wait(30); print(doomed.status)").stdout().strip()
    assert out == "cancelled"


def test_interrupt_with_cancel_on_interrupt_cancels(kernel: KernelSession) -> None:
    start = kernel.mark()
    msg_id = kernel.submit(
        "%%odyssey_simulate --wait --cancel-on-interrupt -o stopped\n"
        "0s start A long desert road\n30s end"
    )
    _, badge, _ = _status_widget(kernel, start)
    _wait_badge(kernel, badge, "processing", start, timeout=30)
    kernel.interrupt()
    result = kernel.wait_reply(msg_id, timeout=60)
    assert not result.ok
    assert result.error is not None and "cancelled job" in result.error["evalue"]
    assert "Traceback" not in "".join(result.error["traceback"])
    out = kernel.check("print(stopped.status)").stdout().strip()
    assert out == "cancelled"


def test_interrupt_without_cancel_leaves_the_job_running(kernel: KernelSession) -> None:
    start = kernel.mark()
    msg_id = kernel.submit("%%odyssey_simulate --wait -o goes_on\n0s start A calm lake\n20s end")
    _, badge, _ = _status_widget(kernel, start)
    _wait_badge(kernel, badge, "processing", start, timeout=30)
    kernel.interrupt()
    result = kernel.wait_reply(msg_id, timeout=60)
    assert result.error is not None
    assert re.search(r"goes on\. Cancel it with goes_on\.cancel\(\)", result.error["evalue"])
    # a widget frontend shows the Cancel button, so the message may point at it
    assert "goes_on.cancel() or the widget's Cancel button." in result.error["evalue"]
    out = kernel.check("print(goes_on.status); goes_on.cancel()").stdout().strip()
    assert out in ("processing", "running", "dispatched", "pending")
    # The widget, no longer waited on, now shows the outcome itself.
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == badge
            and "odyssey-summary-line" in json.dumps(m["content"].get("data", {}))
        ),
        start=start,
        timeout=30,
    )


def test_nested_asyncio_lets_guide_code_run(kernel: KernelSession) -> None:
    out = kernel.check(
        "import asyncio\nasync def main():\n    await asyncio.sleep(0)\n    return 7\n"
        "print(asyncio.run(main()))"
    )
    assert out.stdout().strip() == "7"


def test_unload_stops_the_poller(kernel: KernelSession, tmp_path: Path) -> None:
    out = kernel.check(
        "import threading\n%unload_ext odyssey_jupyter\n"
        "print(any(t.name == 'odyssey-loop' for t in threading.enumerate()))\n"
        "%load_ext odyssey_jupyter"
    )
    assert out.stdout().strip().splitlines()[-1] == "False"
