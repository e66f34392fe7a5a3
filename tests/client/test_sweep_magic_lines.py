"""``%%odyssey_simulate --sweep``: errors name the editor's line, as the plain magic does.

The magic line is line 1, so the body's first line is line 2, for every body form.
Dry runs in IPython's in-process test shell: nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from support.shells import global_shell, run

pytestmark = pytest.mark.usefixtures("in_tmp_dir")

BODIES = {
    "timeline": "0s start a {animal}\n1s interatc it looks up\n2s end",
    "python": (
        "[{'timestamp_ms': 0, 'start': {'prompt': animal}},\n"
        " {'timestamp_ms': 1000, 'end': {}, 'x': nope}]"
    ),
    "json": (
        '[{"timestamp_ms": 0, "start": {"prompt": "a {animal}"}},\n'
        ' {"timestamp_ms": 1000, "ennd": {}}]'
    ),
}
"""Each with its mistake on the body's second line: line 3 of the cell."""


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = global_shell()
    ip.config.OdysseyJupyter.nest_asyncio = False
    ip.run_line_magic("load_ext", "odyssey_jupyter")
    names = {"params": {"animal": ["cat", "owl"]}, "animal": "cat"}
    ip.user_ns.update(names)
    yield ip
    for name in names:  # the shell is shared with other modules
        ip.user_ns.pop(name, None)
    ip.run_line_magic("unload_ext", "odyssey_jupyter")
    del ip.config.OdysseyJupyter["nest_asyncio"]


@pytest.mark.parametrize("form", sorted(BODIES))
def test_a_sweep_error_names_the_cell_line_like_the_plain_magic(
    shell: InteractiveShell, form: str
) -> None:
    body = BODIES[form]
    plain = run(shell, f"%%odyssey_simulate --dry-run\n{body.replace('{animal}', 'cat')}")
    swept = run(shell, f"%%odyssey_simulate --dry-run --sweep params\n{body}")
    assert str(plain).startswith("line 3: "), plain
    assert str(swept).startswith("line 3: item 0 (animal='cat'): "), swept
    assert getattr(swept, "line", None) == 3
