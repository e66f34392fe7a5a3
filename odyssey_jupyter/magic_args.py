"""Argument parsing of the magic lines, apart from the magics so it stays testable.

Errors are IPython ``UsageError``s (shown without a traceback) that name the
offending flags; nothing here touches the shell or the network.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

from IPython.core.error import UsageError

from odyssey_jupyter.types import JobStatus

SIMULATE_USAGE = (
    "%%odyssey_simulate [--portrait | --landscape] [-o NAME] [--wait] [--timeout SECONDS] "
    "[--cancel-on-interrupt] [--dry-run] [--image PATH_OR_{var}] [--no-download]\n"
    "%odyssey_simulate [same flags] VARIABLE\n"
    "%%odyssey_simulate --sweep PARAMS [--name NAME] [--max-in-flight N] [--pack K] "
    "[--dry-run] [--wait] [-o NAME]"
)
JOBS_USAGE = "%odyssey_jobs [--active] [--status STATUS] [--limit N]"
LOGIN_USAGE = "%odyssey_login [--url API_URL]"

SIMULATE_CONFLICTS: dict[str, tuple[str, ...]] = {
    "--landscape": ("--portrait",),
    "--dry-run": ("--wait", "--timeout", "--cancel-on-interrupt", "--no-download"),
}
"""Flags of ``%%odyssey_simulate`` that cannot go with others (the parser refuses them
and completion does not offer them)."""


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


@dataclass(frozen=True)
class JobsArgs:
    """The parsed ``%odyssey_jobs`` line."""

    active: bool = False
    status: str | None = None
    limit: int = 20


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\nusage: {self.usage}")


def _split(line: str, usage: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the magic line: {exc}\nusage: {usage}") from None


def simulate_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="%%odyssey_simulate", usage=SIMULATE_USAGE, add_help=False, allow_abbrev=False
    )
    parser.add_argument("--portrait", action="store_true")
    parser.add_argument("--landscape", action="store_true")
    parser.add_argument("-o", "--output", metavar="NAME")
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--timeout", metavar="SECONDS")
    parser.add_argument("--cancel-on-interrupt", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--image", metavar="PATH_OR_{var}")
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument("--sweep", metavar="PARAMS")
    parser.add_argument("--name", metavar="NAME")
    parser.add_argument("--max-in-flight", metavar="N")
    parser.add_argument("--pack", metavar="K")
    return parser


def _whole(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{flag} takes a whole number, not '{text}'") from None
    if value < 1:
        raise UsageError(f"{flag} must be 1 or more, not {value}")
    return value


def _sweep_flags(
    namespace: argparse.Namespace, *, cell: bool
) -> tuple[str | None, int | None, int]:
    """Check --sweep and the flags that only make sense with it."""
    given = [
        flag
        for flag, value in (
            ("--name", namespace.name),
            ("--max-in-flight", namespace.max_in_flight),
            ("--pack", namespace.pack),
        )
        if value is not None
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
    words = _split(line, SIMULATE_USAGE)
    namespace, rest = simulate_parser().parse_known_args(words)
    unknown = [w for w in rest if w.startswith("-") and w != "-"]
    if unknown:
        raise UsageError(
            f"unknown option{'s' if len(unknown) > 1 else ''}: {' '.join(unknown)}\n"
            f"usage: {SIMULATE_USAGE}"
        )
    positional = [w for w in rest if w not in unknown]
    variable: str | None = None
    if cell:
        if positional:
            raise UsageError(
                f"unexpected argument{'s' if len(positional) > 1 else ''}: "
                f"{' '.join(positional)} (the script goes in the cell body)\n"
                f"usage: {SIMULATE_USAGE}"
            )
    else:
        if len(positional) != 1:
            got = " ".join(positional) if positional else "nothing"
            raise UsageError(
                f"the line form takes one variable holding a script or a list of scripts, "
                f"got {got}\nusage: {SIMULATE_USAGE}"
            )
        variable = positional[0]
        if not variable.isidentifier():
            raise UsageError(f"'{variable}' is not a variable name\nusage: {SIMULATE_USAGE}")
    if namespace.portrait and namespace.landscape:
        raise UsageError("--portrait and --landscape conflict: give one (portrait is the default)")
    if namespace.output is not None and not namespace.output.isidentifier():
        raise UsageError(f"-o takes a variable name, not '{namespace.output}'")
    timeout: float | None = None
    if namespace.timeout is not None:
        try:
            timeout = float(namespace.timeout)
        except ValueError:
            raise UsageError(
                f"--timeout takes a number of seconds, not '{namespace.timeout}'"
            ) from None
        if not timeout > 0:
            raise UsageError(f"--timeout must be above 0 seconds, not {namespace.timeout}")
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
    wait: bool | None = True if (namespace.wait or timeout is not None) else None
    sweep_name, max_in_flight, pack = _sweep_flags(namespace, cell=cell)
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
    )


def jobs_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%odyssey_jobs", usage=JOBS_USAGE, add_help=False, allow_abbrev=False)
    parser.add_argument("--active", action="store_true")
    parser.add_argument("--status")
    parser.add_argument("--limit", default="20")
    return parser


def parse_jobs_line(line: str) -> JobsArgs:
    """Parse ``%odyssey_jobs [--active] [--status STATUS] [--limit N]``."""
    namespace, rest = jobs_parser().parse_known_args(_split(line, JOBS_USAGE))
    if rest:
        raise UsageError(f"unknown argument(s): {' '.join(rest)}\nusage: {JOBS_USAGE}")
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
            raise UsageError(f"unknown status '{status}'; use one of {', '.join(known)}")
        status = status.lower()
        if namespace.active and JobStatus(status).is_terminal:
            raise UsageError(f"--active conflicts with --status {status} (a finished status)")
    return JobsArgs(active=namespace.active, status=status, limit=limit)


def login_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%odyssey_login", usage=LOGIN_USAGE, add_help=False, allow_abbrev=False)
    parser.add_argument("--url", metavar="API_URL")
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
