"""Shared fixtures: a real local engine over real HTTP on 127.0.0.1.

``engine`` is one fast engine for the whole session; ``start_engine`` starts
extra engines with other options (``--pace realtime``, limits) for one test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.engines import RunningEngine, engines_under, launch_engine, stop_pids
from support.packaging import Artifacts, Venv, build, clean_copy, fresh_venv
from support.scripted_server import ScriptedServer

from odyssey_jupyter.files.user_dirs import user_cache_dir


def _tree_state(root: Path) -> dict[str, float]:
    """Every path below ``root`` with its modification time (empty when absent)."""
    if not root.exists():
        return {}
    return {str(path): path.stat().st_mtime for path in [root, *root.rglob("*")]}


@pytest.fixture(scope="session", autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the suite off the user's own engine and cache, and leave nothing running.

    Kernels and engines inherit the environment, so an auto-started engine lands
    in a temporary directory. At the end, an engine the suite left serving, or
    any write to the user's cache, fails the run.
    """
    user_cache = user_cache_dir()  # where an engine auto-started outside the suite keeps its data
    before = _tree_state(user_cache)
    root = tmp_path_factory.getbasetemp()
    isolated = tmp_path_factory.mktemp("user-cache")
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "ODYSSEY_LOCAL_DATA_DIR")}
    os.environ["XDG_CACHE_HOME"] = str(isolated)
    os.environ["ODYSSEY_LOCAL_DATA_DIR"] = str(isolated / "odyssey_jupyter" / "engine")
    yield isolated
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    left_running = engines_under(root)
    stop_pids(left_running)
    problems = []
    if left_running:
        problems.append(f"engines still serving after the suite: pids {left_running}")
    if _tree_state(user_cache) != before:
        problems.append(f"the suite wrote to the user's cache {user_cache}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """One fast local engine shared by the whole test session."""
    running = launch_engine(tmp_path_factory.mktemp("engine"), "--workers", "2")
    yield running
    running.close()


@pytest.fixture
def start_engine(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningEngine]]:
    """Start extra engines (``start_engine("--pace", "realtime")``); all stopped afterwards."""
    started: list[RunningEngine] = []

    def start(*extra: str, data_dir: Path | None = None, **kwargs: object) -> RunningEngine:
        directory = data_dir or tmp_path_factory.mktemp("engine")
        running = launch_engine(directory, *extra, **kwargs)  # type: ignore[arg-type]
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


@pytest.fixture
def engine_env(engine: RunningEngine, monkeypatch: pytest.MonkeyPatch) -> RunningEngine:
    """Point ``ODYSSEY_API_URL``/``ODYSSEY_API_KEY`` at the session engine for one test."""
    monkeypatch.setenv("ODYSSEY_API_URL", engine.url)
    monkeypatch.setenv("ODYSSEY_API_KEY", engine.api_key)
    return engine


@pytest.fixture
def sandbox_settings() -> dict[str, Any]:
    """Settings the ``sandbox`` adds; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_settings: dict[str, Any]
) -> Iterator[Path]:
    """A fresh runtime, with recordings and history under tmp_path; restored afterwards."""
    from odyssey_jupyter.session.config import OdysseyJupyter, get_config, set_config
    from odyssey_jupyter.session.runtime import shutdown_runtime

    shutdown_runtime()
    monkeypatch.setenv("ODYSSEY_HISTORY_PATH", str(tmp_path / "history.jsonl"))
    previous = get_config()
    set_config(OdysseyJupyter(recordings_dir=str(tmp_path / "recs"), **sandbox_settings))
    yield tmp_path
    shutdown_runtime()
    set_config(previous)


@pytest.fixture
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh working directory, with the frontend guessed, not forced."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ODYSSEY_DISPLAY", raising=False)


@pytest.fixture
def api() -> Iterator[ScriptedServer]:
    """A scripted API a client talks to (a module may define its own ``api`` instead)."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[ScriptedServer]:
    """A second scripted server: another origin (same host, another port)."""
    with ScriptedServer() as server:
        yield server


# The package tier (tests/package): the sdist and the wheel built once from a clean copy of
# the checkout, each installed once into a fresh venv with no Node.js on PATH.


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    source = clean_copy(tmp_path_factory.mktemp("source"))
    return build(source, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def wheel_venv(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The wheel alone (core dependencies) plus JupyterLab, as a user installs them."""
    venv = fresh_venv(tmp_path_factory.mktemp("wheel-venv") / "venv")
    venv.pip_install(artifacts.wheel, "jupyterlab>=4.2")
    return venv


@pytest.fixture(scope="session")
def sdist_venv(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The sdist with the engine's extra, built into a wheel by pip with no Node.js."""
    venv = fresh_venv(tmp_path_factory.mktemp("sdist-venv") / "venv")
    venv.pip_install(f"{artifacts.sdist}[local]")
    return venv


@pytest.fixture(scope="session")
def site() -> Path:
    """The documentation site, built as ``make docs`` builds it (incrementally)."""
    from support.site import build_site

    return build_site()
