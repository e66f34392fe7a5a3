"""Argument parsing of the magic lines, apart from the magics so it stays testable.

Errors are IPython ``UsageError``s (shown without a traceback) that name the
offending flags; nothing here touches the shell or the network. The usage lines and
the magics' help are made from these parsers by :mod:`odyssey_jupyter.ipython.magic_help`.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

from IPython.core.error import UsageError

from odyssey_jupyter.ipython.magic_help import EITHER, SWEEP_GROUP, simulate_usage, usage_line
from odyssey_jupyter.protocol.types import JobStatus
from odyssey_jupyter.text.flag_hints import unexpected_words, unknown_flags
from odyssey_jupyter.text.markup import printable
from odyssey_jupyter.text.recorded_parser import RecordedParser
from odyssey_jupyter.text.suggest import did_you_mean

SIMULATE_CONFLICTS: dict[str, tuple[str, ...]] = {
    EITHER[1]: (EITHER[0],),
    "--dry-run": ("--wait", "--timeout", "--cancel-on-interrupt", "--no-download"),
}
"""Flags of ``%%odyssey_simulate`` that cannot go with others (the parser refuses them
and completion does not offer them)."""


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``--wait``: shown as its message, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [printable(f"KeyboardInterrupt: {self}")]


@dataclass(frozen=True)
class SimulateArgs:
    """The parsed ``%%odyssey_simulate`` line."""

    portrait: bool = True
    output: str | None = None
    wait: bool | None = None
    """``True`` with --wait or --timeout; ``None`` leaves it to ``wait_by_default``."""
    timeout: float | None = None
    cancel_on_interrupt: bool = False
    dry_run: bool = False
    image: str | None = None
    download: bool = True
    variable: str | None = None
    sweep: str | None = None
    """The variable holding a sweep's params (list of dicts, dict of lists, DataFrame)."""
    sweep_name: str | None = None
    max_in_flight: int | None = None
    pack: int = 1
    store: str | None = None
    """Where the sweep's dataset goes (a folder or an fsspec URL); ``-o`` names a variable."""
    max_video_seconds: float | None = None


@dataclass(frozen=True)
class JobsArgs:
    """The parsed ``%odyssey_jobs`` line."""

    active: bool = False
    status: str | None = None
    limit: int = 20
    offset: int = 0


class _Parser(RecordedParser):
    """argparse that raises instead of printing and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\nusage: {self.usage}")


def _split(line: str, usage: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the magic line: {exc}\nusage: {usage}") from None


def simulate_parser() -> RecordedParser:
    """The flags of ``%%odyssey_simulate``, written once: the usage, the magic's help
    and the completer are all read from this parser."""
    parser = _Parser(prog="%%odyssey_simulate", add_help=False, allow_abbrev=False)
    flag = parser.add_argument
    flag("--portrait", action="store_true", help="704x1280 frames (the default)")
    flag("--landscape", action="store_true", help="1280x704 frames")
    flag(
        "-o",
        "--output",
        metavar="NAME",
        help="store the Job in NAME (also when it later fails); "
        "with --dry-run, store the validated script(s)",
    )
    flag(
        "--wait",
        action="store_true",
        help="block until the job is over (default: the setting "
        "OdysseyJupyter.wait_by_default, env ODYSSEY_WAIT=1); a failed or cancelled job "
        "then raises",
    )
    flag(
        "--timeout",
        metavar="SECONDS",
        help="wait at most this long (implies --wait); the job goes on",
    )
    flag(
        "--cancel-on-interrupt",
        action="store_true",
        help="Ctrl-C while waiting cancels the job (otherwise it goes on)",
    )
    flag("--dry-run", action="store_true", help="validate and draw the timeline; nothing is sent")
    flag(
        "--image",
        metavar="PATH_OR_{var}",
        help="start image for every start entry without its own image",
    )
    flag(
        "--no-download",
        action="store_true",
        help="do not download the recordings when the job completes",
    )
    sweep = parser.add_group(SWEEP_GROUP)
    sweep(
        "--sweep",
        metavar="PARAMS",
        help="a sweep: the body is a template whose {name}s come from each item of PARAMS "
        "(list of dicts, dict of lists, or a DataFrame), then from notebook variables",
    )
    sweep("--name", metavar="NAME", help="the sweep's name (with --sweep)")
    sweep("--max-in-flight", metavar="N", help="at most N jobs of the sweep at once")
    sweep("--pack", metavar="K", help="K items of PARAMS per job (default 1)")
    sweep("--store", metavar="URL", help="copy the recordings and a manifest to a folder or URL")
    sweep("--max-video-seconds", metavar="S", type=float, help="stop before S s of video")
    parser.usage = simulate_usage(parser)
    return parser


def _whole(flag: str, text: str | None, *, minimum: int = 1) -> int | None:
    """A flag's whole-number value, at least ``minimum``; None when the flag is absent."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{flag} takes a whole number ({minimum} or more), not '{text}'") from None
    if value < minimum:
        raise UsageError(f"{flag} must be {minimum} or more, not {value}")
    return value


def _sweep_flags(
    parser: RecordedParser, namespace: argparse.Namespace, *, cell: bool
) -> tuple[str | None, int | None, int]:
    """Check --sweep and the flags of its group, which only make sense with it."""
    given = [
        option.flags[0]
        for option in parser.options
        if option.group == SWEEP_GROUP
        and option.flags[0] != "--sweep"
        and getattr(namespace, option.action.dest) is not None
    ]
    if namespace.sweep is None:
        if given:
            raise UsageError(f"{', '.join(given)} only work with --sweep PARAMS")
        return None, None, 1
    if not cell:
        raise UsageError("--sweep needs the cell form: the cell body is the template")
    if not namespace.sweep.isidentifier():
        raise UsageError(f"--sweep takes the name of a variable, not '{namespace.sweep}'")
    if namespace.image is not None:
        raise UsageError("--image does not apply to --sweep: write image={param} in the template")
    if namespace.name is not None and not namespace.name.isidentifier():
        raise UsageError(f"--name takes a plain identifier, not '{namespace.name}'")
    pack = _whole("--pack", namespace.pack)
    return namespace.name, _whole("--max-in-flight", namespace.max_in_flight), pack or 1


def parse_simulate_line(line: str, *, cell: bool) -> SimulateArgs:
    """Parse the flags; ``cell=False`` (line form) requires one VARIABLE argument."""
    parser = simulate_parser()
    namespace, rest = parser.parse_known_args(_split(line, SIMULATE_USAGE))
    _refuse_unknown_flags(rest, parser, SIMULATE_USAGE)
    variable = _variable(unexpected_words(rest), cell=cell)
    _check_simulate_flags(namespace)
    timeout = _timeout(namespace.timeout)
    _check_dry_run(namespace)
    wait: bool | None = True if (namespace.wait or timeout is not None) else None
    sweep_name, max_in_flight, pack = _sweep_flags(parser, namespace, cell=cell)
    return SimulateArgs(
        portrait=not namespace.landscape,
        output=namespace.output,
        wait=wait,
        timeout=timeout,
        cancel_on_interrupt=namespace.cancel_on_interrupt,
        dry_run=namespace.dry_run,
        image=namespace.image,
        download=not namespace.no_download,
        variable=variable,
        sweep=namespace.sweep,
        sweep_name=sweep_name,
        max_in_flight=max_in_flight,
        pack=pack,
        store=namespace.store,
        max_video_seconds=namespace.max_video_seconds,
    )


def _refuse_unknown_flags(rest: list[str], parser: RecordedParser, usage: str) -> None:
    """A flag the parser does not know is an error, with the closest known flag."""
    message = unknown_flags(rest, parser)
    if message:
        raise UsageError(f"{message}\nusage: {usage}")


def _variable(positional: list[str], *, cell: bool) -> str | None:
    """The line form's one VARIABLE; the cell form takes none (the script is the body)."""
    if cell:
        if positional:
            raise UsageError(
                f"unexpected argument{'s' if len(positional) > 1 else ''}: "
                f"{' '.join(positional)} (the script goes in the cell body)\n"
                f"usage: {SIMULATE_USAGE}"
            )
        return None
    if len(positional) != 1:
        got = " ".join(positional) if positional else "nothing"
        raise UsageError(
            f"the line form takes one variable holding a script or a list of scripts, "
            f"got {got}\nusage: {SIMULATE_USAGE}"
        )
    variable = positional[0]
    if not variable.isidentifier():
        raise UsageError(f"'{variable}' is not a variable name\nusage: {SIMULATE_USAGE}")
    return variable


def _check_simulate_flags(namespace: argparse.Namespace) -> None:
    """Both orientations at once, and an -o that is not a variable name."""
    if namespace.portrait and namespace.landscape:
        raise UsageError("--portrait and --landscape conflict: give one (portrait is the default)")
    if namespace.output is not None and not namespace.output.isidentifier():
        raise UsageError(f"-o takes a variable name, not '{namespace.output}'")


def _check_dry_run(namespace: argparse.Namespace) -> None:
    """A dry run sends nothing, so the flags about sending cannot go with it."""
    if namespace.dry_run:
        clashing = [
            flag
            for flag in SIMULATE_CONFLICTS["--dry-run"]
            if getattr(namespace, flag.lstrip("-").replace("-", "_")) not in (False, None)
        ]
        if clashing:
            raise UsageError(
                f"--dry-run conflicts with {', '.join(clashing)}: a dry run sends nothing"
            )


def _timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        timeout = float(text)
    except ValueError:
        raise UsageError(f"--timeout takes a number of seconds, not '{text}'") from None
    if not timeout > 0:
        raise UsageError(f"--timeout must be above 0 seconds, not {text}")
    return timeout


def jobs_parser() -> RecordedParser:
    parser = _Parser(prog="%odyssey_jobs", add_help=False, allow_abbrev=False)
    parser.add_argument("--active", action="store_true", help="only jobs not finished yet")
    parser.add_argument(
        "--status",
        metavar="STATUS",
        help=f"only jobs in this status: {', '.join(s.value for s in JobStatus)}",
    )
    parser.add_argument(
        "--limit", metavar="N", default="20", help="at most N jobs (1 to 100, default 20)"
    )
    parser.add_argument(
        "--offset", metavar="N", default="0", help="skip the N newest jobs (default 0)"
    )
    parser.usage = usage_line(parser)
    return parser


def parse_jobs_line(line: str) -> JobsArgs:
    """Parse ``%odyssey_jobs [--active] [--status STATUS] [--limit N] [--offset N]``."""
    parser = jobs_parser()
    namespace, rest = parser.parse_known_args(_split(line, JOBS_USAGE))
    _refuse_unknown_flags(rest, parser, JOBS_USAGE)
    if rest:
        statuses = [w for w in rest if w.lower() in {s.value for s in JobStatus}]
        hint = f" (did you mean --status {statuses[0].lower()}?)" if statuses else ""
        raise UsageError(f"unexpected argument(s): {' '.join(rest)}{hint}\nusage: {JOBS_USAGE}")
    try:
        limit = int(namespace.limit)
    except ValueError:
        raise UsageError(f"--limit takes a whole number, not '{namespace.limit}'") from None
    if not 1 <= limit <= 100:
        raise UsageError(f"--limit must be between 1 and 100, not {limit}")
    status = namespace.status
    if status is not None:
        known = [s.value for s in JobStatus]
        if status.lower() not in known:
            hint = did_you_mean(status, known, limit=1)
            raise UsageError(
                f"unknown status '{status}'{f' ({hint})' if hint else ''}; "
                f"use one of {', '.join(known)}"
            )
        status = status.lower()
        if namespace.active and JobStatus(status).is_terminal:
            raise UsageError(f"--active conflicts with --status {status} (a finished status)")
    offset = _whole("--offset", namespace.offset, minimum=0) or 0  # the newest jobs skipped
    return JobsArgs(active=namespace.active, status=status, limit=limit, offset=offset)


def login_parser() -> RecordedParser:
    parser = _Parser(prog="%odyssey_login", add_help=False, allow_abbrev=False)
    parser.add_argument("--url", metavar="API_URL", help="the API to log in to")
    parser.usage = usage_line(parser)
    return parser


def parse_login_line(line: str) -> str | None:
    """The ``--url`` of ``%odyssey_login``; anything else is refused without echoing it
    (the line may hold the key itself)."""
    words = line.split()
    if not words:
        return None
    try:
        namespace, rest = login_parser().parse_known_args(words)
    except UsageError:
        rest = words
    if rest or namespace.url is None:
        raise UsageError(
            "%odyssey_login takes no key on the line (it would be saved in the notebook); "
            "run %odyssey_login and paste the key at the hidden prompt "
            "(optionally: %odyssey_login --url API_URL)"
        )
    url: str = namespace.url
    return url


LOCAL_ACTIONS = ("status", "stop")


@dataclass(frozen=True)
class LocalArgs:
    """The parsed ``%odyssey_local`` line."""

    action: str
    json: bool = False
    timeout: float | None = None


def local_parser() -> RecordedParser:
    parser = _Parser(prog="%odyssey_local", add_help=False, allow_abbrev=False)
    parser.add_argument("action", metavar="status|stop", help="show the local engine, or stop it")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="stop: seconds the engine has to stop before it is ended (default 20)",
    )
    parser.usage = usage_line(parser)
    return parser


def parse_local_line(line: str) -> LocalArgs:
    """Parse ``%odyssey_local status|stop [--json] [--timeout SECONDS]``."""
    parser = local_parser()
    usage = parser.usage or ""
    words = _split(line, usage)
    namespace, rest = parser.parse_known_args(words)
    _refuse_unknown_flags(rest, parser, usage)
    if rest:
        raise UsageError(f"unexpected argument(s): {' '.join(rest)}\nusage: {usage}")
    action = str(namespace.action).lower()
    if action not in LOCAL_ACTIONS:
        hint = did_you_mean(action, list(LOCAL_ACTIONS), limit=1)
        raise UsageError(
            f"unknown action '{namespace.action}'{f' ({hint})' if hint else ''}; "
            f"use status or stop\nusage: {usage}"
        )
    timeout = None
    if namespace.timeout is not None:
        if action != "stop":
            raise UsageError("--timeout goes with stop only")
        try:
            timeout = float(namespace.timeout)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout < float("inf"):
            raise UsageError(
                f"--timeout takes a positive number of seconds, not '{namespace.timeout}'"
            )
    return LocalArgs(action=action, json=namespace.json, timeout=timeout)


SIMULATE_USAGE = simulate_parser().usage or ""
JOBS_USAGE = jobs_parser().usage or ""
LOGIN_USAGE = login_parser().usage or ""
LOCAL_USAGE = local_parser().usage or ""
