"""The package works with only its core dependencies: the engine's stay in ``local``.

A child interpreter refuses to import the ``local`` extra's packages (PyAV, NumPy,
Pillow, Starlette, uvicorn, psutil), as on a machine where only ``pip install
odyssey_jupyter`` ran, then imports every module a notebook needs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ENGINE_ONLY = ("av", "numpy", "PIL", "starlette", "uvicorn", "psutil")

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys

    class NoExtra(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {ENGINE_ONLY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NoExtra())
    """
)


def run_without_extra(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )


def test_notebook_modules_import_without_the_engine_extra() -> None:
    result = run_without_extra(
        """
        import odyssey_jupyter
        from odyssey_jupyter import Odyssey, Job, JobBrowser, simulate, OdysseyError
        import odyssey_jupyter.ipython.magics, odyssey_jupyter.display.live.final_output
        import odyssey_jupyter.local.launch.launcher
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r})
        assert not leaked, leaked
        print("ok", odyssey_jupyter.__version__)
        """.replace("{blocked!r}", repr(ENGINE_ONLY))
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")


def test_the_engine_says_which_extra_is_missing() -> None:
    result = run_without_extra(
        """
        from odyssey_jupyter.local.__main__ import main
        sys.exit(main(["serve"]))
        """
    )
    assert result.returncode == 2
    assert "pip install 'odyssey_jupyter[local]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_keyless_client_says_which_extra_is_missing(tmp_path: Path) -> None:
    result = run_without_extra(
        """
        import asyncio, os
        from odyssey_jupyter.client.odyssey import Odyssey
        from odyssey_jupyter.errors import EngineStartError
        os.environ.pop("ODYSSEY_API_KEY", None)
        os.environ.pop("ODYSSEY_API_URL", None)
        client = Odyssey(local_data_dir=sys.argv[1])
        assert client.needs_engine_start()
        try:
            asyncio.run(client.start_engine())
        except EngineStartError as exc:
            print(exc)
        """,
        str(tmp_path / "engine"),
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'odyssey_jupyter[local]'" in result.stdout


def test_status_says_which_extra_is_missing(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    data_dir.mkdir()
    (data_dir / "engine.json").write_text('{"url": "http://127.0.0.1:9", "pid": 1}')
    result = run_without_extra(
        """
        from odyssey_jupyter.local.__main__ import main
        sys.exit(main(["status", "--data-dir", sys.argv[1]]))
        """,
        str(data_dir),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pip install 'odyssey_jupyter[local]'" in result.stderr
