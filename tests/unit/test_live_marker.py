"""The live mark: written by the kernel side, read by the JupyterLab extension."""

from __future__ import annotations

import json
from pathlib import Path

from odyssey_jupyter.display.common.live_marker import LIVE_MARK, LIVE_MIME, marked_live

ROOT = Path(__file__).resolve().parents[2]
LIVE_TS = ROOT / "labextension" / "src" / "live.ts"
MARK_JSON = ROOT / "odyssey_jupyter" / "display" / "common" / "live_mark.json"


def test_the_extension_renders_the_key_the_kernel_writes() -> None:
    """Both sides read one file: the kernel at import, the extension copied at its build."""
    assert json.loads(MARK_JSON.read_text(encoding="utf-8")) == {
        "mime": LIVE_MIME,
        "mark": LIVE_MARK,
    }
    source = LIVE_TS.read_text(encoding="utf-8")
    assert "import liveMark from './live_mark.json';" in source
    assert "export const LIVE_MIME: string = liveMark.mime;" in source
    scripts = json.loads((ROOT / "labextension" / "package.json").read_text())["scripts"]
    copy = "copyFileSync('../odyssey_jupyter/display/common/live_mark.json', 'src/live_mark.json')"
    assert copy in scripts["build:live"]
    assert "jlpm build:live && jlpm build:lib" in scripts["build"]
    assert LIVE_MIME == "application/vnd.odyssey.live+json"


def test_marking_keeps_the_bundle_and_adds_the_mark() -> None:
    bundle = {"text/plain": "Odyssey job x: processing", "text/html": "<div>x</div>"}
    marked = marked_live(bundle)
    assert marked[LIVE_MIME] == LIVE_MARK
    assert {key: marked[key] for key in bundle} == bundle
    assert LIVE_MIME not in bundle  # the caller's bundle is not changed
