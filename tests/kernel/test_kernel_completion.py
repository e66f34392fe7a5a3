"""Completion and inspection in a real kernel (``complete_request`` / ``inspect_request``
over jupyter_client, as JupyterLab and Notebook 7 send them) and in terminal IPython.

Every case of ``support.completion_cases.CASES`` runs in both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.completion_cases import CASES, SETUP, Case, check, make_files
from support.kernel import KernelSession

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    cwd = tmp_path_factory.mktemp("notebook")
    make_files(cwd)
    # No engine and an unreachable API: completion must not need either.
    env = {"ODYSSEY_API_URL": "http://127.0.0.1:9", "ODYSSEY_API_KEY": "", "ODYSSEY_DISPLAY": ""}
    session = KernelSession(env=env, cwd=cwd)
    try:
        session.check("%load_ext odyssey_jupyter")
        session.check(SETUP)
        yield session
    finally:
        session.shutdown()


def shell_request(kernel: KernelSession, msg_id: str) -> dict[str, Any]:
    while True:
        reply = kernel.client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            content: dict[str, Any] = reply["content"]
            return content


def complete(kernel: KernelSession, code: str) -> list[tuple[str, str, str]]:
    content = shell_request(kernel, kernel.client.complete(code, len(code)))
    assert content["status"] == "ok"
    start, end = content["cursor_start"], content["cursor_end"]
    # The reply does not name the matcher: "?" makes check() treat all as ours.
    return [(text, code[start:end], "?") for text in content["matches"]]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_in_kernel(kernel: KernelSession, case: Case) -> None:
    check(case, complete(kernel, case.code))


def test_completion_types_reach_the_frontend(kernel: KernelSession) -> None:
    code = "%%odyssey_simulate\n0s st"
    content = shell_request(kernel, kernel.client.complete(code, len(code)))
    types = content["metadata"]["_jupyter_types_experimental"]
    assert [(t["text"], t["type"]) for t in types] == [("start", "keyword")]


def test_completion_does_not_run_the_cell(kernel: KernelSession) -> None:
    before = kernel.check("print(get_ipython().execution_count)").stdout()
    complete(kernel, "%%odyssey_simulate\n0s start a cat\n1s end\n2s ")
    after = kernel.check("print(get_ipython().execution_count)").stdout()
    assert int(after) == int(before) + 1
    jobs = kernel.check("import odyssey_jupyter.session.runtime as r; print(r._runtime is None)")
    assert jobs.stdout().strip() == "True"


def test_inspection_shows_usage_and_body_language(kernel: KernelSession) -> None:
    code = "%%odyssey_simulate --landscape\n0s start a cat\n1s end\n"
    content = shell_request(kernel, kernel.client.inspect(code, 5))
    assert content["status"] == "ok" and content["found"]
    text = content["data"]["text/plain"]
    assert "--portrait | --landscape" in text
    assert "TIME ACTION [PROMPT] [image=PATH]" in text
    assert "--- separates the scripts of a batch" in text


TERMINAL = textwrap.dedent(
    """
    import json, sys
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from IPython.terminal.ptutils import IPythonPTCompleter
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    shell = TerminalInteractiveShell.instance()
    shell.config.OdysseyJupyter.nest_asyncio = False
    shell.run_line_magic("load_ext", "odyssey_jupyter")
    shell.run_cell(sys.argv[1], store_history=False)
    completer = IPythonPTCompleter(shell=shell)
    out = {}
    for code in json.loads(sys.argv[2]):
        doc = Document(code, len(code))
        out[code] = [
            (c.text, code[len(code) + c.start_position:])
            for c in completer.get_completions(doc, CompleteEvent(completion_requested=True))
        ]
    print(json.dumps(out))
    """
)


def test_cases_in_terminal_ipython(tmp_path: Path) -> None:
    """The terminal's own prompt_toolkit completer, in a TerminalInteractiveShell."""
    make_files(tmp_path)
    codes = [case.code for case in CASES]
    result = subprocess.run(
        [sys.executable, "-c", TERMINAL, SETUP, json.dumps(codes)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for case in CASES:
        check(case, [(text, fragment, "?") for text, fragment in found[case.code]])


def test_tab_in_a_real_terminal_ipython(tmp_path: Path) -> None:
    """``ipython`` on a pseudo-terminal: Tab completes a flag and a body action."""
    import os
    import pty
    import re
    import select
    import time

    ipython = Path(sys.executable).with_name("ipython")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(ipython), "--no-banner", "--colors=nocolor", "--HistoryManager.enabled=False"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=tmp_path,
        env={**os.environ, "TERM": "xterm", "IPYTHONDIR": str(tmp_path / "ipython")},
        start_new_session=True,
    )
    os.close(terminal)
    screen = b""

    def read_until(wanted: str, timeout: float = 60.0) -> None:
        nonlocal screen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", b"", screen)
            if wanted in plain.decode(errors="replace"):
                return
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(controller, 65536)
                except OSError:
                    break
        raise AssertionError(f"{wanted!r} never appeared:\n{screen[-2000:]!r}")

    try:
        read_until("In [1]")
        os.write(controller, b"%load_ext odyssey_jupyter\r")
        read_until("In [2]")
        os.write(controller, b"%odyssey_jobs --act\t")
        read_until("%odyssey_jobs --active")
        os.write(controller, b"\x03")  # abandon the line
        os.write(controller, b"%%odyssey_simulate --la\t")
        read_until("%%odyssey_simulate --landscape")
        os.write(controller, b"\r0s st\t")
        read_until("0s start")
        os.write(controller, b"\x03")
        os.write(controller, b"exit\r")
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        os.close(controller)


HOSTILE = textwrap.dedent(
    """
    touched = []

    def _ran(what):
        touched.append(what)
        raise RuntimeError(f"completion ran {what}")

    class TripwireList(list):
        def __contains__(self, item): _ran("__contains__")
        def __len__(self): _ran("__len__")
        def __iter__(self): _ran("__iter__")
        def __getitem__(self, index): _ran("__getitem__")
        @property
        def __class__(self): _ran("list __class__")

    class Masked:
        @property
        def __class__(self):
            touched.append("masked __class__")
            return list

    class Loud(type):
        def __getattr__(cls, name): _ran(f"metaclass __getattr__ {name}")

    class Gadget(metaclass=Loud):
        size = 3

    class LazyProxy:
        def __getattr__(self, name): _ran(f"proxy {name}")
        @property
        def __class__(self): _ran("proxy __class__")

    class Holder:
        pass

    holder = Holder()
    holder.gadget, holder.kind, holder.proxy = Gadget(), Gadget, LazyProxy()
    tripwire = TripwireList([{"timestamp_ms": 0, "start": {"prompt": "x"}}])
    masked, lazy = Masked(), LazyProxy()
    """
)


ONLY_OURS = """
from IPython.core.completer import _get_matcher_id
from odyssey_jupyter.ipython.completion import MATCHER_ID
_completer = get_ipython().Completer
_completer.disable_matchers = [
    _get_matcher_id(m) for m in _completer.matchers if _get_matcher_id(m) != MATCHER_ID
]
"""
ALL_MATCHERS = "get_ipython().Completer.disable_matchers = []"


def test_tab_never_runs_the_users_code(kernel: KernelSession) -> None:
    """Objects that record (and raise) whenever anything of theirs runs: a list subclass,
    a ``__class__`` property, a metaclass ``__getattr__``, a lazy proxy. IPython's own
    completers are switched off: where this one offers nothing they would still try."""
    kernel.check(HOSTILE)
    kernel.check(ONLY_OURS)
    try:
        offered = {
            code: [text for text, _, _ in complete(kernel, code)]
            for code in (
                "%odyssey_simulate ",
                "%odyssey_simulate tri",
                "%%odyssey_simulate\n0s start {holder.gadget.",
                "%%odyssey_simulate\n0s start {holder.kind.s",
                "%%odyssey_simulate\n0s start {holder.proxy.",
                "%%odyssey_simulate\n0s start {lazy.",
                "%%odyssey_simulate --image {masked.",
            )
        }
        touched = kernel.check("print(touched)").stdout().strip()
        assert touched == "[]", touched
        assert "walk" in offered["%odyssey_simulate "]
        assert not {"tripwire", "masked", "lazy"} & set(offered["%odyssey_simulate "])
        assert "size" in offered["%%odyssey_simulate\n0s start {holder.gadget."]
        assert offered["%%odyssey_simulate\n0s start {holder.kind.s"] == ["size"]
    finally:
        kernel.check(ALL_MATCHERS)
        kernel.check("del touched, tripwire, masked, lazy, holder")


def test_tab_gives_up_quietly_when_its_time_is_spent(kernel: KernelSession) -> None:
    """With no time to spend, a Tab offers nothing and raises nothing; given time
    again, it completes as before."""
    code = "%odyssey_simulate w"
    assert [text for text, _, _ in complete(kernel, code)] == ["walk", "walks"]
    budget = "import odyssey_jupyter.ipython.completion as c; c.TIME_BUDGET_SECONDS = {}"
    kernel.check(ONLY_OURS + budget.format(0.0))
    try:
        assert complete(kernel, code) == []
        assert complete(kernel, "%%odyssey_simulate\n0s start a image=") == []
        assert complete(kernel, "%%odyssey_simulate\n0s start a {ca") == []
    finally:
        kernel.check(ALL_MATCHERS + "\n" + budget.format(0.5))
    assert [text for text, _, _ in complete(kernel, code)] == ["walk", "walks"]
