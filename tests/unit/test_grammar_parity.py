"""The three readers of ``grammar.json`` agree on every line of one corpus.

The kernel's tokeniser (``script.line_tokens``, which the reader reads its lines
through), the editor's highlighter (``labextension/src/tokens.ts``, run as built under
Node) and Tab completion must see the same tokens: the same kinds over the same
spans, the comment starting where the reader cuts it, the time the reader accepts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.hostile import PAYLOADS, PLACEHOLDER_PROBES, TERMINAL_PAYLOADS
from support.jupyterlab import browser_required

from odyssey_jupyter.ipython import completion
from odyssey_jupyter.script import grammar
from odyssey_jupyter.script.line_tokens import Token, line_tokens, scan_line
from odyssey_jupyter.script.timeline_reader import parse_time

REPO = Path(__file__).resolve().parents[2]
BUILT_TOKENS = REPO / "labextension" / "lib" / "tokens.js"
GRAMMAR_FILE = Path(grammar.__file__).with_name(grammar.GRAMMAR_FILE)

TIMES = (
    "0s", "3s", "3S", "2.5s", "2.500s", "2.5000s", "2.5001s", "1500ms", "1500MS", "+2s",
    "+250ms", "1:05", "1:05.250", "1:02:05", "01:02:05.1", "0:59", "0:60", "1:60:00",
    "1:5", "1:05.2500", "2.5", "+3", "1m", "s", "1.5ms", "-1s", "abc", "٣s", "1ſ",
    "3s\\#", "start", "END",
)  # fmt: skip
PLAIN = (
    "",
    "   ",
    "0s start A cat on a windowsill",
    "0s START a fox # a comment",
    "  1:05.250   interact   the cat jumps  ",
    "5s end",
    "5s end and more words",
    "5s end image=cat.png",
    "# only a comment",
    "   # an indented comment",
    "0s start a # in the prompt # twice",
    "0s start price \\# 1 and \\#2 # then a comment",
    "0s start a\\\\# after two backslashes",
    "0s start a \\#",
    "---",
    "-----  # five dashes",
    "--- not a separator",
    "0s start a {name} and {cat.colour} with {{braces}}",
    "0s start a {a.b} {a b} {} {{}} { } {{{x}}} } {",
    "0s start a cat image=cat.png",
    '0s start a cat image="my cat.png"',
    "0s start a cat image='my cat.png'  ",
    "0s start a cat image={photo}",
    "0s start a cat image={photo.path} # a comment",
    '0s start a cat image="{photo}"',
    "0s start a cat image=",
    "0s start a cat image=  ",
    "0s start image=cat.png",
    "0s start a cat image=a\\#b.png",
    "0s start a cat image=one image=two",
    "0s start image=cat.png and more",
    "2s interact jump image=cat.png",
    "0s start 猫が窓辺に座る {名前}",
    "0s start emoji 🐈‍⬛ and {cat} 🎬 image=😀.png",
    "0s\u00a0start\u2003non-breaking\u3000spaces",
    "0s\ufeffstart a byte order mark",
    "0s start a\x1ccontrol\x1fseparators\x85here",
    "0s start right-to-left \u202eevil\u202c text",
    "0s start a lone \ud800 surrogate",
    "0s",
    "0s start",
    "start a fox",
    "3 start a fox",
)
HOSTILE = tuple(
    line
    for payload in (*PAYLOADS, *TERMINAL_PAYLOADS, *PLACEHOLDER_PROBES)
    for text in (payload, f"0s start {payload}", f"1s interact a {payload} image={payload}")
    for line in text.splitlines()
)
CORPUS = (*PLAIN, *(f"{time} start a cat" for time in TIMES), *TIMES, *HOSTILE)

NODE_RUNNER = """
import { readFileSync } from 'node:fs';
import { LineTokeniser } from './tokens.mjs';
const [grammarPath, corpusPath] = process.argv.slice(2);
const tokeniser = new LineTokeniser(JSON.parse(readFileSync(grammarPath, 'utf8')));
const points = (line, at) => Array.from(line.slice(0, at)).length;
const out = JSON.parse(readFileSync(corpusPath, 'utf8')).map(line =>
  tokeniser.tokens(line).map(t => [t.kind, points(line, t.start), points(line, t.end)])
);
process.stdout.write(JSON.stringify(out));
"""


def python_tokens(line: str) -> list[list[object]]:
    return [[token.kind, token.start, token.end] for token in line_tokens(line)]


@pytest.fixture(scope="module")
def editor_tokens(tmp_path_factory: pytest.TempPathFactory) -> list[list[list[object]]]:
    node = shutil.which("node")
    if node is None or not BUILT_TOKENS.is_file():
        problem = "needs Node.js and the built extension (make labextension)"
        if browser_required():
            pytest.fail(f"ODYSSEY_REQUIRE_BROWSER=1 but the highlighter cannot run: {problem}")
        pytest.skip(problem)
    work = tmp_path_factory.mktemp("tokens")
    shutil.copyfile(BUILT_TOKENS, work / "tokens.mjs")
    (work / "run.mjs").write_text(NODE_RUNNER, encoding="utf-8")
    corpus = work / "corpus.json"
    corpus.write_text(json.dumps(CORPUS), encoding="utf-8")
    done = subprocess.run(
        [node, str(work / "run.mjs"), str(GRAMMAR_FILE), str(corpus)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: list[list[list[object]]] = json.loads(done.stdout)
    return found


def test_the_corpus_reaches_every_token_kind() -> None:
    kinds = {token.kind for line in CORPUS for token in line_tokens(line)}
    assert kinds == {
        "time",
        "action",
        "substitution",
        "escape",
        "imageKey",
        "imageValue",
        "comment",
        "separator",
        "invalid",
    }


def test_the_editor_finds_the_kernels_tokens(editor_tokens: list[list[list[object]]]) -> None:
    assert len(editor_tokens) == len(CORPUS)
    differ = [
        (line, python_tokens(line), editor)
        for line, editor in zip(CORPUS, editor_tokens, strict=True)
        if python_tokens(line) != editor
    ]
    assert differ == []


@pytest.mark.parametrize("line", CORPUS)
def test_the_reader_reads_what_the_tokens_show(line: str) -> None:
    """A time token is a time the reader accepts; the comment starts where the reader
    cuts the line; an action token is one of the grammar's actions."""
    tokens = line_tokens(line)
    parts = scan_line(line)
    if parts.time is not None and not parts.separator:
        kind = next(t.kind for t in tokens if t.start == parts.time[0])
        try:
            parse_time(parts.part(parts.time), 0)
            readable = True
        except ValueError:
            readable = False
        assert (kind == "time") == readable
    comments = [t.start for t in tokens if t.kind == "comment"]
    assert comments == ([] if parts.comment is None else [parts.comment])
    actions = [line[t.start : t.end].lower() for t in tokens if t.kind == "action"]
    assert all(action in grammar.GRAMMAR.actions for action in actions)


def _cuts(tokens: tuple[Token, ...], line: str) -> set[int]:
    return {0, len(line), *(t.start for t in tokens), *(t.end for t in tokens)}


@pytest.mark.parametrize("line", CORPUS)
def test_completion_sees_the_tokens(line: str) -> None:
    """Cut at every token edge: completion is silent inside a comment, and offers
    actions exactly where the tokens are a time-like word and a word being typed."""
    for cut in sorted(_cuts(line_tokens(line), line)):
        before = line[:cut]
        tokens = line_tokens(before)
        cell = f"%%odyssey_simulate\n0s start a cat\n{before}"
        found = completion.complete(cell, 2, len(before), {})
        if any(t.kind == "comment" for t in tokens):
            assert found is None, before
            continue
        offers_actions = found is not None and any(k == "keyword" for _, k in found.items)
        typed = _action_being_typed(before)
        if offers_actions:
            assert typed is not None, before
        if typed is not None and any(a.startswith(typed.lower()) for a in ("interact", "end")):
            assert offers_actions, before


def _action_being_typed(before: str) -> str | None:
    """The action word the cursor ends, by the tokens: "" after a time-like word and a
    space, the letters typed so far after one; None anywhere else."""
    words = scan_line(before)
    if words.time is None or words.rest is not None or words.separator:
        return None
    if not grammar.pattern("timeish").search(words.part(words.time)):
        return None
    if words.action is None:
        return "" if words.time[1] < len(before) else None
    typed = before[words.action[0] :]
    ends_line = words.action[1] == len(before)
    return typed if ends_line and typed.isascii() and typed.isalpha() else None
