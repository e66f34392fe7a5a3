"""Tab completion of the magics and the timeline body, in a real in-process IPython shell.

``CASES`` is shared with the kernel test (``complete_request`` over jupyter_client)
and the terminal test, so every case is checked in all three places.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython

from odyssey_jupyter import completion
from odyssey_jupyter.magic_args import (
    SIMULATE_CONFLICTS,
    parse_simulate_line,
    simulate_parser,
)

SETUP = """
import types
cat = types.SimpleNamespace(name="Tom", colour="grey")
catalog = 3
walk = [{"timestamp_ms": 0, "start": {"prompt": "a walk"}}, {"timestamp_ms": 1000, "end": {}}]
walks = [walk, walk]
wrong = [1, 2, 3]
word = "not a script"
"""


def make_files(folder: Path) -> None:
    """The working directory the path cases complete in."""
    (folder / "cat.png").write_bytes(b"\x89PNG")
    (folder / "my pics").mkdir()
    (folder / "my pics" / "dog one.png").write_bytes(b"\x89PNG")
    (folder / ".hidden.png").write_bytes(b"\x89PNG")


@dataclass(frozen=True)
class Case:
    """``code`` up to the cursor; what must (``offers``) and must not (``never``) be offered.

    ``exact``: the completions from this module are exactly ``offers``, in order.
    ``fragment``: the text before the cursor that a completion replaces.
    """

    name: str
    code: str
    offers: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    exact: bool = False
    fragment: str | None = None


CASES = [
    Case(
        "cell flag prefix", "%%odyssey_simulate --la", ("--landscape",), exact=True, fragment="--la"
    ),
    Case(
        "given and conflicting flags",
        "%%odyssey_simulate --landscape --",
        ("--wait", "--dry-run", "--image"),
        ("--landscape", "--portrait"),
    ),
    Case(
        "dry run conflicts",
        "%%odyssey_simulate --dry-run --",
        ("--landscape", "--output", "--image"),
        ("--dry-run", "--wait", "--timeout", "--cancel-on-interrupt", "--no-download"),
    ),
    Case("short flag given", "%%odyssey_simulate -o job --", ("--wait",), ("--output", "-o")),
    Case("line form flag", "%odyssey_simulate --por", ("--portrait",), exact=True),
    Case("jobs flags", "%odyssey_jobs --", ("--active", "--status", "--limit", "--offset"), exact=True),
    Case("jobs flag given", "%odyssey_jobs --active --", ("--status", "--limit"), ("--active",)),
    Case("status value", "%odyssey_jobs --status r", ("running",), exact=True, fragment="r"),
    Case(
        "status values when active",
        "%odyssey_jobs --active --status ",
        ("pending", "running"),
        ("completed", "failed", "cancelled"),
    ),
    Case(
        "finished status excludes active",
        "%odyssey_jobs --status failed --",
        ("--limit",),
        ("--active", "--status"),
    ),
    Case("login flags", "%odyssey_login --", ("--url",), exact=True),
    Case("first action", "%%odyssey_simulate\n0s st", ("start",), exact=True, fragment="st"),
    Case(
        "action in an open stream",
        "%%odyssey_simulate\n0s start a cat\n2s ",
        ("interact", "end"),
        exact=True,
    ),
    Case(
        "action after an end",
        "%%odyssey_simulate\n0s start a cat\n2s end\n+1s ",
        ("start",),
        exact=True,
    ),
    Case("no interact before a start", "%%odyssey_simulate\n1500ms ", ("start",), exact=True),
    Case(
        "a batch separator starts afresh",
        "%%odyssey_simulate --dry-run\n0s start a\n1s end\n---\n1:05 ",
        ("start",),
        exact=True,
    ),
    Case(
        "capitals stay capitals",
        "%%odyssey_simulate\n0s start a\n1s INT",
        ("INTERACT",),
        exact=True,
    ),
    Case("substitution", "%%odyssey_simulate\n0s start a {ca", ("cat", "catalog"), fragment="ca"),
    Case(
        "attribute",
        "%%odyssey_simulate\n0s start a {cat.co",
        ("colour",),
        exact=True,
        fragment="co",
    ),
    Case(
        "image path",
        "%%odyssey_simulate\n0s start a cat image=",
        ("cat.png", '"my pics/'),
        (".hidden.png",),
    ),
    Case(
        "image path with a space is quoted",
        '%%odyssey_simulate\n0s start a cat image="my pics/',
        ('"my pics/dog one.png"',),
        exact=True,
        fragment='"my pics/',
    ),
    Case("image variable", "%%odyssey_simulate\n0s start a image={cat.na", ("name",), exact=True),
    Case("--image variable", "%%odyssey_simulate --image {ca", ("cat", "catalog"), fragment="ca"),
    Case("--image path", "%%odyssey_simulate --image c", ("cat.png",), exact=True, fragment="c"),
    Case(
        "script variables",
        "%odyssey_simulate w",
        ("walk", "walks"),
        ("wrong", "word"),
        exact=True,
    ),
    Case(
        "no action in a comment",
        "%%odyssey_simulate\n0s start in a boat # 1s ",
        never=("start", "end"),
    ),
    Case(
        "python body is left to Python",
        "%%odyssey_simulate\nscript = [\n0s ",
        never=("start", "interact", "end"),
    ),
]


def ours(results: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(text, replaced fragment) of the completions this module made."""
    return [
        (text, fragment) for text, fragment, origin in results if origin == completion.MATCHER_ID
    ]


def check(case: Case, results: list[tuple[str, str, str]]) -> None:
    """Assert ``case`` against (text, replaced fragment, origin) triples."""
    texts = [text for text, _, _ in results]
    mine = ours(results) if results and results[0][2] != "?" else [(t, f) for t, f, _ in results]
    for wanted in case.offers:
        assert wanted in texts, f"{case.name}: {wanted!r} not offered, got {texts[:20]}"
    for unwanted in case.never:
        assert unwanted not in texts, f"{case.name}: {unwanted!r} offered: {texts[:20]}"
    if case.exact:
        assert [t for t, _ in mine] == list(case.offers), f"{case.name}: got {mine}"
    if case.fragment is not None:
        assert mine and all(f == case.fragment for _, f in mine), f"{case.name}: {mine}"


def global_shell() -> InteractiveShell:
    """IPython's global test shell, whether or not another module started it first.

    ``start_ipython`` answers only its first call; the mark is reset so that a module
    running later (test_magics) gets the same shell from it too.
    """
    ip = start_ipython()
    if hasattr(start_ipython, "already_called"):
        del start_ipython.already_called
    if ip is None:
        ip = TerminalInteractiveShell.instance()
    return ip


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
