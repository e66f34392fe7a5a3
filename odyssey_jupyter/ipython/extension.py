"""Loading and unloading the extension: the settings, the magics, the completer, the hooks.

``odyssey_jupyter.load_ipython_extension`` and ``unload_ipython_extension`` (the names
IPython looks up on the package) hand over to :func:`load` and :func:`unload` here, so
``import odyssey_jupyter`` imports none of this.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from odyssey_jupyter.ipython import completion
from odyssey_jupyter.ipython.magics import OdysseyMagics
from odyssey_jupyter.session import config as config_module

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

_state: dict[str, Any] = {}


def _apply_nest_asyncio() -> None:
    """Let ``asyncio.run(...)`` work in cells (code from the Simulate API guide).

    It patches asyncio for this process and cannot be undone: switching the setting
    off after loading changes nothing until the kernel restarts. To keep it off, set
    it before ``%load_ext`` (``%config OdysseyJupyter.nest_asyncio = False``, or an
    IPython config file).
    """
    if _state.get("nest_applied"):
        return
    import nest_asyncio2

    try:
        nest_asyncio2.apply()
    except Exception as exc:  # never let this optional convenience break loading
        sys.stderr.write(f"odyssey_jupyter: could not enable nested asyncio: {exc}\n")
        return
    _state["nest_applied"] = True


def _on_nest_change(change: dict[str, Any]) -> None:
    if change.get("new"):
        _apply_nest_asyncio()


def load(ipython: InteractiveShell) -> None:
    """Register the settings (``%config OdysseyJupyter``), the magics and the completer."""
    settings = config_module.OdysseyJupyter(parent=ipython)
    old = _state.get("config")
    if old is not None and old in ipython.configurables:
        ipython.configurables.remove(old)
    ipython.configurables.append(settings)  # type: ignore[arg-type]
    config_module.set_config(settings)
    settings.observe(_on_nest_change, names="nest_asyncio")
    _state["config"] = settings
    ipython.register_magics(OdysseyMagics)
    from odyssey_jupyter.session import at_exit

    at_exit.on_exit(_freeze_outputs)
    _register_cell_hook(ipython)
    from odyssey_jupyter.client import endpoint
    from odyssey_jupyter.display.common.notice import show_notice

    endpoint.local_engine_notice = show_notice  # an info line, not a red stderr box
    if settings.nest_asyncio:
        _apply_nest_asyncio()
    # Import the display and job layers now, so the first magic call stays fast.
    import odyssey_jupyter.display.live.final_output
    import odyssey_jupyter.session.jobs  # noqa: F401

    completion.register(ipython)


def _resend_finals() -> None:
    from odyssey_jupyter.display.live.final_output import resend_recent_finals

    resend_recent_finals()


def _register_cell_hook(ipython: InteractiveShell) -> None:
    """Final outputs sent while no cell ran are sent again when the next cell starts."""
    events = getattr(ipython, "events", None)
    if events is None:
        return
    with contextlib.suppress(ValueError):
        events.unregister("pre_execute", _resend_finals)
    events.register("pre_execute", _resend_finals)


def _freeze_outputs() -> None:
    """At exit: every live job output and job browser keeps the state it reached."""
    from odyssey_jupyter.display.browser import snapshot as browser_snapshot
    from odyssey_jupyter.display.live import final_output

    final_output.freeze_all()
    browser_snapshot.freeze_all()


def _remove_magics(ipython: InteractiveShell) -> None:
    """Every magic ``OdysseyMagics`` registered (its table, by kind: line and cell)."""
    manager = ipython.magics_manager
    for kind, names in OdysseyMagics.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(OdysseyMagics.__name__, None)


def unload(ipython: InteractiveShell) -> None:
    """Remove the completer, the magics and the settings; stop the poller thread cleanly."""
    completion.unregister(ipython)
    _remove_magics(ipython)
    events = getattr(ipython, "events", None)
    if events is not None:
        with contextlib.suppress(ValueError):
            events.unregister("pre_execute", _resend_finals)
    settings = _state.pop("config", None)
    if settings is not None:
        settings.unobserve(_on_nest_change, names="nest_asyncio")
        if settings in ipython.configurables:
            ipython.configurables.remove(settings)
    if "odyssey_jupyter.client.endpoint" in sys.modules:
        from odyssey_jupyter.client import endpoint

        endpoint.local_engine_notice = None
    runtime = sys.modules.get("odyssey_jupyter.session.runtime")
    if runtime is not None:
        runtime.shutdown_runtime()
