"""The IPython magics: ``%%odyssey_simulate``, ``%odyssey_jobs``, ``%odyssey_login``,
``%odyssey_local``; loading them is :mod:`odyssey_jupyter.ipython.extension`'s.

Thin on purpose: parse the line (``magic_args``), the body (``script.text``), hand
the submission to the background loop (``session.jobs.simulate`` returns at once), show
a display (``display.live.final_output``), and, with ``--wait``, block until the job is over.
The kernel thread never creates the client or touches the network; the engine
start and the POST happen on the loop thread while the widget says so.
"""

from __future__ import annotations

import copy
import getpass
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.display import display as _ipython_display

from odyssey_jupyter.errors import (
    EngineStopError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    OdysseyError,
    ScriptError,
)
from odyssey_jupyter.ipython.magic_args import (
    SimulateArgs,
    WaitInterrupted,
    jobs_parser,
    local_parser,
    login_parser,
    parse_jobs_line,
    parse_local_line,
    parse_login_line,
    parse_simulate_line,
    simulate_parser,
)
from odyssey_jupyter.ipython.magic_help import documented
from odyssey_jupyter.script.cell import MAGIC_BODY_FIRST_LINE, CellScripts
from odyssey_jupyter.script.cell_parser import parse_cell, with_image
from odyssey_jupyter.script.literal_forms import from_value
from odyssey_jupyter.script.placeholders import resolve_image_arg
from odyssey_jupyter.session import config as config_module
from odyssey_jupyter.text.markup import printable
from odyssey_jupyter.text.redaction import shown_url

if TYPE_CHECKING:
    from odyssey_jupyter.script.rules import ScriptWarning
    from odyssey_jupyter.session.jobs import Job

FINAL_RENDER_TIMEOUT = 5.0
"""How long --wait gives the display to show the final state before raising."""


def display(obj: Any) -> None:
    """IPython's display, typed."""
    _ipython_display(obj)  # type: ignore[no-untyped-call]


class LiveDisplay(Protocol):
    """What ``_wait`` needs of a StatusWidget or TextStatus."""

    def wait_finished(self, timeout: float) -> bool: ...

    def keep_showing(self) -> None: ...


def _quiet(exc: BaseException) -> BaseException:
    """Make IPython show ``exc`` as one message (it is still raised, so runs fail)."""
    if not hasattr(exc, "_render_traceback_"):
        text = printable(f"{type(exc).__name__}: {exc}")  # a server's words reach a terminal
        exc._render_traceback_ = lambda: [text]  # type: ignore[attr-defined]
    return exc


@magics_class
class OdysseyMagics(Magics):
    """Odyssey's Simulate API as magics."""

    @property
    def _user_ns(self) -> dict[str, Any]:
        shell = self.shell
        if shell is None:  # pragma: no cover - magics always run inside a shell
            raise UsageError("the Odyssey magics need an IPython shell")
        namespace: dict[str, Any] = shell.user_ns
        return namespace

    # ------------------------------------------------------------------ simulate

    @no_var_expand
    @line_cell_magic
    @documented(simulate_parser)
    def odyssey_simulate(self, line: str, cell: str | None = None) -> None:
        r"""Submit the cell's script (or a variable's script) as a simulation.

        The body, one of:
          a timeline, one entry per line: TIME ACTION [PROMPT] [image=PATH]
            TIME: 1500ms, 3s, 2.5s, 1:05, 1:05.250, or +2s (after the previous line)
            ACTION: start, interact or end (any case); the prompt is the rest of the line
            image=cat.png, image="my cat.png" or image={var} (path, bytes, PIL, array)
            {name} inserts a variable, {{ and }} are literal braces
            # starts a comment, \# is a literal #; blank lines are ignored
            a line of --- separates the scripts of a batch job
          a Python expression giving a script or a list of scripts (``script = [...]``
            pasted from the Simulate API guide works as is)
          JSON: a script, a list of scripts, or {"script": ...} / {"scripts": ...}
        """
        args = parse_simulate_line(line, cell=cell is not None)
        namespace = self._user_ns
        if args.sweep is not None and cell is not None:
            from odyssey_jupyter.ipython.sweep_magic import run_sweep_cell

            run_sweep_cell(args, cell, namespace)
            return
        parsed = self._scripts(args, cell, namespace)
        if args.dry_run:
            self._dry_run(args, parsed, namespace)
            return
        from odyssey_jupyter.session import jobs

        advice = _show_warnings(parsed)
        job = jobs.submit_validated(
            parsed.scripts,
            batch=parsed.batch,
            portrait=args.portrait,
            download=args.download,
            warnings=advice,
            warnings_shown=bool(advice),
            locate=parsed.locate,
        )
        if args.output:
            namespace[args.output] = job
        wait = args.wait if args.wait is not None else config_module.get_config().wait_by_default
        view = _show(job, waiting=wait, players=args.download)
        if wait:
            _wait(job, view, args)

    def _scripts(
        self, args: SimulateArgs, cell: str | None, namespace: dict[str, Any]
    ) -> CellScripts:
        if cell is None:
            name = args.variable or ""
            if name not in namespace:
                raise UsageError(
                    f"no variable named '{name}'; define it in a cell above (a script, or "
                    "a list of scripts), or use %%odyssey_simulate with the script as the body"
                )
            parsed = from_value(namespace[name], name=name)
        else:
            parsed = parse_cell(cell, namespace, first_line=MAGIC_BODY_FIRST_LINE)
        if args.image is not None:
            parsed = with_image(parsed, resolve_image_arg(args.image, namespace))
        return parsed

    def _dry_run(self, args: SimulateArgs, parsed: CellScripts, namespace: dict[str, Any]) -> None:
        from odyssey_jupyter.display.job.timeline import ScriptTimeline

        if args.output:
            namespace[args.output] = parsed.scripts if parsed.batch else parsed.scripts[0]
        display(ScriptTimeline(parsed.scripts, portrait=args.portrait))
        _show_warnings(parsed, sending=False)

    # ------------------------------------------------------------------ jobs

    @no_var_expand
    @line_magic
    @documented(jobs_parser)
    def odyssey_jobs(self, line: str) -> None:
        """List recent jobs in the job browser."""
        args = parse_jobs_line(line)
        from odyssey_jupyter.display.browser import BrowserOutput, JobBrowser

        browser = JobBrowser(
            status=args.status,
            active=args.active,
            limit=args.limit,
            offset=args.offset,
            namespace=self._user_ns,
        )
        # Under a display id: it becomes a static snapshot when a newer browser opens,
        # when it is closed, and when the kernel exits.
        BrowserOutput.of(browser).show()

    # ------------------------------------------------------------------ login

    @no_var_expand
    @line_magic
    @documented(login_parser)
    def odyssey_login(self, line: str) -> None:
        """Ask for the API key at a hidden prompt, check it at once, and keep it in memory.

        The key is never typed on the magic line (it would be saved in the notebook).
        It is tried with a token exchange before anything changes: a refused key
        leaves the session's settings as they were.
        """
        api_url = parse_login_line(line)
        key = getpass.getpass("Odyssey API key (kept in memory only): ").strip()
        if not key:
            raise UsageError("no key given; nothing changed")
        from odyssey_jupyter.session.runtime import get_runtime

        runtime = get_runtime()
        where = runtime.run(_checked_url(key, api_url), timeout=LOGIN_CHECK_SECONDS + 10)
        runtime.configure(api_key=key, api_url=where)
        print(f"Key accepted by {shown_url(where, [key])} (in memory only, never saved).")

    # ------------------------------------------------------------------ local engine

    @no_var_expand
    @line_magic
    @documented(local_parser)
    def odyssey_local(self, line: str) -> None:
        """Show the local engine kernels without a key use (``status``), or stop it (``stop``).

        The engine of ``ODYSSEY_LOCAL_DATA_DIR`` (or the default data directory), as
        ``odyssey-local status|stop`` shows it in a terminal. A stopped engine's
        unfinished jobs stay queued; the next job starts an engine again.
        """
        args = parse_local_line(line)
        import json

        from odyssey_jupyter.local.launch.manage import engine_status, stop_engine
        from odyssey_jupyter.local.launch.options import STOP_TIMEOUT

        if args.action == "status":
            status = engine_status()
            print(json.dumps(status.as_json(), indent=2) if args.json else status.text())
            return
        outcome = stop_engine(timeout=args.timeout or STOP_TIMEOUT)
        if not outcome.stopped:
            raise _quiet(EngineStopError(outcome.message))
        print(json.dumps(outcome.as_json(), indent=2) if args.json else outcome.message)


LOGIN_CHECK_SECONDS = 30.0
"""How long %odyssey_login waits for the token exchange that checks a key."""


async def _checked_url(key: str, api_url: str | None) -> str:
    """The API URL that accepted ``key``, else a UsageError saying why not.

    A client of its own, thrown away after the exchange, so a refused key never
    reaches the runtime's client.
    """
    from odyssey_jupyter.client.odyssey import Odyssey

    try:
        probe = Odyssey(api_key=key, api_url=api_url)
    except OdysseyError as exc:  # an API URL that is not one
        raise UsageError(f"{exc}; nothing changed") from None
    try:
        return await probe.check_credentials(timeout=LOGIN_CHECK_SECONDS)
    except OdysseyError as exc:
        where = shown_url(probe.api_url, [key]) if probe.api_url else "the API"
        raise UsageError(_refusal(where, exc)) from None
    finally:
        await probe.aclose()


def _refusal(where: str, problem: OdysseyError) -> str:
    """One line for a key that was not accepted (its messages never hold the key); the
    server's words in it are shown, not obeyed, by a terminal."""
    from odyssey_jupyter.client.http_errors import detail_text
    from odyssey_jupyter.errors import AuthenticationError

    if isinstance(problem, AuthenticationError):
        detail = detail_text(problem.detail).strip()
        reason = f"{problem.status_code}: {detail}" if detail else str(problem.status_code)
        return printable(f"the key was refused by {where} ({reason}); nothing changed")
    return printable(f"the key could not be checked with {where}: {problem}; nothing changed")


# --------------------------------------------------------------------------- display + wait


def _show_warnings(parsed: CellScripts, *, sending: bool = True) -> tuple[ScriptWarning, ...]:
    """Display the cell's warnings once (unless the setting is off); they go on the Job."""
    from odyssey_jupyter.session.jobs import warnings_on

    if not warnings_on():
        return ()
    advice = parsed.warnings()
    if advice:
        from odyssey_jupyter.display.job.warnings import ScriptWarnings

        display(ScriptWarnings(advice, sending=sending))
    return advice


def _show(job: Job, *, waiting: bool, players: bool = True) -> LiveDisplay:
    """The one output of ``job``: live while it runs, replaced in place by its outcome.

    Where widgets are shown, the live widget sits under a display id and the loop
    thread swaps in the final static output when the job ends, with or without
    ``--wait`` (``display.final_output``). Text frontends print lines; there, when
    the magic waits, the outcome is displayed afterwards (see ``_wait``).
    """
    from odyssey_jupyter.display.common.frontend import detect_frontend

    if detect_frontend() == "widget":
        from odyssey_jupyter.display.live.final_output import JobOutput

        return JobOutput(job, players=players).show()
    from odyssey_jupyter.display.job.status_text import TextStatus

    return TextStatus(job, players=not waiting, final=not waiting)


def _said_above(exc: ScriptError) -> ScriptError:
    """A bad image the job's output already names in full: the red line does not repeat it.

    It is still raised (a headless run fails, ``str(exc)`` is the same message).
    """
    name = type(exc).__name__
    said = copy.copy(exc)  # job.wait() in a later cell still shows the whole message
    said._render_traceback_ = lambda: [  # type: ignore[method-assign]
        f"{name}: not submitted (the job's output above says why)"
    ]
    return said


def _outcome_shown(view: LiveDisplay) -> bool:
    """True when the live display itself turns into the outcome (no summary after it)."""
    from odyssey_jupyter.display.live.final_output import JobOutput

    return isinstance(view, JobOutput)


def _wait(job: Job, view: LiveDisplay, args: SimulateArgs) -> None:
    """Block until the job is over; show the outcome as an ordinary output; raise if bad."""
    from odyssey_jupyter.display.job.status_text import JobSummary

    try:
        job.wait(timeout=args.timeout, raise_on_failure=True)
    except KeyboardInterrupt:
        _interrupted(job, view, args)
    except JobTimeoutError as exc:
        view.keep_showing()
        raise _quiet(
            JobTimeoutError(
                f"gave up waiting after {args.timeout:g} s; job {job.job_id or '(not submitted)'} "
                f"goes on. {_how_to_cancel(job, view, args)}",
                exc.detail,
            )
        ) from None
    except (JobFailedError, JobCancelledError) as exc:
        view.wait_finished(FINAL_RENDER_TIMEOUT)
        if not _outcome_shown(view):
            display(JobSummary(job, players=False))
        raise _quiet(exc) from None
    except OdysseyError as exc:
        view.wait_finished(FINAL_RENDER_TIMEOUT)
        if job.job_id is None and isinstance(exc, ScriptError) and _outcome_shown(view):
            raise _said_above(exc) from None
        raise _quiet(exc) from None
    view.wait_finished(FINAL_RENDER_TIMEOUT)
    if not _outcome_shown(view):
        display(JobSummary(job, players=args.download))


def _how_to_cancel(job: Job, view: LiveDisplay, args: SimulateArgs) -> str:
    """How to cancel a job the magic stopped waiting for. The Cancel button is named
    only where a widget shows it: terminal IPython and other text frontends have none."""
    button = _outcome_shown(view)
    if args.output:
        alternative = " or the widget's Cancel button" if button else ""
        return f"Cancel it with {args.output}.cancel(){alternative}."
    if job.job_id:
        call = f"odyssey_jupyter.Job.from_id({job.job_id!r}).cancel()"
        if button:
            return f"Cancel it with the widget's Cancel button or {call}."
        return f"Cancel it with {call}."
    if button:
        return "Cancel it with the widget's Cancel button."
    return (
        "It has no id yet: once it is sent, %odyssey_jobs --active shows the id, "
        "and odyssey_jupyter.Job.from_id(ID).cancel() cancels it."
    )


def _interrupted(job: Job, view: LiveDisplay, args: SimulateArgs) -> None:
    ident = job.job_id or "(not submitted yet)"
    if not args.cancel_on_interrupt:
        view.keep_showing()
        raise WaitInterrupted(
            f"stopped waiting; job {ident} goes on. {_how_to_cancel(job, view, args)}"
        ) from None
    try:
        outcome = job.cancel()
        if not outcome.refused:
            job.wait(timeout=FINAL_RENDER_TIMEOUT)
    except KeyboardInterrupt:
        raise WaitInterrupted(
            f"interrupted again while cancelling job {ident}; it may still run. "
            f"{_how_to_cancel(job, view, args)}"
        ) from None
    except (OdysseyError, TimeoutError) as exc:
        raise _quiet(
            JobError(f"stopped waiting, but cancelling job {ident} failed: {exc}", job.detail)
        ) from None
    if outcome.refused:  # the server no longer cancels it: it goes on, and says so
        view.keep_showing()
        raise WaitInterrupted(f"stopped waiting; {outcome}") from None
    view.wait_finished(FINAL_RENDER_TIMEOUT)
    raise WaitInterrupted(f"stopped waiting and cancelled job {job.job_id or ident}") from None
