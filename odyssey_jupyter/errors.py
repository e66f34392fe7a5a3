"""One exception tree for everything the project raises, rooted at :class:`OdysseyError`.

Where Odyssey's official SDK raises a built-in (``ValueError`` for bad input,
``ConnectionError`` for network trouble), the matching class here also derives
from that built-in so existing ``except`` clauses keep working.

No message built here ever contains an API key or a bearer token: the
constructors take only what is safe to show (status, server ``detail``, path).
"""

from __future__ import annotations

from typing import Any, Protocol


class OdysseyError(Exception):
    """Base class of every error this package raises on purpose.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate([{"timestamp_ms": 0, "stop": {}}])
        except oj.OdysseyError as exc:
            print(exc)   # names the entry and the unknown action
    """


class ConfigurationError(OdysseyError, ValueError):
    """A setting is missing or malformed (API URL, recordings directory...).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.Odyssey(api_url="api.odyssey.ml")   # no scheme
        except oj.ConfigurationError as exc:
            print(exc)   # says what a valid URL looks like
    """


# --------------------------------------------------------------------------- input


SOURCE_LINE_CHARS = 300
"""How much of the offending cell line a ScriptError repeats."""
PROBLEM_CHARS = 5000
"""A ScriptError's problem is cut there (it may quote a token of the cell; ints print whole)."""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ScriptError(OdysseyError, ValueError):
    """A script (or the cell text it came from) is malformed; nothing was sent.

    ``line`` is the 1-based line of the cell text, ``entry`` the 0-based index of
    the script entry, ``script_index`` the script within a batch, ``field`` the
    offending key. Any of them may be ``None`` when it does not apply. ``code`` names
    the rule that was broken (see ``script.StreamOrder``), so that a form of cell text
    can say the same thing in its own words.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate([{"timestamp_ms": 0, "start": {"prompt": "a fox"}}])  # no end
        except oj.ScriptError as exc:
            print(exc.entry, exc.problem)
    """

    def __init__(
        self,
        problem: str,
        *,
        hint: str | None = None,
        line: int | None = None,
        source_line: str | None = None,
        entry: int | None = None,
        script_index: int | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        self.problem = problem
        self.code = code
        self.hint = hint
        self.line = line
        self.source_line = source_line
        self.entry = entry
        self.script_index = script_index
        self.field = field
        super().__init__(self._compose())

    def _where(self) -> str:
        named = [("line", self.line), ("script", self.script_index), ("entry", self.entry)]
        parts = [f"{word} {value}" for word, value in named if value is not None]
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def _compose(self) -> str:
        where = self._where()
        # A 50,000-bracket line (or a token quoted from it) is not worth repeating whole.
        problem = _clip(self.problem, PROBLEM_CHARS)
        text = f"{where}: {problem}" if where else problem
        if self.source_line is not None:
            text += f"\n    {_clip(self.source_line.strip(), SOURCE_LINE_CHARS)}"
        if self.hint:
            text += f"\n  Fix: {self.hint}"
        # A lone surrogate from the cell would make the message itself unsendable.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    def located(self, *, line: int, source_line: str) -> ScriptError:
        """A copy of this error that also names the cell line it came from."""
        return type(self)(
            self.problem,
            hint=self.hint,
            line=line,
            source_line=source_line,
            entry=self.entry,
            script_index=self.script_index,
            field=self.field,
            code=self.code,
        )

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: the message is the whole story."""
        return [f"{type(self).__name__}: {self}"]  # ImageError says so, as its ename does


class ImageError(ScriptError):
    """A start image cannot be used: missing, unreadable, too large or not an image.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate([{"timestamp_ms": 0, "start": {"prompt": "a fox", "image": "gone.png"}}])
        except oj.ImageError as exc:
            print(exc.problem)
    """


# --------------------------------------------------------------------------- HTTP API


class APIError(OdysseyError):
    """The API answered with an error status.

    ``detail`` is the server's own explanation when it gave one.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.APIError as exc:
            print(exc.status_code, exc.method, exc.path, exc.detail)
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.detail = detail
        self.method = method
        self.path = path
        super().__init__(message)


class AuthenticationError(APIError):
    """The API key was refused (401), or is malformed (422 on the token exchange).

    .. rubric:: Example

    .. code-block:: python

        try:
            await oj.Odyssey(api_key="not-a-key").check_credentials()
        except oj.AuthenticationError as exc:
            print(exc)   # says to check ODYSSEY_API_KEY
    """


class PermissionDeniedError(APIError):
    """The key is valid but may not do this (403): someone else's job, a privileged flag.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.Job.from_id("someone-elses-job").refresh()
        except oj.PermissionDeniedError as exc:
            print(exc.status_code)   # 403
    """


class NotFoundError(APIError):
    """No such job or recording (404).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.Job.from_id("no-such-job").refresh()
        except oj.NotFoundError as exc:
            print(exc.status_code)   # 404
    """


class InvalidRequestError(APIError, ValueError):
    """The server refused the request as malformed (400/413/422); ``detail`` says why.

    .. rubric:: Example

    .. code-block:: python

        try:
            await client.list_simulations(limit=500)   # client: an oj.Odyssey
        except oj.InvalidRequestError as exc:
            print(exc)   # limit must be a whole number from 1 to 100
    """


class ServerError(APIError):
    """The server failed (5xx) and retries did not help.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.ServerError as exc:
            print("the API failed:", exc.status_code)
    """


class InvalidResponseError(APIError):
    """The server's answer cannot be used: a value of the wrong type or out of range,
    a body over the size cap, a redirect the client does not follow.

    ``field`` names the offending value when there is one (``streams[0].duration_seconds``).
    Not retried: asking again would get the same answer.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.InvalidResponseError as exc:
            print("unusable answer:", exc.field)
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.field = field
        super().__init__(message, status_code=status_code, method=method, path=path)


class ResponseTooLargeError(InvalidResponseError):
    """A JSON answer or an artifact is larger than its cap, or than its declared length.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.recordings()   # job: from simulate() or the magic's -o
        except oj.ResponseTooLargeError as exc:
            print(exc.limit)   # raise max_artifact_mb to accept it
    """

    def __init__(self, message: str, *, limit: int, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(message, **kwargs)


class RedirectRefusedError(InvalidResponseError):
    """A redirect the client will not follow: any on the token exchange (the key would go
    along with it), and any API call's redirect to another origin (the token would).

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.RedirectRefusedError as exc:
            print(exc.from_origin, "->", exc.to_origin)
    """

    def __init__(self, message: str, *, from_origin: str, to_origin: str, **kwargs: Any) -> None:
        self.from_origin = from_origin
        self.to_origin = to_origin
        super().__init__(message, **kwargs)


class UsageLimitError(APIError):
    """A 429 usage error: ``code``, ``message``, ``action`` and ``details`` from the body.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script)   # script: a list of entries
        except oj.UsageLimitError as exc:
            print(exc.code, exc.action, exc.action_url)
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        action: str | None = None,
        action_url: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
        status_code: int | None = 429,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.code = code
        self.action = action
        self.action_url = action_url
        self.details = dict(details or {})
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, detail=message, method=method, path=path)


class RateLimitError(UsageLimitError):
    """Too many requests (``RATE_LIMITED``); ``retry_after`` is in seconds when known.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.RateLimitError as exc:
            print("try again in", exc.retry_after, "s")
    """


class MonthlyLimitError(UsageLimitError):
    """The account's monthly hours are used up (``MONTHLY_LIMIT_REACHED``).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script).wait()   # script: a list of entries
        except oj.MonthlyLimitError as exc:
            print(exc.action_url)   # where to raise the limit
    """


class ConcurrentLimitError(UsageLimitError):
    """Too many active jobs or streams at once (``CONCURRENT_LIMIT_REACHED``).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script).wait()   # script: a list of entries
        except oj.ConcurrentLimitError:
            print("wait for a running job to finish first")
    """


class StreamDurationError(UsageLimitError):
    """A stream is longer than the account allows (``STREAM_DURATION_EXCEEDED``).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script).wait()   # script: a list of entries
        except oj.StreamDurationError as exc:
            print(exc.details)
    """


class AccountSuspendedError(UsageLimitError):
    """The account is suspended (``ACCOUNT_SUSPENDED``).

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script).wait()   # script: a list of entries
        except oj.AccountSuspendedError as exc:
            print(exc.message)
    """


# --------------------------------------------------------------------------- transport


class OdysseyConnectionError(OdysseyError, ConnectionError):
    """The API could not be reached (refused, reset, DNS) after all retries.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.OdysseyConnectionError as exc:
            print("offline?", exc)
    """


class OdysseyTimeoutError(OdysseyConnectionError, TimeoutError):
    """The API did not answer in time after all retries.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.refresh()   # job: from simulate() or the magic's -o
        except oj.OdysseyTimeoutError:
            print("the API did not answer in time")
    """


class EngineStartError(OdysseyError):
    """The embedded local engine could not be started; the message says why.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.simulate(script).wait()   # script: a list of entries, no key set
        except oj.EngineStartError as exc:
            print(exc)   # says why the local engine did not start
    """


class EngineStopError(OdysseyError):
    """The embedded local engine could not be stopped; the message says why.

    .. rubric:: Example

    .. code-block:: python

        try:
            oj.stop_engine()
        except oj.EngineStopError as exc:
            print(exc)
    """


class RuntimeStoppedError(OdysseyError, RuntimeError):
    """The background loop thread was stopped (``%unload_ext``, interpreter exit).

    Also a ``RuntimeError``. The sync API (``simulate``, ``Job.wait``) starts a fresh loop.

    .. rubric:: Example

    .. code-block:: python

        runtime = odyssey_jupyter.session.runtime.get_runtime()
        runtime.stop()
        try:
            runtime.submit(asyncio.sleep(0))
        except oj.RuntimeStoppedError:
            runtime = odyssey_jupyter.session.runtime.get_runtime()   # a fresh one
    """


# --------------------------------------------------------------------------- job outcomes


class JobSnapshot(Protocol):
    """What a :class:`JobError` keeps of its job: the ``SimulationJobDetail`` last seen
    (a protocol, so that errors stand on nothing else of the package)."""

    @property
    def job_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def is_terminal(self) -> bool: ...


class JobError(OdysseyError):
    """A job ended badly; ``detail`` is the last job detail seen.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.wait(timeout=60, raise_on_failure=True)   # job: from simulate()
        except oj.JobError as exc:
            print(exc.job_id, exc.detail.status if exc.detail else None)
    """

    def __init__(self, message: str, detail: JobSnapshot | None = None) -> None:
        self.detail = detail
        super().__init__(message)

    @property
    def job_id(self) -> str | None:
        return self.detail.job_id if self.detail is not None else None


class JobFailedError(JobError):
    """The job finished with status ``failed``.

    :param message: what happened, with the server's error message.
    :param detail: the job as the API last described it.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.wait(raise_on_failure=True)   # job: from simulate() or the magic's -o
        except oj.JobFailedError as exc:
            print("failed:", exc.detail.error_message)
    """


class JobCancelledError(JobError):
    """The job finished with status ``cancelled``.

    :param message: what happened, for a person.
    :param detail: the job as the API last described it.

    .. rubric:: Example

    .. code-block:: python

        job.cancel()   # job: from simulate() or the magic's -o
        try:
            job.wait(raise_on_failure=True)
        except oj.JobCancelledError as exc:
            print("cancelled:", exc.detail.job_id)
    """


class JobTimeoutError(JobError, TimeoutError):
    """Waiting gave up before the job finished; the job itself goes on.

    :param message: how long was waited.
    :param detail: the job as the API last described it.

    .. rubric:: Example

    .. code-block:: python

        try:
            job.wait(timeout=0.1, raise_on_failure=True)
        except oj.JobTimeoutError:
            print("still", job.status, "- the job goes on")
    """
