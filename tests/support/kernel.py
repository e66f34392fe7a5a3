"""A real IPython kernel driven through jupyter_client, for tests.

``KernelSession`` starts ``python -m ipykernel_launcher`` (this virtualenv's
Python, or another venv's) with a chosen environment and working directory, records every IOPub
message in the background (comm messages from widgets included, whichever cell
they are attributed to), runs cells, sends comm messages as a frontend would
(a button click), and interrupts the kernel.

    with KernelSession(env={...}, cwd=tmp_path) as kernel:
        result = kernel.execute("1 + 1")
        assert result.ok and result.text_plain() == ["2"]
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import KernelManager

Message = dict[str, Any]


@dataclass
class Execution:
    """One executed cell: its shell reply and the IOPub messages attributed to it."""

    msg_id: str
    reply: Message
    messages: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.reply["content"].get("status") == "ok")

    @property
    def error(self) -> dict[str, Any] | None:
        content = self.reply["content"]
        return None if content.get("status") == "ok" else content

    def outputs(self) -> list[Message]:
        kinds = ("stream", "display_data", "execute_result", "error", "update_display_data")
        return [m for m in self.messages if m["msg_type"] in kinds]

    def stdout(self) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def stderr(self) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
        )

    def data(self, mime: str) -> list[str]:
        """Every ``mime`` representation displayed or returned by the cell, in order."""
        found = []
        for m in self.messages:
            if m["msg_type"] in ("display_data", "execute_result", "update_display_data"):
                value = m["content"]["data"].get(mime)
                if value is not None:
                    found.append(value if isinstance(value, str) else json.dumps(value))
        return found

    def text_plain(self) -> list[str]:
        return self.data("text/plain")


class KernelSession:
    """A running kernel plus a background recorder of its IOPub traffic."""

    def __init__(
        self,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
        startup_timeout: float = 60.0,
        python: Path | str = sys.executable,
    ) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        bin_dir = str(Path(python).parent)
        full_env["PATH"] = bin_dir + os.pathsep + full_env.get("PATH", "")
        full_env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        self.manager = KernelManager(kernel_name="python3")
        self._argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        assert self.manager.kernel_spec is not None
        self.manager.kernel_spec.argv = self._argv
        self.manager.start_kernel(env=full_env, cwd=str(cwd) if cwd is not None else None)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=startup_timeout)
        self.messages: list[Message] = []
        self._arrivals: list[float] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._replies: dict[str, Message] = {}
        self._reader = threading.Thread(target=self._read_iopub, name="iopub-recorder", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ recording

    def _read_iopub(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except Empty:
                continue
            except Exception:  # channel closed during shutdown
                if self._stop.is_set():
                    return
                time.sleep(0.05)
                continue
            with self._cond:
                self.messages.append(msg)
                self._arrivals.append(time.monotonic())
                self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[Message], bool], *, timeout: float = 30.0, start: int = 0
    ) -> Message:
        """The first recorded message (from index ``start``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self.messages):
                    if predicate(self.messages[index]):
                        return self.messages[index]
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching IOPub message arrived in time")
                self._cond.wait(min(remaining, 0.5))

    def mark(self) -> int:
        """An index into ``messages``: pass it as ``start`` to see only what comes after."""
        with self._cond:
            return len(self.messages)

    def since(self, start: int) -> list[Message]:
        with self._cond:
            return list(self.messages[start:])

    # ------------------------------------------------------------------ execution

    def submit(self, code: str, *, stop_on_error: bool = False) -> str:
        """Send a cell and return its msg_id without waiting.

        With ``allow_stdin``, as JupyterLab sends cells: the kernel sees a person's
        frontend (live widgets). nbclient sends without it (a headless run).
        """
        return str(self.client.execute(code, stop_on_error=stop_on_error, allow_stdin=True))

    def wait_reply(self, msg_id: str, timeout: float = 60.0) -> Execution:
        """Wait for the cell's shell reply and its IOPub ``idle``; collect its messages."""
        deadline = time.monotonic() + timeout
        while msg_id not in self._replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply to {msg_id} in {timeout:g} s")
            try:
                reply = self.client.get_shell_msg(timeout=min(remaining, 0.5))
            except Empty:
                continue
            self._replies[reply["parent_header"].get("msg_id", "")] = reply
        self.wait_for(
            lambda m: (
                m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            ),
            timeout=max(1.0, deadline - time.monotonic()),
        )
        with self._cond:
            mine = [m for m in self.messages if m["parent_header"].get("msg_id") == msg_id]
        return Execution(msg_id, self._replies.pop(msg_id), mine)

    def execute(self, code: str, *, timeout: float = 60.0) -> Execution:
        return self.wait_reply(self.submit(code), timeout)

    def check(self, code: str, *, timeout: float = 60.0) -> Execution:
        """Execute and fail with the kernel's own traceback when the cell raised."""
        result = self.execute(code, timeout=timeout)
        if not result.ok:
            err = result.error or {}
            raise AssertionError(
                f"cell failed: {err.get('ename')}: {err.get('evalue')}\n"
                + "\n".join(err.get("traceback", []))
            )
        return result

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()

    # ------------------------------------------------------------------ comms / widgets

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        """Send a ``comm_msg`` to the kernel as a frontend does."""
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def click(self, comm_id: str) -> None:
        """Click an ipywidgets Button."""
        self.send_comm(comm_id, {"method": "custom", "content": {"event": "click"}})

    def widget_states(self, start: int = 0) -> dict[str, dict[str, Any]]:
        """comm_id -> latest known state of every widget model opened since ``start``."""
        states: dict[str, dict[str, Any]] = {}
        for msg in self.since(start):
            content = msg["content"]
            if msg["msg_type"] == "comm_open" and content.get("target_name") == "jupyter.widget":
                states[content["comm_id"]] = dict(content["data"].get("state", {}))
            elif msg["msg_type"] == "comm_msg" and content.get("comm_id") in states:
                data = content.get("data", {})
                if data.get("method") in ("update", "echo_update"):
                    states[content["comm_id"]].update(data.get("state", {}))
        return states

    def widget_updates(self, comm_ids: set[str], start: int = 0) -> list[Message]:
        """``update`` comm messages sent to any of ``comm_ids`` after ``start``."""
        return [
            m
            for m in self.since(start)
            if m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") in comm_ids
            and m["content"].get("data", {}).get("method") == "update"
        ]

    def iter_raw(self) -> Iterator[str]:
        """Every recorded message as JSON text (for leak checks)."""
        for msg in self.since(0):
            yield json.dumps(msg, default=str)

    # ------------------------------------------------------------------ lifecycle

    def shutdown(self) -> None:
        self._stop.set()
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=False)
        self._reader.join(timeout=5)

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
