"""Tab completion of the magics and the timeline body, in a real in-process IPython shell.

``CASES`` (in ``support.completion_cases``) is shared with the kernel test
(``complete_request`` over jupyter_client) and the terminal test, so every case is
checked in all three places.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from support.completion_cases import CASES, SETUP, Case, check, make_files
from support.shells import global_shell

from odyssey_jupyter.ipython import completion
from odyssey_jupyter.ipython.magic_args import (
    SIMULATE_CONFLICTS,
    parse_simulate_line,
    simulate_parser,
)
from odyssey_jupyter.script.grammar import GRAMMAR, pattern


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    ip = global_shell()
    ip.config.OdysseyJupyter.nest_asyncio = False
    ip.run_line_magic("load_ext", "odyssey_jupyter")
    ip.run_cell(SETUP, store_history=False)
    yield ip
    ip.run_line_magic("unload_ext", "odyssey_jupyter")
    del ip.config.OdysseyJupyter["nest_asyncio"]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shell_completions(shell: InteractiveShell, code: str) -> list[tuple[str, str, str]]:
    with provisionalcompleter():
        found = list(shell.Completer.completions(code, len(code)))
    return [(c.text, code[c.start : c.end], c._origin) for c in found]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_in_process(shell: InteractiveShell, files: Path, case: Case) -> None:
    check(case, shell_completions(shell, case.code))


def test_completion_suppresses_python_names_where_it_answers(
    shell: InteractiveShell, files: Path
) -> None:
    found = shell_completions(shell, "%%odyssey_simulate\n0s start a {ca")
    assert {origin for _, _, origin in found} == {completion.MATCHER_ID}


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_legacy_complete_api_completes_the_magic_line(shell: InteractiveShell) -> None:
    """Frontends on the old ``shell.complete(text, line, cursor)`` API still get flags."""
    line = "%%odyssey_simulate --land"
    _, matches = shell.complete("", line, len(line))
    assert matches == ["--landscape"]


def test_escaped_brace_is_not_a_substitution() -> None:
    ns = {"cat": 1}
    assert completion.complete("%%odyssey_simulate\n0s start {{ca", 1, 14, ns) is None
    found = completion.complete("%%odyssey_simulate\n0s start {{{ca", 1, 15, ns)
    assert found is not None and found.items == [("cat", "instance")]


def test_attributes_are_read_without_running_code() -> None:
    ran: list[str] = []

    class Tricky:
        plain = 1

        @property
        def boom(self) -> object:
            ran.append("property")
            return self

        def __getattr__(self, name: str) -> object:
            ran.append(name)
            return self

    ns = {"t": Tricky()}
    found = completion.complete("%%odyssey_simulate\n0s start {t.", 1, 19, ns)
    assert found is not None and ("plain", "instance") in found.items
    assert completion.complete("%%odyssey_simulate\n0s start {t.boom.x", 1, 25, ns) == (
        completion.Completions("x")
    )
    assert completion.complete("%%odyssey_simulate\n0s start {t.nope.x", 1, 25, ns) == (
        completion.Completions("x")
    )
    assert ran == []


def test_hidden_and_private_names_are_not_offered(shell: InteractiveShell) -> None:
    found = completion.complete(
        "%%odyssey_simulate\n0s start {",
        1,
        10,
        {"_secret": 1, "In": [], "visible": 2},
        hidden={"In": []},
    )
    assert found is not None and found.items == [("visible", "instance")]


def test_flags_follow_the_parser() -> None:
    """Every option the parser defines is offered after --, nothing else."""
    parser: argparse.ArgumentParser = simulate_parser()
    defined = {
        name
        for action in parser._actions
        for name in action.option_strings
        if name.startswith("--")
    }
    found = completion.complete("%%odyssey_simulate --", 0, 21, {})
    assert found is not None and {text for text, _ in found.items} == defined


@pytest.mark.parametrize(
    ("flag", "other"), [(f, o) for f, others in SIMULATE_CONFLICTS.items() for o in others]
)
def test_every_conflict_completion_hides_is_refused_by_the_parser(flag: str, other: str) -> None:
    value = {"--timeout": " 5"}
    with pytest.raises(UsageError, match="conflict"):
        parse_simulate_line(f"{flag}{value.get(flag, '')} {other}{value.get(other, '')}", cell=True)


def test_unload_removes_the_matcher(shell: InteractiveShell) -> None:
    def registered() -> int:
        return sum(
            getattr(m, "matcher_identifier", "") == completion.MATCHER_ID
            for m in shell.Completer.custom_matchers
        )

    shell.run_line_magic("reload_ext", "odyssey_jupyter")
    assert registered() == 1
    shell.run_line_magic("unload_ext", "odyssey_jupyter")
    try:
        assert registered() == 0
        offered = [t for t, _, _ in shell_completions(shell, "%%odyssey_simulate --la")]
        assert "--landscape" not in offered
    finally:
        shell.run_line_magic("load_ext", "odyssey_jupyter")
    assert registered() == 1


def test_completion_never_runs_the_cell(shell: InteractiveShell, files: Path) -> None:
    before = shell.execution_count
    code = "%%odyssey_simulate\n0s start a cat\n1s end\n2s "
    shell_completions(shell, code)
    assert shell.execution_count == before


ALPHABET = "%odyssey_simulatejbsgin -{}.=\"'#\\/\n0123456789:+msSTARTEND"


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=ALPHABET, max_size=80),
        st.text(alphabet=ALPHABET, max_size=60).map(lambda t: "%%odyssey_simulate " + t),
        st.text(alphabet=ALPHABET, max_size=60).map(lambda t: "%%odyssey_simulate\n0s " + t),
        st.text(alphabet=ALPHABET, max_size=60).map(lambda t: "%odyssey_jobs " + t),
    ),
    data=st.data(),
)
def test_any_text_completes_without_error(text: str, data: st.DataObject) -> None:
    """Whatever is typed, completion answers (or declines) and replaces only text
    just before the cursor, which IPython requires of every matcher."""
    offset = data.draw(st.integers(0, len(text)))
    before = text[:offset]
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    namespace = {"cat": object(), "walk": [{"timestamp_ms": 0, "start": {"prompt": "a"}}]}
    found = completion.complete(text, line, column, namespace, cwd=Path("/nonexistent"))
    if found is not None:
        assert before.endswith(found.fragment)
        assert all(isinstance(text_, str) and text_ for text_, _ in found.items)


def test_inspection_shows_usage_and_the_body_language(shell: InteractiveShell) -> None:
    """``%%odyssey_simulate?`` shows the magic's docstring: usage, flags, body forms."""
    text = shell.object_inspect_mime("%%odyssey_simulate")["text/plain"]
    for part in (
        "%%odyssey_simulate [--portrait | --landscape]",
        "%odyssey_simulate [same flags] VARIABLE",
        "TIME ACTION [PROMPT] [image=PATH]",
        "{name} inserts a variable",
        "a Python expression giving a script",
        "JSON: a script",
    ):
        assert part in text


class _Recorder:
    """Stands in for a tail scanner (a function or a compiled pattern) and records the
    length of every text it is handed."""

    def __init__(self, scanner: Any) -> None:
        self.scanner = scanner
        self.lengths: list[int] = []

    def __call__(self, text: str) -> Any:
        self.lengths.append(len(text))
        return self.scanner(text)

    def search(self, text: str) -> Any:
        self.lengths.append(len(text))
        return self.scanner.search(text)


def test_the_tail_scanners_only_ever_see_a_bounded_window(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """However long the line, the ``{name`` and ``image=`` scanners are handed at most
    TAIL_WINDOW characters (on the whole of a 32k-character line of braces, a pattern
    searched from each brace took seconds)."""
    braces = _Recorder(completion.substitution_tail)
    image = _Recorder(pattern("image_value_prefix"))
    monkeypatch.setattr(completion, "substitution_tail", braces)
    monkeypatch.setitem(GRAMMAR.patterns, "image_value_prefix", image)
    storm = "{" * 32_000 + " "
    lines = [
        f"0s start {storm}{{ca",
        f"0s start {storm}image={{ca",
        "0s start " + " image=x" * 4_000 + " {ca",
    ]
    for line in lines:
        found = completion.complete(f"%%odyssey_simulate\n{line}", 1, len(line), {"cat": 1})
        assert found is not None and found.items == [("cat", "instance")], line[-40:]
    flag = f"%%odyssey_simulate --image {storm[:-1]}ca"
    completion.complete(flag, 0, len(flag), {"cat": 1}, cwd=tmp_path)
    seen = braces.lengths + image.lengths
    assert len(braces.lengths) >= 4 and image.lengths
    assert max(seen) <= completion.TAIL_WINDOW


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a {cat", (1, "cat")),
        ("a {{cat", (2, "cat")),
        ("{", (1, "")),
        ("{h.thing.", (1, "h.thing.")),
        ("{_x1", (1, "_x1")),
        ("{9lives", None),
        ("{.x", None),
        ("no brace", None),
        ("{cat dog", None),
    ],
)
def test_the_substitution_scanner_reads_a_name_after_braces(
    text: str, found: tuple[int, str] | None
) -> None:
    assert completion.substitution_tail(text) == found


def test_a_body_image_path_is_written_as_the_line_reads_it_back(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from odyssey_jupyter.script.cell_parser import parse_cell

    for name in ("a#b.png", "b{x}.png", "c}.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name, format="PNG")
    monkeypatch.chdir(tmp_path)
    for typed, name in (("a", "a#b.png"), ("a\\#", "a#b.png"), ("b", "b{x}.png"), ("c", "c}.png")):
        code = f"%%odyssey_simulate\n0s start a cat image={typed}"
        found = [(text, fragment) for text, fragment, _ in shell_completions(shell, code)]
        assert len(found) == 1, found
        text, fragment = found[0]
        assert fragment == typed
        body = code[len("%%odyssey_simulate\n") : len(code) - len(typed)] + text + "\n1s end"
        read = parse_cell(body, {"x": "other"}).scripts[0][0]["start"]["image"]
        assert Path(read).name == name, (typed, text)
