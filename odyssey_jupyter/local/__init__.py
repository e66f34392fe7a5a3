"""The embedded local engine: Odyssey's Simulate protocol served from this machine.

Run it with ``python -m odyssey_jupyter.local serve``. This package module imports
nothing heavy on purpose: the client imports ``odyssey_jupyter.local.launch.launcher`` inside
a kernel, where starlette, uvicorn, PyAV and NumPy may not even be installed.
"""

READY_PREFIX = "Odyssey local engine listening on "
"""The one line the engine prints on stdout once it answers HTTP requests."""
