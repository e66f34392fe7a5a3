"""The --sweep flags of %%odyssey_simulate, parsed in magic_args, with errors that name them."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from odyssey_jupyter.ipython.magic_args import parse_simulate_line


def test_sweep_flags_parse() -> None:
    args = parse_simulate_line(
        "--sweep grid --name styles --max-in-flight 6 --pack 2 --landscape", cell=True
    )
    assert (args.sweep, args.sweep_name, args.max_in_flight, args.pack) == ("grid", "styles", 6, 2)
    assert args.portrait is False
    plain = parse_simulate_line("--wait", cell=True)
    assert (plain.sweep, plain.sweep_name, plain.max_in_flight, plain.pack) == (None, None, None, 1)


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        ("--name styles", True, "--name only work with --sweep"),
        ("--pack 2 --max-in-flight 3", True, "--max-in-flight, --pack only work with --sweep"),
        ("--sweep 1grid", True, "--sweep takes the name of a variable"),
        ("--sweep grid --name a-b", True, "--name takes a plain identifier"),
        ("--sweep grid --pack 0", True, "--pack must be 1 or more"),
        ("--sweep grid --max-in-flight many", True, "--max-in-flight takes a whole number"),
        ("--sweep grid --image cat.png", True, "--image does not apply to --sweep"),
        ("--sweep grid script", False, "--sweep needs the cell form"),
        ("--sweep grid --dry-run --wait", True, "--dry-run conflicts with --wait"),
    ],
)
def test_bad_sweep_flags_name_the_problem(line: str, cell: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("-", r"\-")):
        parse_simulate_line(line, cell=cell)


def test_ctrl_c_while_a_sweep_waits_is_one_message_like_the_plain_magic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C in ``--sweep --wait`` raises WaitInterrupted, as the plain magic does."""
    import odyssey_jupyter.display.sweep.live as live
    import odyssey_jupyter.sweeps as sweeps
    from odyssey_jupyter.ipython.magic_args import WaitInterrupted
    from odyssey_jupyter.ipython.sweep_magic import run_sweep_cell

    class Running:
        name = "grid"

        def wait(self, timeout: float | None, *, raise_on_failure: bool) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweeps, "sweep", lambda *args, **kwargs: Running())
    monkeypatch.setattr(live, "show_sweep", lambda running: None)
    args = parse_simulate_line("--sweep grid --wait", cell=True)
    with pytest.raises(WaitInterrupted) as raised:
        run_sweep_cell(args, "0s start a {animal}\n1s end", {"grid": {"animal": ["cat"]}})
    assert "sweep grid goes on" in str(raised.value)
    assert "Sweep.open('grid')" in str(raised.value)
    assert raised.value._render_traceback_() == [f"KeyboardInterrupt: {raised.value}"]
