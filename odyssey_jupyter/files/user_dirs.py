"""Where the package keeps its per-user files that do not belong beside a notebook.

platformdirs follows each platform's convention: ``$XDG_CACHE_HOME`` (else
``~/.cache``) on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows.
The submission history and the embedded engine's data both live in the cache: losing
them costs the job browser its prompts and the engine its old jobs, never a recording
a notebook downloaded.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "odyssey_jupyter"


def user_cache_dir() -> Path:
    """This user's cache folder for the package (not created here)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
