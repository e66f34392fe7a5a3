"""What ``python -m build`` makes from a clean copy: the sdist, the wheel, their metadata.

The sdist must carry the TypeScript sources and the built extension (so installing
it needs no Node.js); the wheel the package with all its data and the prebuilt
extension under share/jupyter, and nothing of the tests, benchmarks or tools. One
version runs through all of it, and the metadata passes ``twine check --strict``.
"""

from __future__ import annotations

import fnmatch
import json
import sys

import pytest
from support.packaging import (
    DIST_NAME,
    LABEXT_SHARE,
    Artifacts,
    metadata,
    run,
    sdist_names,
    sdist_text,
    source_version,
    tracked_files,
    wheel_names,
    wheel_text,
)

pytestmark = [pytest.mark.package, pytest.mark.slow]

BUILT = ("package.json", "static/style.js", "static/remoteEntry.*.js")
SDIST_REQUIRED = (
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "pyproject.toml",
    "tools/labextension_build.py",
    "labextension/package.json",
    "labextension/yarn.lock",
    "labextension/.yarnrc.yml",
    "labextension/tsconfig.json",
    "labextension/install.json",
    *(f"odyssey_jupyter/labextension/{name}" for name in BUILT),
)
SDIST_FORBIDDEN = (
    ".venv/*",
    "*/node_modules/*",
    "labextension/lib/*",
    "labextension/.yarn/*",
    "labextension/src/grammar.json",
    "labextension/src/live_mark.json",
    "*.tsbuildinfo",
    "build/*",
    "*__pycache__*",
    "*.pyc",
    ".coverage*",
)
WHEEL_REQUIRED = (
    f"{DIST_NAME}/py.typed",
    f"{DIST_NAME}/script/grammar.json",
    f"{DIST_NAME}/display/common/live_mark.json",
    f"{DIST_NAME}-*.dist-info/licenses/LICENSE",
    f"{DIST_NAME}-*.data/data/{LABEXT_SHARE}/install.json",
    *(f"{DIST_NAME}-*.data/data/{LABEXT_SHARE}/{name}" for name in BUILT),
)
WHEEL_FORBIDDEN = (
    "tests/*",
    "benchmarks/*",
    "tools/*",
    "labextension/*",
    "notebooks/*",
    f"{DIST_NAME}/labextension/*",  # only under share/, never twice
    "*__pycache__*",
    "*.pyc",
)


def _missing(names: list[str], patterns: tuple[str, ...]) -> list[str]:
    return [pattern for pattern in patterns if not fnmatch.filter(names, pattern)]


def _present(names: list[str], patterns: tuple[str, ...]) -> list[str]:
    return sorted({name for pattern in patterns for name in fnmatch.filter(names, pattern)})


def test_the_sdist_carries_the_sources_and_the_built_extension(artifacts: Artifacts) -> None:
    names = sdist_names(artifacts.sdist)
    sources = [
        name for name in tracked_files() if name.startswith(("labextension/", "odyssey_jupyter/"))
    ]
    assert [name for name in sources if name not in names] == []
    assert _missing(names, SDIST_REQUIRED) == []
    assert _present(names, SDIST_FORBIDDEN) == []


def test_the_wheel_holds_the_package_data_and_the_prebuilt_extension(
    artifacts: Artifacts,
) -> None:
    names = wheel_names(artifacts.wheel)
    package = [name for name in tracked_files() if name.startswith(f"{DIST_NAME}/")]
    # every file of the package, data included (fonts, grammars, JSON), whatever its suffix
    assert [name for name in package if name not in names] == []
    assert _missing(names, WHEEL_REQUIRED) == []
    assert _present(names, WHEEL_FORBIDDEN) == []
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {DIST_NAME, f"{DIST_NAME}-{source_version()}.data"} | {
        f"{DIST_NAME}-{source_version()}.dist-info"
    }


def test_one_version_runs_through_both_artifacts(artifacts: Artifacts) -> None:
    version = source_version()
    wheel_meta = next(n for n in wheel_names(artifacts.wheel) if n.endswith(".dist-info/METADATA"))
    shipped = next(
        n for n in wheel_names(artifacts.wheel) if n.endswith(f"{LABEXT_SHARE}/package.json")
    )
    found = {
        "wheel METADATA": metadata(wheel_text(artifacts.wheel, wheel_meta))["Version"],
        "wheel extension": json.loads(wheel_text(artifacts.wheel, shipped))["version"],
        "sdist PKG-INFO": metadata(sdist_text(artifacts.sdist, "PKG-INFO"))["Version"],
        "sdist extension": json.loads(
            sdist_text(artifacts.sdist, "odyssey_jupyter/labextension/package.json")
        )["version"],
        "file names": {
            artifacts.wheel.name.split("-")[1],
            artifacts.sdist.name.removesuffix(".tar.gz").split("-")[1],
        }.pop(),
    }
    assert found == dict.fromkeys(found, version)


def test_the_metadata_is_what_an_index_expects(artifacts: Artifacts) -> None:
    shown = run([sys.executable, "-m", "twine", "check", "--strict", *vars(artifacts).values()])
    assert shown.count("PASSED") == 2, shown
    info = metadata(sdist_text(artifacts.sdist, "PKG-INFO"))
    assert info["License-Expression"] == "MIT" and info["License-File"] == "LICENSE"
    classifiers = info.get_all("Classifier") or []
    assert {
        "Framework :: Jupyter",
        "Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt",
        "Programming Language :: Python :: 3.10",
    } <= set(classifiers)
    names = sdist_names(artifacts.sdist)
    for url in info.get_all("Project-URL") or []:
        if "/blob/main/" in url:  # a file of this repository: it must exist
            assert url.split("/blob/main/", 1)[1] in names, url
    assert {"local", "test", "dev"} <= set(info.get_all("Provides-Extra") or [])
    core = [req for req in info.get_all("Requires-Dist") or [] if "extra ==" not in req]
    heavy = ("av", "numpy", "jupyterlab", "playwright", "mypy", "ruff", "pytest")
    assert [req for req in core if req.split(">")[0].split("=")[0].strip() in heavy] == []
