"""The package as a user gets it: built from a clean copy, installed into fresh venvs.

``clean_copy`` copies the files git would commit (tracked, plus new files not
ignored), so a local ``.venv``, ``node_modules`` or an earlier build never leaks into
an artifact. ``Venv`` is a fresh virtualenv outside the checkout; ``no_node_env``
is an environment whose PATH holds only that venv, so nothing can reach Node.js.
pip uses the developer's own cache, captured here before the suite points
``XDG_CACHE_HOME`` at a temporary folder, so a second run downloads nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DIST_NAME = "odyssey_jupyter"
LABEXT_NAME = "odyssey-jupyter"
LABEXT_SHARE = f"share/jupyter/labextensions/{LABEXT_NAME}"
# read at import (collection), before tests/conftest.py redirects XDG_CACHE_HOME
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
)
# coverage's subprocess hook and a developer's Python settings stay out of the venvs
_DROPPED = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START", "PYTHONPATH", "PYTHONHOME")


def run(args: list[str | Path], *, timeout: float = 600, **kwargs: object) -> str:
    """Run a command; its output, or an AssertionError that shows it."""
    result = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[call-overload]
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{output[-6000:]}"
    return output


def tracked_files(root: Path = REPO) -> list[str]:
    """The checkout's files as git would commit them (tracked, plus new and not ignored)."""
    listed = run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root)
    return sorted({name for name in listed.split("\0") if name.strip() and (root / name).is_file()})


def clean_copy(dest: Path, root: Path = REPO) -> Path:
    """Copy the committable files of ``root`` into ``dest`` (no venv, no build leftovers)."""
    for name in tracked_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return dest


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        PIP_CACHE_DIR=PIP_CACHE, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra
    )
    return env


@dataclass(frozen=True)
class Artifacts:
    sdist: Path
    wheel: Path


def build(source: Path, outdir: Path) -> Artifacts:
    """``python -m build`` (sdist, then the wheel from the sdist), Node.js on PATH."""
    run([sys.executable, "-m", "build", "--outdir", outdir, source], cwd=source, env=base_env())
    (sdist,) = outdir.glob("*.tar.gz")
    (wheel,) = outdir.glob("*.whl")
    return Artifacts(sdist, wheel)


@dataclass(frozen=True)
class Venv:
    """A fresh virtualenv outside the checkout."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment whose PATH is this venv alone: no Node.js to be found."""
        env = base_env(PATH=str(self.bin), VIRTUAL_ENV=str(self.root), **extra)
        assert shutil.which("node", path=env["PATH"]) is None
        return env

    def pip_install(self, *requirements: str | Path) -> str:
        """``pip install`` with no Node.js on PATH, from pip's cache where it can."""
        return run(
            [self.python, "-m", "pip", "install", "--quiet", *requirements],
            cwd=self.root,
            env=self.env(),
        )


def fresh_venv(root: Path) -> Venv:
    run([sys.executable, "-m", "venv", root], env=base_env())
    return Venv(root)


def labextensions(jupyter: Path, env: dict[str, str] | None) -> str:
    """``jupyter labextension list`` without colour codes."""
    shown = run([jupyter, "labextension", "list"], env=env)
    return re.sub(r"\x1b\[[0-9;]*m", "", shown)


def listed_ok(listing: str, version: str) -> bool:
    """Whether the listing shows the extension at ``version``, enabled and OK."""
    line = rf"^\s*{LABEXT_NAME} v{re.escape(version)} enabled OK \(python, {DIST_NAME}\)\s*$"
    return re.search(line, listing, re.M) is not None


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_text(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name).decode("utf-8")


def sdist_names(sdist: Path) -> list[str]:
    """Member names without the leading ``odyssey_jupyter-VERSION/``."""
    with tarfile.open(sdist) as archive:
        return [member.name.split("/", 1)[1] for member in archive if "/" in member.name]


def sdist_text(sdist: Path, name: str) -> str:
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        member = archive.extractfile(f"{top}/{name}")
        assert member is not None, name
        return member.read().decode("utf-8")


def metadata(text: str) -> Message:
    """A METADATA or PKG-INFO file as headers."""
    return HeaderParser().parsestr(text)


def source_version() -> str:
    """The one version: labextension/package.json's."""
    package = json.loads((REPO / "labextension" / "package.json").read_text(encoding="utf-8"))
    return str(package["version"])
