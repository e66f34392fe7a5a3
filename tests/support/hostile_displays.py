"""Every display the project makes, fed with hostile strings from a server and a user.

``collect(server, workdir)`` drives the real code paths: a dry run of a cell whose
prompts, variable values and image file names are hostile; jobs submitted to the
``HostileServer`` (hostile ids, statuses, details, error messages, events) shown
by the status widget, the text reporter, the final summary and the players; the
job browser's rows, caption, messages, Load line, Cancel answer and previews; and
a browser over a list whose ``total`` is hostile. It returns every HTML/SVG
fragment and text fallback produced, each labelled with how a frontend shows it.

The caller points the process at the server first (``ODYSSEY_API_URL`` /
``ODYSSEY_API_KEY``, working directory, history path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from odyssey_jupyter.display import browser as browser_module
from odyssey_jupyter.display.browser import JobBrowser
from odyssey_jupyter.display.browser.snapshot import folded_copy, snapshot_bundle
from odyssey_jupyter.display.common.notice import notice_bundle
from odyssey_jupyter.display.job.final import final_bundle, live_bundle
from odyssey_jupyter.display.job.status_text import JobSummary, TextStatus
from odyssey_jupyter.display.job.timeline import ScriptTimeline
from odyssey_jupyter.display.live.final_output import stopped_note
from odyssey_jupyter.display.live.status_widget import StatusWidget
from odyssey_jupyter.display.media.player import PlayerGroup
from odyssey_jupyter.errors import OdysseyError, ScriptError
from odyssey_jupyter.script.cell_parser import parse_cell
from odyssey_jupyter.session import jobs
from odyssey_jupyter.session.runtime import shutdown_runtime

from .hostile import PAYLOADS, SLASHLESS, URL_PAYLOADS, HostileServer, payload

Kind = Literal["widget", "output", "text"]


@dataclass(frozen=True)
class Fragment:
    """One produced display: ``widget`` is an ipywidgets.HTML value (set as innerHTML),
    ``output`` a text/html output (innerHTML, and its scripts run when trusted),
    ``text`` a text/plain fallback."""

    name: str
    kind: Kind
    content: str


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (32, 20), (30, 90, 200)).save(path, format="PNG")
    return path


def dsl(text: str) -> str:
    """``text`` as literal prompt text in the timeline language (``#`` and braces escaped)."""
    return text.replace("#", "\\#").replace("{", "{{").replace("}", "}}")


def user_cell(workdir: Path) -> tuple[str, dict[str, Any]]:
    """A batch cell whose every prompt, variable value and image file name is hostile."""
    names = [p for p in SLASHLESS if '"' not in p][:3]
    images = [_png(workdir / f"{name}.png") for name in names]
    namespace: dict[str, Any] = {"place": PAYLOADS[2], "mood": PAYLOADS[9], "pic": images[2]}
    lines: list[str] = []
    for script in range(3):
        if script < 2:
            first = f'0s start {dsl(payload(script))} at {{place}} image="{images[script].name}"'
        else:
            first = "0s start {mood} image={pic}"
        lines.append(first)
        lines += [f"+0.4s interact {dsl(payload(script * 7 + i + 1))}" for i in range(6)]
        lines += ["+1s end", "---"]
    return "\n".join(lines[:-1]), namespace


def point_at(monkeypatch: pytest.MonkeyPatch, workdir: Path, url: str) -> None:
    """Point this process (env, working directory, history, runtime) at ``url``."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(workdir / "history.jsonl"))
    monkeypatch.setenv("ODYSSEY_API_KEY", HostileServer.API_KEY)
    monkeypatch.setenv("ODYSSEY_API_URL", url)
    monkeypatch.delenv("ODYSSEY_WAIT", raising=False)
    shutdown_runtime()


def collect(server: HostileServer, workdir: Path, *, timeout: float = 90.0) -> list[Fragment]:  # noqa: C901 - one branch per display kind
    found: list[Fragment] = []

    def add(name: str, kind: Kind, content: Any) -> None:
        found.append(Fragment(name, kind, str(content)))

    # --- user input: the dry run and the error renderings of bad cells
    cell, namespace = user_cell(workdir)
    import os

    here = os.getcwd()
    os.chdir(workdir)  # image="..." names are relative to the notebook's folder
    try:
        parsed = parse_cell(cell, namespace)
    finally:
        os.chdir(here)
    timeline = ScriptTimeline(parsed.scripts)
    add("dry-run timeline", "output", timeline._repr_html_())
    add("dry-run text", "text", repr(timeline))
    for bad in (
        f"0s start {PAYLOADS[0]}\n1s interact {PAYLOADS[1]}",
        f'0s start {PAYLOADS[2]} image="{PAYLOADS[3]}.png"\n1s end',
        f"0s {PAYLOADS[4]} {PAYLOADS[5]}\n1s end",
        "0s start {" + PAYLOADS[6].replace("{", "").replace("}", "") + "}\n1s end",
    ):
        try:
            parse_cell(bad, namespace)
        except ScriptError as exc:
            add("script error", "text", "\n".join(exc._render_traceback_()))

    # --- jobs on the hostile server: status widget, text reporter, summary, players
    shutdown_runtime()
    browser_module.clear_caches()
    submitted = [jobs.simulate(scripts=parsed.scripts, download=True) for _ in range(2)]
    for job in submitted:  # the state reached so far, as the kernel stopping leaves it
        running = live_bundle(job, note=stopped_note(job.job_id))
        add("last state", "output", running["text/html"])
        add("last state text", "text", running["text/plain"])
    followed = [jobs.Job.from_id(job_id, download=True) for job_id in (PAYLOADS[1], PAYLOADS[10])]
    for job in [*submitted, *followed]:
        try:
            job.wait(timeout)
        except OdysseyError as exc:
            add("job wait error", "text", f"{type(exc).__name__}: {exc}")
        lines: list[str] = []
        reporter = TextStatus(job, write=lines.append)
        reporter.wait_finished(timeout)
        reporter.close()
        add("text status", "text", "\n".join(lines))
        widget = StatusWidget(job)
        widget.wait_finished(timeout)
        add("status widget panel", "widget", widget._panel.value)
        for output in widget._players.outputs:
            add("status widget players", "output", output["data"]["text/html"])
            add("status widget players text", "text", output["data"]["text/plain"])
        add("status widget text", "text", repr(widget))
        widget.close()
        final = final_bundle(job)
        add("final output", "output", final["text/html"])
        add("final output text", "text", final["text/plain"])
        frozen = live_bundle(job, note=stopped_note(job.job_id))
        add("last state", "output", frozen["text/html"])
        add("last state text", "text", frozen["text/plain"])
        summary = JobSummary(job)
        add("summary", "output", summary._repr_html_())
        add("summary text", "text", repr(summary))
        if job.local_recordings:
            group = PlayerGroup(job.local_recordings)
            add("players", "output", group._repr_html_())
            add("players text", "text", repr(group))

    # --- the job browser: rows, caption, messages, actions and previews
    browser = JobBrowser(namespace={}, auto_refresh=False)
    browser.wait(timeout)

    def browser_state(step: str) -> None:
        add(f"browser caption ({step})", "widget", browser.view.toolbar.caption.value)
        add(f"browser message ({step})", "widget", browser.view.message.value)
        add(f"browser preview title ({step})", "widget", browser.view.preview.title.value)
        for row in browser.view.rows:
            add(f"browser row ({step})", "widget", row.info.value)
        for output in browser.preview_outputs:
            add(f"browser preview ({step})", "output", output["data"]["text/html"])
        for label, bundle in (
            ("snapshot", snapshot_bundle(browser)),
            ("saved copy", folded_copy(browser)),
        ):
            add(f"browser {label} ({step})", "output", bundle["text/html"])
            add(f"browser {label} text ({step})", "text", bundle["text/plain"])

    browser_state("listed")
    add("browser table", "output", browser._repr_html_())
    add("browser text", "text", repr(browser))
    for row in list(browser.rows):
        for action in ("preview", "full", "load", "cancel"):
            if action == "full":
                future = browser.preview(row.job_id, full=True)
            else:
                future = getattr(browser, action)(row.job_id)
            future.result(timeout)
            browser.wait(timeout)
            browser_state(f"{action} {row.job_id[:12]}")
    for name, value in browser.loaded.items():
        add("loaded handle", "text", f"{name} = {value!r}")
    browser.close()

    # --- the local-engine notice: the URL it names is the user's (or a launcher's)
    for text in (*PAYLOADS, *URL_PAYLOADS):
        for url in (f"http://127.0.0.1:8000/{text}", text):
            said = f"Using the local Odyssey engine at {url} (set ODYSSEY_API_KEY to go hosted)"
            notice = notice_bundle(said)
            add("notice", "output", notice["text/html"])
    found += collect_sweeps(server, workdir, timeout=timeout)
    return found


SWEEP_TEMPLATE = "0s start {style} image={pic}\n+0.5s interact {style}, seed {seed}\n+1s end"


def sweep_params(workdir: Path, count: int = 10) -> list[dict[str, Any]]:
    """Params whose values are hostile: prompt text, numbers and image file names."""
    names = [p for p in SLASHLESS if '"' not in p][-3:]
    pictures = [_png(workdir / f"sweep {name}.png") for name in names]
    return [
        {
            "style": payload(3 * i),
            "seed": payload(3 * i + 1) if i % 2 else i,
            "pic": pictures[i % 3],
        }
        for i in range(count)
    ]


def collect_sweeps(
    server: HostileServer, workdir: Path, *, timeout: float = 90.0
) -> list[Fragment]:
    """The sweep displays fed hostile params, server ids, statuses and error messages.

    The dry run goes through the cell magic's own path (``--dry-run --sweep``); a
    sweep runs on ``server`` (its jobs complete or fail with hostile messages, and
    with ``slashed_every`` some submissions get an id the client refuses); then the
    live panel, its text line, the final output, the gallery and a comparison.
    """
    from odyssey_jupyter.display.media.compare import compare
    from odyssey_jupyter.display.media.gallery import gallery
    from odyssey_jupyter.display.sweep.live import SweepLive, SweepText
    from odyssey_jupyter.display.sweep.summary import SweepFinal, status_html
    from odyssey_jupyter.ipython import sweep_magic
    from odyssey_jupyter.ipython.magic_args import parse_simulate_line
    from odyssey_jupyter.sweeps import sweep

    found: list[Fragment] = []

    def add(name: str, kind: Kind, content: Any) -> None:
        found.append(Fragment(name, kind, str(content)))

    def add_display(name: str, thing: Any) -> None:
        add(name, "output", thing._repr_html_())
        add(f"{name} text", "text", repr(thing))

    params = sweep_params(workdir)
    namespace: dict[str, Any] = {"grid": params}

    # --- the dry run, as the magic shows it
    shown: list[Any] = []
    real_display = sweep_magic.display  # type: ignore[attr-defined]
    sweep_magic.display = lambda *objs, **_kw: shown.extend(objs)  # type: ignore[attr-defined]
    try:
        args = parse_simulate_line("--dry-run --sweep grid --name hostile_plan", cell=True)
        sweep_magic.run_sweep_cell(args, SWEEP_TEMPLATE, namespace)
    finally:
        sweep_magic.display = real_display  # type: ignore[attr-defined]
    for plan in shown:
        add_display("sweep dry run", plan)

    # --- refused input: a hostile sweep name, a hostile param name
    for bad_name, bad_params in ((PAYLOADS[0], params[:1]), (None, [{PAYLOADS[1]: "x"}])):
        try:
            sweep(SWEEP_TEMPLATE, bad_params, name=bad_name, namespace={})
        except ScriptError as exc:
            add("sweep refused", "text", "\n".join(exc._render_traceback_()))

    # --- a sweep on the hostile server
    running = sweep(SWEEP_TEMPLATE, params, name="hostile_sweep", namespace={})
    add("sweep panel (started)", "widget", status_html(running))
    lines: list[str] = []
    text = SweepText(running, write=lines.append)
    live = SweepLive(running)
    running.wait(timeout)
    add("sweep panel", "widget", status_html(running))
    add("sweep live panel", "widget", live.status.value)
    add("sweep live gallery", "widget", live.gallery.value)
    live.following.redraw()
    text.following.redraw()
    add("sweep text", "text", "\n".join(lines))
    add_display("sweep final", SweepFinal(running))
    add_display("sweep gallery", gallery(running))
    with_video = [item for item in running.items if item.recordings]
    add_display("sweep compare", compare(*with_video[:3]))
    finished_jobs = [item.job for item in with_video[:2] if item.job is not None]
    if len(finished_jobs) == 2:
        add_display("sweep compare jobs", compare(*finished_jobs))

    # --- the list now holds the refused ids: the browser says so, as text
    browser_module.clear_caches()
    browser = JobBrowser(namespace={}, auto_refresh=False)
    browser.wait(timeout)
    add("browser refused list", "widget", browser.view.message.value)
    add("browser refused list caption", "widget", browser.view.toolbar.caption.value)
    browser.close()
    return found


def collect_bad_total(server: HostileServer, *, timeout: float = 60.0) -> list[Fragment]:
    """A browser over a list whose ``total`` is a hostile string (``server.total``)."""
    shutdown_runtime()
    browser_module.clear_caches()
    browser = JobBrowser(namespace={}, auto_refresh=False)
    browser.wait(timeout)
    found = [
        Fragment("bad total: caption", "widget", browser.view.toolbar.caption.value),
        Fragment("bad total: message", "widget", browser.view.message.value),
        Fragment("bad total: table", "output", browser._repr_html_()),
        Fragment("bad total: text", "text", repr(browser)),
    ]
    browser.close()
    return found


__all__ = [
    "SWEEP_TEMPLATE",
    "Fragment",
    "collect",
    "collect_bad_total",
    "collect_sweeps",
    "point_at",
    "sweep_params",
    "user_cell",
]
