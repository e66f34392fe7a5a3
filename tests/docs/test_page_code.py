"""Every Python and IPython code block of the documentation's pages runs, in order, in a
real kernel against the engine, as a reader copying them into a notebook runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.engines import RunningEngine
from support.kernel import KernelSession
from support.page_code import page_blocks

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

PAGES = page_blocks()


def test_the_pages_have_code_to_run_and_each_block_left_out_says_why() -> None:
    blocks = [block for page in PAGES.values() for block in page]
    assert len(blocks) >= 15
    left_out = [block for block in blocks if block.not_run is not None]
    assert all(len(block.not_run or "") > 20 for block in left_out)
    assert len(left_out) <= 3


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_code_block_of_the_page_runs(
    page: str, engine: RunningEngine, tmp_path: Path
) -> None:
    env = {"ODYSSEY_API_URL": engine.url, "ODYSSEY_API_KEY": engine.api_key, "ODYSSEY_WAIT": "1"}
    kernel = KernelSession(env=env, cwd=tmp_path)
    try:
        kernel.check("%load_ext odyssey_jupyter")  # as every page assumes
        for block in PAGES[page]:
            if block.not_run is None:
                result = kernel.execute(block.cell(), timeout=180)
                error = result.error or {}
                assert result.ok, (
                    f"{page}:{block.line}: {error.get('ename')}: {error.get('evalue')}\n"
                    + "\n".join(error.get("traceback", []))
                )
    finally:
        kernel.shutdown()
