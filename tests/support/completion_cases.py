"""The completion cases, checked in-process, in a real kernel and in terminal IPython.

Kept apart from any one test module so that every place completes the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from odyssey_jupyter.ipython import completion

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
    Case(
        "jobs flags",
        "%odyssey_jobs --",
        ("--active", "--status", "--limit", "--offset"),
        exact=True,
    ),
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
