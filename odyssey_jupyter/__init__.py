"""Odyssey's Simulate API in Jupyter: a cell magic, live widgets, and an offline engine.

Public names are imported lazily so that ``import odyssey_jupyter`` stays cheap and
works with only the core dependencies installed (the engine's imports live in
``odyssey_jupyter.local``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Odyssey": "odyssey_jupyter.client.odyssey",
    "simulate": "odyssey_jupyter.session.jobs",
    "Job": "odyssey_jupyter.session.jobs",
    "sweep": "odyssey_jupyter.sweeps",
    "Sweep": "odyssey_jupyter.sweeps",
    "compare": "odyssey_jupyter.display.media.compare",
    "gallery": "odyssey_jupyter.display.media.gallery",
    "show_sweep": "odyssey_jupyter.display.sweep.live",
    "LocalRecording": "odyssey_jupyter.session.recording",
    "JobBrowser": "odyssey_jupyter.display.browser",
    "JobStatus": "odyssey_jupyter.protocol.types",
    "SimulationJobDetail": "odyssey_jupyter.protocol.types",
    "SimulationJobInfo": "odyssey_jupyter.protocol.types",
    "SimulationJobsList": "odyssey_jupyter.protocol.types",
    "SimulationStream": "odyssey_jupyter.protocol.types",
    "Recording": "odyssey_jupyter.protocol.types",
    "StreamRecordingInfo": "odyssey_jupyter.protocol.types",
    "StreamRecordingsList": "odyssey_jupyter.protocol.types",
    "OdysseyError": "odyssey_jupyter.errors",
    "ScriptError": "odyssey_jupyter.errors",
    "JobFailedError": "odyssey_jupyter.errors",
    "JobCancelledError": "odyssey_jupyter.errors",
    "JobTimeoutError": "odyssey_jupyter.errors",
    "ConfigurationError": "odyssey_jupyter.errors",
    "ImageError": "odyssey_jupyter.errors",
    "APIError": "odyssey_jupyter.errors",
    "AuthenticationError": "odyssey_jupyter.errors",
    "PermissionDeniedError": "odyssey_jupyter.errors",
    "NotFoundError": "odyssey_jupyter.errors",
    "InvalidRequestError": "odyssey_jupyter.errors",
    "ServerError": "odyssey_jupyter.errors",
    "InvalidResponseError": "odyssey_jupyter.errors",
    "ResponseTooLargeError": "odyssey_jupyter.errors",
    "RedirectRefusedError": "odyssey_jupyter.errors",
    "UsageLimitError": "odyssey_jupyter.errors",
    "RateLimitError": "odyssey_jupyter.errors",
    "MonthlyLimitError": "odyssey_jupyter.errors",
    "ConcurrentLimitError": "odyssey_jupyter.errors",
    "StreamDurationError": "odyssey_jupyter.errors",
    "AccountSuspendedError": "odyssey_jupyter.errors",
    "OdysseyConnectionError": "odyssey_jupyter.errors",
    "OdysseyTimeoutError": "odyssey_jupyter.errors",
    "EngineStartError": "odyssey_jupyter.errors",
    "EngineStopError": "odyssey_jupyter.errors",
    "RuntimeStoppedError": "odyssey_jupyter.errors",
    "JobError": "odyssey_jupyter.errors",
    "SweepFailedError": "odyssey_jupyter.sweeps.errors",
    "SweepBusyError": "odyssey_jupyter.sweeps.errors",
    "engine_status": "odyssey_jupyter.local.launch.manage",
    "stop_engine": "odyssey_jupyter.local.launch.manage",
}

__all__ = [*sorted(_EXPORTS), "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def _version() -> str:
    """One home for the version: ``odyssey_jupyter.version``."""
    from odyssey_jupyter.version import package_version

    return package_version()


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = globals()[name] = _version()
        return value
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'odyssey_jupyter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext odyssey_jupyter``: register the magics, the configuration, the completer.

    :param ipython: the running IPython shell.
    :returns: nothing; the magics are registered on ``ipython``.

    .. rubric:: Example

    .. code-block:: ipython3

        %load_ext odyssey_jupyter
    """
    from odyssey_jupyter.ipython.extension import load

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext odyssey_jupyter``: stop the poller, remove the magics and completer.

    :param ipython: the running IPython shell.
    :returns: nothing; a later ``%load_ext`` starts afresh (and reads the environment again).

    .. rubric:: Example

    .. code-block:: ipython3

        %unload_ext odyssey_jupyter
    """
    from odyssey_jupyter.ipython.extension import unload

    unload(ipython)
