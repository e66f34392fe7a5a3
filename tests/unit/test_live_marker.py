"""The live mark: written by the kernel side, read by the JupyterLab extension."""

from __future__ import annotations

from pathlib import Path

from odyssey_jupyter.display.common.live_marker import LIVE_MARK, LIVE_MIME, marked_live

LIVE_TS = Path(__file__).resolve().parents[2] / "labextension" / "src" / "live.ts"


def test_the_extension_renders_the_key_the_kernel_writes() -> None:
    assert f"export const LIVE_MIME = '{LIVE_MIME}';" in LIVE_TS.read_text(encoding="utf-8")


def test_marking_keeps_the_bundle_and_adds_the_mark() -> None:
    bundle = {"text/plain": "Odyssey job x: processing", "text/html": "<div>x</div>"}
    marked = marked_live(bundle)
    assert marked[LIVE_MIME] == LIVE_MARK
    assert {key: marked[key] for key in bundle} == bundle
    assert LIVE_MIME not in bundle  # the caller's bundle is not changed
