"""The history and the engine's default data folder follow the platform's conventions.

Each case runs in a child interpreter with a chosen environment and home, asking the
package itself (the history path, the engine's default ``--data-dir``); the macOS case
sets ``sys.platform`` before anything is imported, so platformdirs takes its macOS rules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ASK = """
import json, sys
{platform}
from odyssey_jupyter.session.history import history_path
from odyssey_jupyter.local.launch.options import default_data_dir
print(json.dumps([str(history_path()), str(default_data_dir())]))
"""
OVERRIDES = ("XDG_CACHE_HOME", "ODYSSEY_HISTORY_PATH", "ODYSSEY_LOCAL_DATA_DIR")


def _defaults(home: Path, platform: str | None = None, **env: str) -> list[Path]:
    full_env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    full_env.update(HOME=str(home), **env)
    code = ASK.format(platform=f"sys.platform = {platform!r}" if platform else "")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        cwd=home,
    )
    assert result.returncode == 0, result.stderr
    return [Path(shown) for shown in json.loads(result.stdout)]


def test_macos_keeps_them_in_library_caches(tmp_path: Path) -> None:
    history, engine = _defaults(tmp_path, "darwin")
    cache = tmp_path / "Library" / "Caches" / "odyssey_jupyter"
    assert (history, engine) == (cache / "history.jsonl", cache / "engine")


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rules are Linux's")
def test_linux_keeps_them_in_the_xdg_cache(tmp_path: Path) -> None:
    history, engine = _defaults(tmp_path)
    cache = tmp_path / ".cache" / "odyssey_jupyter"
    assert (history, engine) == (cache / "history.jsonl", cache / "engine")
    xdg = tmp_path / "xdg"
    history, engine = _defaults(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert (history, engine) == (
        xdg / "odyssey_jupyter" / "history.jsonl",
        xdg / "odyssey_jupyter" / "engine",
    )


def test_the_environment_overrides_still_win(tmp_path: Path) -> None:
    history, engine = _defaults(
        tmp_path,
        "darwin",
        ODYSSEY_HISTORY_PATH=str(tmp_path / "h.jsonl"),
        ODYSSEY_LOCAL_DATA_DIR=str(tmp_path / "engine-data"),
    )
    assert (history, engine) == (tmp_path / "h.jsonl", tmp_path / "engine-data")
